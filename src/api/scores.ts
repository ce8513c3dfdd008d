import { GantryError } from '../errors.ts';
import { initEngine } from '../engine/index.ts';
import { parseEvalInput, type FeatureOptions } from '../metrics/evaluate.ts';
import { evaluateSegmentation, type SegmentationResult } from '../metrics/segmentation.ts';
import type { PplOptions, PplResult } from '../metrics/ppl.ts';
import { TORCH_FIDELITY_SEED } from '../metrics/numpy-random.ts';
import { checkKeys, checkPath, optionKeys } from '../options.ts';
import {
  fidOf, inceptionScoreOf, kidOf, needImages, perceptualPathLengthOf, precisionRecallOf, withFeatures, writeFeatureStats,
  type FeatureSource, type FidResult, type InceptionScoreResult, type KidScore, type PrecisionRecallScore,
} from '../metrics/scores.ts';

export type { FeatureSource, FidResult, InceptionScoreResult, KidScore, PrecisionRecallScore } from '../metrics/scores.ts';
export type { SegmentationResult } from '../metrics/segmentation.ts';
export type { PplResult } from '../metrics/ppl.ts';

/** What every score takes: its feature network, how many images, and where its lines go. */
export interface ScoreRequest extends FeatureSource {
  /** Images of each input (all of a data set when it has fewer); 10,000 by default. */
  n?: number;
  /** Images a batch through the feature network (50). */
  batch?: number;
  /** Which images of a larger data set, and the seeds of a run's images (0). */
  seed?: number;
  /** No progress lines. */
  quiet?: boolean;
  /** Where notes go (a cached statistics file used; default: stderr). */
  log?: (line: string) => void;
}

/** The inputs to compare: each a run folder (its generator's images), a data SPEC or a statistics .npz. */
export interface PairRequest extends ScoreRequest {
  real: string;
  fake: string;
}

const SCORE = { weights: true, featureDim: true, classifier: true, vgg16: true, n: true, batch: true, seed: true, quiet: true, log: true } as const;
type KidRequest = PairRequest & { subsets?: number; subsetSize?: number };
type PrcRequest = PairRequest & { neighborhood?: number; coverageNeighborhood?: number };
type IsRequest = ScoreRequest & { fake: string; splits?: number };
type StatsRequest = ScoreRequest & { input: string; out: string };
/** `gantry eval ppl`'s inputs: the run, LPIPS's two weight files, and PplOptions' settings (n: pairs, 10,000 by default). */
type PplRequest = { fake: string; vgg16: string; lpips: string; log?: (line: string) => void } & Partial<Omit<PplOptions, 'captions'>>;
type SegmentationRequest = { run: string; segmenter: string; n?: number; seed?: number; quiet?: boolean };
const KEYS = {
  'fid()': optionKeys<PairRequest>({ ...SCORE, real: true, fake: true }),
  'kid()': optionKeys<KidRequest>({ ...SCORE, real: true, fake: true, subsets: true, subsetSize: true }),
  'precisionRecall()': optionKeys<PrcRequest>({ ...SCORE, real: true, fake: true, neighborhood: true, coverageNeighborhood: true }),
  'inceptionScore()': optionKeys<IsRequest>({ ...SCORE, fake: true, splits: true }),
  'featureStats()': optionKeys<StatsRequest>({ ...SCORE, input: true, out: true }),
  'perceptualPathLength()': optionKeys<PplRequest>({
    fake: true, vgg16: true, lpips: true, n: true, epsilon: true, interp: true, resize: true, dtype: true, discard: true, seed: true, batch: true, quiet: true, log: true,
  }),
  'segmentationScore()': optionKeys<SegmentationRequest>({ run: true, segmenter: true, n: true, seed: true, quiet: true }),
};

function featureOptions(call: keyof typeof KEYS, r: ScoreRequest, minimum: number): FeatureOptions {
  checkKeys(r, KEYS[call], call);
  const n = r.n ?? 10000;
  if (!Number.isInteger(n) || n < minimum) throw new GantryError(`${call}: n must be a whole number >= ${minimum}, got ${r.n}`);
  return { n, batch: r.batch, seed: r.seed, quiet: r.quiet };
}

const stderrLine = (line: string) => process.stderr.write(line + '\n');

/** What each input names, and an example of it, for a call that leaves it out. */
const INPUTS: Record<string, [what: string, example: string]> = {
  real: ['a data SPEC, a run folder or a statistics .npz', '"mnist"'],
  fake: ['a run folder, a data SPEC or a statistics .npz', '"runs/first"'],
  input: ['a data SPEC or a run folder', '"mnist"'],
  out: ['the .npz file to write', '"mnist.npz"'],
  run: ['the pix2pixhd run folder', '"runs/label2photo"'],
  vgg16: ["torchvision's VGG-16 weights", '"vgg16-397923af.pth"'],
  lpips: ["LPIPS's linear layers for VGG-16", '"vgg.pth"'],
  segmenter: ['the segmenter run folder', '"runs/segmenter"'],
};

/** Refuses a call that leaves out one of its inputs (plain JavaScript has no compiler to say so). */
function checkInputs(call: string, request: object, names: string[]): void {
  for (const name of names) {
    const [what, example] = INPUTS[name];
    checkPath((request as Record<string, unknown>)[name], call, `${name}: ${what}`, `{ ${name}: ${example} }`);
  }
}

