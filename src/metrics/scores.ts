import { GantryError, given } from '../errors.ts';
import { classifierExtractor, fidSectionNames, givenFeatureNames, inceptionExtractor, vgg16Extractor, type FeatureExtractor, type FeatureInputNames } from './features.ts';
import type { FidSettings, RunConfig } from '../train/run-config.ts';
import type { RunScorer } from '../train/trainer.ts';
import { computeStats, evaluationCaptionList, extractFeatures, extractLogits, parseEvalInput, runImageSize, smallSampleWarning, statsAndFeatures, statsFor, type EvalInput, type FeatureOptions, type FeatureSet } from './evaluate.ts';
import { checkSameFeatures, frechetDistance, type FeatureStats } from './frechet.ts';
import { inceptionScore } from './inception-score.ts';
import { KID_SUBSET_SIZE, kernelInceptionDistance, kidWarnings } from './kid.ts';
import { precisionRecall, type NeighbourhoodOptions, type PrecisionRecall } from './precision-recall.ts';
import { slowWorkProgress } from '../train/progress.ts';
import { readStatsFile, writeStatsFile } from './stats-file.ts';
import { checkLpipsWeights, LpipsVgg16, type LpipsWeights } from './lpips.ts';
import { perceptualPathLength, pplSettings, type PplOptions, type PplResult } from './ppl.ts';
import { openRun, readRunConfig } from '../train/run.ts';

/**
 * The scores behind `gantry eval`, sweeps, `gantry compare` and the Node API: each takes its inputs
 * (statistics files, run folders or data SPECs, parsed by parseEvalInput) and a feature extractor, and
 * returns numbers; printing them is the caller's.
 */

/**
 * Which network gives the features: pytorch-fid's Inception-v3 (its weights file), torch-fidelity's VGG-16
 * (torchvision's weights file) or a gantry classifier run.
 */
export interface FeatureSource {
  /** pytorch-fid's pt_inception-2015-12-05-6726825d.pth (else $GANTRY_INCEPTION_WEIGHTS). */
  weights?: string;
  /** Inception's feature layer: 64, 192, 768 or 2048 (the default, pytorch-fid's). */
  featureDim?: number;
  /** A gantry classifier run whose penultimate layer gives the features instead (offline, MNIST-like data). */
  classifier?: string;
  /**
   * torchvision's VGG-16 weights (vgg16-397923af.pth): torch-fidelity's `vgg16` features (fc2_relu, 4096-d),
   * its default for precision and recall. No logits, so no Inception Score.
   */
  vgg16?: string;
}

/** `names`: where the user gave the source's fields, for messages (flags or the API's options by default). */
export function featureExtractor(source: FeatureSource, names: FeatureInputNames = givenFeatureNames()): FeatureExtractor {
  const inception = source.weights !== undefined || source.featureDim !== undefined;
  const chosen = [inception, source.classifier !== undefined, source.vgg16 !== undefined].filter(Boolean).length;
  if (chosen > 1) throw new GantryError(`give one network for the features: Inception weights (${names.weights}, ${names.featureDim}), VGG-16 weights (${names.vgg16}) or a classifier run (${names.classifier}), not two`);
  if (source.classifier !== undefined) return classifierExtractor(source.classifier, names);
  if (source.vgg16 !== undefined) return vgg16Extractor(source.vgg16);
  return inceptionExtractor(source.weights, source.featureDim ?? 2048, names);
}

/** Runs a score with the feature network of `source`, freed after. */
export async function withFeatures<T>(source: FeatureSource, score: (extractor: FeatureExtractor) => Promise<T>): Promise<T> {
  const extractor = featureExtractor(source);
  try {
    return await score(extractor);
  } finally {
    extractor.dispose();
  }
}

/** The feature network of a run's or a sweep's FID settings; `at` names the section (eval.fid, fid). */
export function fidExtractor(fid: FidSettings, at: string): FeatureExtractor {
  // featureDim has a default, so it counts as Inception's only when no other network is named.
  const featureDim = fid.features === undefined && fid.vgg16 === undefined ? fid.featureDim : undefined;
  return featureExtractor({ classifier: fid.features, vgg16: fid.vgg16, weights: fid.weights, featureDim }, fidSectionNames(at));
}

/**
 * The trainer's scorer for a run with eval.fid: FID of the run folder's newest checkpoint against the
 * real images (eval.fid.real, else the run's data; their statistics cached), the feature network loaded
 * once, here, so that a missing one is named before training starts. With eval.precisionRecall, precision,
 * recall, density and coverage of the same images too: the real images' statistics and features are read
 * at the first score and kept, the generated ones give FID's statistics and those scores from one pass.
 */
export function fidScorer(config: RunConfig, o: { quiet?: boolean }): RunScorer {
  const { fid, precisionRecall: withPrecision } = config.eval!;
  const real = parseEvalInput(fid.real ?? config.data);
  if (withPrecision) needImages('eval.precisionRecall', real);
  const extractor = fidExtractor(fid, 'eval.fid');
  if (real.kind === 'stats') {
    // A statistics file of another network or size is named now, not at the first score.
    try {
      const stats = readStatsFile(real.path);
      checkSameFeatures({ dim: stats.mu.length, features: stats.features }, { dim: extractor.dim, features: extractor.id });
    } catch (err) {
      extractor.dispose();
      throw err instanceof GantryError ? new GantryError(`eval.fid.real ${real.path}: ${err.message}`) : err;
    }
  }
  let realStats: FeatureStats | undefined;
  let realFeatures: FeatureSet | undefined;
  return {
    async score(runDir): Promise<Record<string, number>> {
      const fake: EvalInput = { kind: 'run', dir: runDir };
      const options = { n: fid.n, seed: 0, quiet: o.quiet };
      // Between training steps: the features' progress line, not the note about cached statistics.
      if (!withPrecision) return { fid: (await fidOf(real, fake, extractor, options, () => {})).value };
      const within = { ...options, dataSize: runImageSize(fake) };
      realStats ??= await statsFor(real, extractor, within, () => {});
      realFeatures ??= await extractFeatures(real, extractor, within);
      const drawn = await statsAndFeatures(fake, extractor, within);
      const p = precisionRecall(realFeatures.features, realFeatures.n, drawn.features.features, drawn.features.n, drawn.features.dim);
      return { fid: frechetDistance(realStats, drawn.stats), precision: p.precision, recall: p.recall, density: p.density, coverage: p.coverage };
    },
    dispose: () => extractor.dispose(),
  };
}

export interface FidResult {
  value: number;
  nReal: number;
  nFake: number;
  dim: number;
  /** The feature network's id (its weights' hash and layer), or 'statistics files'. */
  features: string;
  /** Fewer images than feature dimensions: the score is biased upward (the lines say by how much). */
  warnings: string[];
}

/**
 * FID between two inputs, as pytorch-fid computes it. Real data is framed at the compared run's image
 * size, as the run saw it in training; real data's statistics are cached. `extractor` may be null only
 * when both inputs are statistics files.
 */
export async function fidOf(real: EvalInput, fake: EvalInput, extractor: FeatureExtractor | null, o: FeatureOptions, log: (line: string) => void): Promise<FidResult> {
  if (!extractor && (real.kind !== 'stats' || fake.kind !== 'stats')) throw new Error('fidOf: images need a feature extractor');
  const dataSize = runImageSize(fake) ?? runImageSize(real);
  const a = await statsFor(real, extractor!, { ...o, dataSize }, log);
  const b = await statsFor(fake, extractor!, { ...o, dataSize }, log);
  const warnings = [smallSampleWarning(a, 'real'), smallSampleWarning(b, 'fake')].filter((w): w is string => w !== null);
  return { value: frechetDistance(a, b), nReal: a.n, nFake: b.n, dim: a.mu.length, features: extractor?.id ?? 'statistics files', warnings };
}

export interface KidOptions {
  subsets?: number;
  subsetSize?: number;
}

export interface KidScore {
  mean: number;
  std: number;
  subsets: number;
  subsetSize: number;
  nReal: number;
  nFake: number;
  features: string;
  /** Subsets smaller than asked for (too few images), each line a warning for the user. */
  warnings: string[];
}

/** Refuses a statistics file where a score needs every image's features: called before any network loads. */
export function needImages(metric: string, ...inputs: EvalInput[]): void {
  for (const input of inputs) {
    if (input.kind === 'stats') throw new GantryError(`${metric}: ${input.path} holds only the statistics of images, not each image's features; give a data SPEC or a run folder`);
  }
}