/**
 * FID as pytorch-fid computes it (`gantry eval fid`). Two statistics files need no network; anything
 * else takes pytorch-fid's Inception weights (`weights`) or a gantry classifier run (`classifier`).
 */
export async function fid(request: PairRequest): Promise<FidResult> {
  const o = featureOptions('fid()', request, 2);
  checkInputs('fid()', request, ['real', 'fake']);
  await initEngine({ log: request.log });
  const real = parseEvalInput(request.real);
  const fake = parseEvalInput(request.fake);
  const log = request.log ?? stderrLine;
  if (real.kind === 'stats' && fake.kind === 'stats') return fidOf(real, fake, null, o, log);
  return withFeatures(request, (e) => fidOf(real, fake, e, o, log));
}

/** KID as torch-fidelity defines it (`gantry eval kid`): `subsets` (100) subsets of `subsetSize` (1000) images. */
export async function kid(request: KidRequest): Promise<KidScore> {
  const o = featureOptions('kid()', request, 2);
  checkInputs('kid()', request, ['real', 'fake']);
  await initEngine({ log: request.log });
  const real = parseEvalInput(request.real);
  const fake = parseEvalInput(request.fake);
  needImages('KID', real, fake);
  return withFeatures(request, (e) => kidOf(real, fake, e, { ...o, subsets: request.subsets, subsetSize: request.subsetSize }));
}

/**
 * Precision and recall as torch-fidelity computes them (k-nearest-neighbour balls, `neighborhood` 3) with
 * density and coverage as prdc does (`coverageNeighborhood` 5), `gantry eval prc`: how much of what a run
 * draws looks real, and how much of the real data it reaches, on the features of `weights` or `classifier`.
 */
export async function precisionRecall(request: PrcRequest): Promise<PrecisionRecallScore> {
  const o = featureOptions('precisionRecall()', request, 2);
  checkInputs('precisionRecall()', request, ['real', 'fake']);
  await initEngine({ log: request.log });
  const real = parseEvalInput(request.real);
  const fake = parseEvalInput(request.fake);
  needImages('precision and recall', real, fake);
  return withFeatures(request, (e) => precisionRecallOf(real, fake, e, { ...o, neighborhood: request.neighborhood, coverageNeighborhood: request.coverageNeighborhood }));
}

/** The Inception Score of a run's images or a data set (`gantry eval is`), in `splits` (10) parts. */
export async function inceptionScore(request: IsRequest): Promise<InceptionScoreResult> {
  const o = featureOptions('inceptionScore()', request, 2);
  checkInputs('inceptionScore()', request, ['fake']);
  await initEngine({ log: request.log });
  const fake = parseEvalInput(request.fake);
  return withFeatures(request, (e) => inceptionScoreOf(fake, e, { ...o, splits: request.splits }));
}

/** pytorch-fid-compatible statistics of a data SPEC or a run's images, written to `out` (.npz; `gantry eval stats`). */
export async function featureStats(request: StatsRequest): Promise<{ out: string; n: number; dim: number; features: string }> {
  const o = featureOptions('featureStats()', request, 2);
  checkInputs('featureStats()', request, ['input', 'out']);
  await initEngine({ log: request.log });
  const input = parseEvalInput(request.input);
  return withFeatures(request, (e) => writeFeatureStats(input, request.out, e, o));
}

/**
 * The perceptual path length of a run's generator, as torch-fidelity computes it (`gantry eval ppl`): `n`
 * (10,000) pairs of latent vectors from NumPy's RandomState(`seed`, 2020), the second of each moved `epsilon`
 * (1e-4) of the way to another (`interp`: lerp, slerp_any or slerp_unit), LPIPS on VGG-16 between their
 * images (`dtype` float32: unquantised; uint8: as 8-bit PNGs hold them, torch-fidelity's default; resized to `resize`, 64) over
 * epsilon squared, those outside the `discard` percentiles ([1, 99]) dropped. `distances` holds every pair's.
 */
export async function perceptualPathLength(request: PplRequest): Promise<PplResult> {
  checkKeys(request, KEYS['perceptualPathLength()'], 'perceptualPathLength()');
  checkInputs('perceptualPathLength()', request, ['fake', 'vgg16', 'lpips']);
  await initEngine({ log: request.log });
  const { fake, vgg16, lpips, log: _log, ...o } = request;
  return perceptualPathLengthOf(fake, { vgg16, lpips }, { ...o, n: o.n ?? 10000, seed: o.seed ?? TORCH_FIDELITY_SEED });
}

/**
 * pix2pixHD's segmentation score (`gantry eval segmentation`): the images a label-map run draws from its
 * held-out maps, segmented by a segmenter run and scored against those maps (pixel accuracy, mean IoU),
 * beside the real photos' scores, the segmenter's own ceiling. `n`: maps scored (all of the held-out split).
 */
export async function segmentationScore(request: SegmentationRequest): Promise<SegmentationResult> {
  checkKeys(request, KEYS['segmentationScore()'], 'segmentationScore()');
  checkInputs('segmentationScore()', request, ['run', 'segmenter']);
  if (request.n !== undefined && !(Number.isInteger(request.n) && request.n >= 1)) throw new GantryError(`segmentationScore(): n must be a whole number >= 1, got ${request.n}`);
  await initEngine();
  return evaluateSegmentation(request.run, request.segmenter, { n: request.n, seed: request.seed, quiet: request.quiet });
}