/** KID as torch-fidelity defines it, between the features of two image inputs. */
export async function kidOf(real: EvalInput, fake: EvalInput, extractor: FeatureExtractor, o: FeatureOptions & KidOptions): Promise<KidScore> {
  const dataSize = runImageSize(fake) ?? runImageSize(real);
  const a = await extractFeatures(real, extractor, { ...o, dataSize });
  const b = await extractFeatures(fake, extractor, { ...o, dataSize });
  const r = kernelInceptionDistance(a.features, a.n, b.features, b.n, a.dim, { subsets: o.subsets, subsetSize: o.subsetSize });
  return { ...r, nReal: a.n, nFake: b.n, features: extractor.id, warnings: kidWarnings(r, o.subsetSize ?? KID_SUBSET_SIZE, a.n, b.n) };
}

export type PrecisionRecallOptions = Pick<NeighbourhoodOptions, 'neighborhood' | 'coverageNeighborhood'>;

export interface PrecisionRecallScore extends PrecisionRecall {
  nReal: number;
  nFake: number;
  features: string;
}

/**
 * Precision, recall (torch-fidelity's prc) and density, coverage (prdc) between the features of two image
 * inputs: how much of what the generator draws looks real, and how much of the real data it reaches.
 */
export async function precisionRecallOf(real: EvalInput, fake: EvalInput, extractor: FeatureExtractor, o: FeatureOptions & PrecisionRecallOptions): Promise<PrecisionRecallScore> {
  const dataSize = runImageSize(fake) ?? runImageSize(real);
  const a = await extractFeatures(real, extractor, { ...o, dataSize });
  const b = await extractFeatures(fake, extractor, { ...o, dataSize });
  const onProgress = o.quiet ? undefined : slowWorkProgress('nearest neighbours');
  const r = precisionRecall(a.features, a.n, b.features, b.n, a.dim, { neighborhood: o.neighborhood, coverageNeighborhood: o.coverageNeighborhood, onProgress });
  return { ...r, nReal: a.n, nFake: b.n, features: extractor.id };
}

export interface InceptionScoreResult {
  mean: number;
  std: number;
  n: number;
  features: string;
}

/** The Inception Score of one image input, as torch-fidelity computes it (`splits` parts, 10 by default). */
export async function inceptionScoreOf(fake: EvalInput, extractor: FeatureExtractor, o: FeatureOptions & { splits?: number }): Promise<InceptionScoreResult> {
  if (!extractor.logits) throw new GantryError(`the Inception Score needs class logits, which ${extractor.id} does not give; give Inception weights (${given('weights')}) or a classifier run (${given('classifier')})`);
  const f = await extractLogits(fake, extractor, o);
  const r = inceptionScore(f.logits, f.n, f.classes, o.splits ?? 10);
  return { mean: r.mean, std: r.std, n: f.n, features: extractor.id };
}

/** Writes the feature statistics of an image input to a pytorch-fid-compatible .npz file. */
export async function writeFeatureStats(input: EvalInput, out: string, extractor: FeatureExtractor, o: FeatureOptions): Promise<{ out: string; n: number; dim: number; features: string }> {
  if (input.kind === 'stats') throw new GantryError(`${input.path} is already a statistics file`);
  const stats = await computeStats(input, extractor, o);
  writeStatsFile(out, stats);
  return { out, n: stats.n, dim: stats.mu.length, features: extractor.id };
}

/**
 * The perceptual path length of a run's generator (`gantry eval ppl`), as torch-fidelity computes it, with
 * LPIPS on VGG-16 from the user's files. A text run draws its pairs with its evaluation captions.
 */
export async function perceptualPathLengthOf(runDir: string, weights: LpipsWeights, o: PplOptions): Promise<PplResult> {
  pplSettings(o);
  checkLpipsWeights(weights, 'PPL measures with LPIPS');
  readRunConfig(runDir); // a path that is no run folder is named before LPIPS loads
  const lpips = LpipsVgg16.load(weights.vgg16, weights.lpips);
  try {
    const run = openRun(runDir);
    try {
      const captions = run.info.conditioning.kind === 'text' ? evaluationCaptionList(run, o.seed ?? 0) : undefined;
      return await perceptualPathLength(run, lpips, { ...o, captions });
    } finally {
      run.model.dispose();
    }
  } finally {
    lpips.dispose();
  }
}
