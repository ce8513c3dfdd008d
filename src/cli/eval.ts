import { GantryError, closestName } from '../errors.ts';
import { initEngine, type Device } from '../engine/index.ts';
import { evaluateSegmentation } from '../metrics/segmentation.ts';
import { WEIGHTS_ENV, type FeatureExtractor } from '../metrics/features.ts';
import { parseEvalInput, type EvalInput } from '../metrics/evaluate.ts';
import { fidOf, inceptionScoreOf, kidOf, needImages, perceptualPathLengthOf, precisionRecallOf, withFeatures, writeFeatureStats } from '../metrics/scores.ts';
import { intArg, numberArg, parseCommandArgs, refuseFlags } from './args.ts';
import { TORCH_FIDELITY_SEED } from '../metrics/numpy-random.ts';
import type { PplDtype, PplInterpolation } from '../metrics/ppl.ts';
import { checkFileOut } from './output.ts';
import { SYNOPSIS } from './synopsis.ts';

export const EVAL_HELP = `${SYNOPSIS.EVAL}
            [--weights pt_inception-2015-12-05-6726825d.pth] [--feature-dim 64|192|768|2048] [--features CLASSIFIER_RUN]
            [--vgg16 vgg16-397923af.pth]
gantry eval stats SPEC --out STATS.npz [--n N] [same feature options]
gantry eval ppl --fake RUN_DIR --vgg16 vgg16-397923af.pth --lpips vgg.pth [--n 10000] [--epsilon 1e-4]
            [--interp lerp|slerp_any|slerp_unit] [--dtype float32|uint8] [--resize 64|none] [--discard 1,99]
gantry eval segmentation --run PIX2PIXHD_RUN --segmenter SEGMENTER_RUN [--n N] [--seed N]
  FID as pytorch-fid computes it; KID and IS as torch-fidelity defines them. Features come from
  pytorch-fid's Inception-v3 weights (--weights, or ${WEIGHTS_ENV}) or, offline, from a gantry
  classifier run (--features RUN_DIR, e.g. \`gantry train classifier --data mnist\`); --vgg16 takes
  torchvision's VGG-16 weights for torch-fidelity's VGG-16 features (fc2_relu, 4096-d), its default for
  prc (not for IS: no logits). Prints one JSON line.
  --weights takes the .pth (legacy or zip) or a .safetensors export of it.
  KID: [--subsets 100] [--subset-size 1000]. IS: [--splits 10] (needs only --fake).
  prc: precision and recall as torch-fidelity computes them (k-nearest-neighbour balls, [--neighborhood 3]),
  with density and coverage as prdc does ([--coverage-neighborhood 5]), on the features chosen here.
  --n: images a side, a seeded choice of a larger data set; one with fewer is scored whole (a note says so,
  and n_real/n_fake).
  A pix2pixhd run draws its images from its data's held-out label maps or input pictures (the test split of
  pairs:DIR, in order, repeated up to --n); score it against the photos of that split, e.g. --real pairs:DIR?split=test.
  ppl: perceptual path length as torch-fidelity computes it: --n pairs of latent vectors from NumPy's
  RandomState(--seed, default 2020) (a class each in a class-conditional run; a text run's pairs take its
  evaluation captions), the second moved --epsilon of the way to another, LPIPS between the two images
  divided by epsilon squared, distances outside the --discard percentiles dropped ("none": keep all),
  the rest averaged. Lower: a smoother latent space. LPIPS on VGG-16 needs torchvision's weights (--vgg16)
  and LPIPS's linear layers (--lpips: vgg.pth of the lpips package, v0.1, or torch-fidelity's
  weights-vgg16-lpips.pth). The images are compared unquantised (--dtype float32, StyleGAN's PPL) or as
  8-bit PNGs hold them (uint8: torch-fidelity's default, which at epsilon 1e-4 mostly measures rounding),
  resized to --resize square.
  segmentation (pix2pixHD's Cityscapes protocol): a segmenter run (\`gantry train segmenter --data SPEC\`, at
  the run's size) segments the images the run draws from its held-out maps; prints pixel accuracy and mean
  IoU against those maps, beside the same for the real photos (the ceiling).`;

const METRICS = ['fid', 'kid', 'prc', 'is', 'ppl', 'stats', 'segmentation'];

/** The flags every metric takes, and each metric's own. */
const COMMON_FLAGS = ['n', 'seed', 'device', 'quiet'];
const FEATURE_FLAGS = ['weights', 'feature-dim', 'features', 'vgg16', 'batch'];
const METRIC_FLAGS: Record<string, string[]> = {
  fid: ['real', 'fake', ...FEATURE_FLAGS],
  kid: ['real', 'fake', 'subsets', 'subset-size', ...FEATURE_FLAGS],
  prc: ['real', 'fake', 'neighborhood', 'coverage-neighborhood', ...FEATURE_FLAGS],
  is: ['fake', 'splits', ...FEATURE_FLAGS],
  ppl: ['fake', 'vgg16', 'lpips', 'epsilon', 'interp', 'dtype', 'resize', 'discard', 'batch'],
  stats: ['out', ...FEATURE_FLAGS],
  segmentation: ['run', 'segmenter'],
};

/** --discard LO,HI: the percentiles kept between ("none": no bound that side); "none" alone keeps every distance. */
function discardArg(value: string | undefined): [number | null, number | null] | undefined {
  if (value === undefined) return undefined;
  if (value === 'none') return [null, null];
  const parts = value.split(',');
  const bound = (p: string) => (p === 'none' ? null : Number(p));
  if (parts.length !== 2 || parts.some((p) => p !== 'none' && (p.trim() === '' || !Number.isFinite(Number(p))))) {
    throw new GantryError(`--discard takes LO,HI percentiles (torch-fidelity's 1,99; "none" for a side without a bound) or "none" to keep every distance; got "${value}"`);
  }
  return [bound(parts[0]), bound(parts[1])];
}

export async function evalCommand(argv: string[]): Promise<void> {
  const [metric, ...rest] = argv;
  if (!METRICS.includes(metric)) {
    const meant = metric ? closestName(metric, METRICS) : undefined;
    throw new GantryError(`name a metric: fid, kid, prc, is, ppl, stats or segmentation (got "${metric ?? ''}"${meant ? `; did you mean ${meant}?` : ''})`);
  }
  const { values, positionals } = parseCommandArgs('eval', rest, {
    real: { type: 'string' }, fake: { type: 'string' }, n: { type: 'string' }, weights: { type: 'string' },
    'feature-dim': { type: 'string' }, features: { type: 'string' }, out: { type: 'string' }, batch: { type: 'string' },
    seed: { type: 'string' }, subsets: { type: 'string' }, 'subset-size': { type: 'string' }, splits: { type: 'string' },
    device: { type: 'string' }, quiet: { type: 'boolean' }, run: { type: 'string' }, segmenter: { type: 'string' },
    neighborhood: { type: 'string' }, 'coverage-neighborhood': { type: 'string' }, vgg16: { type: 'string' },
    lpips: { type: 'string' }, epsilon: { type: 'string' }, interp: { type: 'string' }, dtype: { type: 'string' },
    resize: { type: 'string' }, discard: { type: 'string' },
  }, metric === 'stats');
  if (metric !== 'segmentation' && (values.run || values.segmenter)) throw new GantryError(`--${values.run ? 'run' : 'segmenter'} goes with eval segmentation; ${metric} takes --fake RUN_DIR`);
  // A flag of another metric is refused: ignored, the score would read as if it had been applied.
  refuseFlags('eval', values, Object.keys(values).filter((f) => !COMMON_FLAGS.includes(f) && !METRIC_FLAGS[metric].includes(f)), `eval ${metric}`);
  await initEngine({ device: (values.device ?? 'cpu') as Device });
  const log = (line: string) => process.stderr.write(line + '\n');
  const n = intArg('n', values.n, metric === 'segmentation' ? 1 : 2) ?? 10000;
  const options = { n, batch: intArg('batch', values.batch, 1), seed: intArg('seed', values.seed), quiet: values.quiet };
  const print = (result: Record<string, unknown>) => process.stdout.write(JSON.stringify({ metric, ...result }) + '\n');
  // A --n the data cannot give is scored on all it has (as pytorch-fid scores a folder): said, not silent.
  const fewerThanAsked = (spec: string, input: EvalInput, got: number) => {
    if (values.n !== undefined && input.kind !== 'stats' && got < n) log(`note: --n ${n}, but ${spec} has ${got} images: all ${got} were scored`);
  };
  if (metric === 'segmentation') {
    if (!values.run || !values.segmenter) throw new GantryError('segmentation needs --run PIX2PIXHD_RUN and --segmenter SEGMENTER_RUN');
    print({ ...(await evaluateSegmentation(values.run, values.segmenter, { n: values.n === undefined ? undefined : n, seed: intArg('seed', values.seed), quiet: values.quiet })) });
    return;
  }

  if (metric === 'ppl') {
    if (!values.fake) throw new GantryError('ppl: --fake RUN_DIR is required (the run whose generator it walks)');
    const r = await perceptualPathLengthOf(values.fake, { vgg16: values.vgg16, lpips: values.lpips }, {
      ...options, seed: options.seed ?? TORCH_FIDELITY_SEED, epsilon: numberArg('epsilon', values.epsilon), interp: values.interp as PplInterpolation | undefined,
      dtype: values.dtype as PplDtype | undefined, resize: values.resize === 'none' ? null : intArg('resize', values.resize, 1), discard: discardArg(values.discard),
    });
    print({ mean: r.mean, std: r.std, n: r.n, kept: r.kept, epsilon: r.epsilon, interp: r.interp, dtype: r.dtype, resize: r.resize });
    return;
  }

  const features = { weights: values.weights, featureDim: intArg('feature-dim', values['feature-dim'], 1), classifier: values.features, vgg16: values.vgg16 };
  const scored = <T>(score: (extractor: FeatureExtractor) => Promise<T>): Promise<T> => withFeatures(features, score);

  if (metric === 'stats') {
    const spec = positionals[0];
    if (!spec || !values.out) throw new GantryError('usage: gantry eval stats SPEC --out STATS.npz');
    const out = values.out;
    checkFileOut(out, '.npz', 'statistics as pytorch-fid\'s .npz files');
    const input = parseEvalInput(spec);
    const r = await scored((e) => writeFeatureStats(input, out, e, options));
    fewerThanAsked(spec, input, r.n);
    print({ ...r });
    return;
  }

  if (!values.fake) throw new GantryError(`${metric}: --fake RUN_DIR|SPEC|STATS.npz is required`);
  const fake = parseEvalInput(values.fake);
  if (metric === 'is') {
    const splits = intArg('splits', values.splits, 1);
    const r = await scored((e) => inceptionScoreOf(fake, e, { ...options, splits }));
    fewerThanAsked(values.fake, fake, r.n);
    print({ ...r });
    return;
  }
  if (!values.real) throw new GantryError(`${metric}: --real SPEC|STATS.npz is required`);
  const real: EvalInput = parseEvalInput(values.real);
  if (metric === 'fid') {
    // Two statistics files need no network at all.
    const r = real.kind === 'stats' && fake.kind === 'stats' ? await fidOf(real, fake, null, options, log) : await scored((e) => fidOf(real, fake, e, options, log));
    for (const w of r.warnings) log(w);
    fewerThanAsked(values.real, real, r.nReal);
    fewerThanAsked(values.fake, fake, r.nFake);
    print({ value: r.value, n_real: r.nReal, n_fake: r.nFake, dim: r.dim, features: r.features });
    return;
  }
  if (metric === 'prc') {
    needImages('precision and recall', real, fake);
    const k = { neighborhood: intArg('neighborhood', values.neighborhood, 1), coverageNeighborhood: intArg('coverage-neighborhood', values['coverage-neighborhood'], 1) };
    const r = await scored((e) => precisionRecallOf(real, fake, e, { ...options, ...k }));
    fewerThanAsked(values.real, real, r.nReal);
    fewerThanAsked(values.fake, fake, r.nFake);
    print({ precision: r.precision, recall: r.recall, f_score: r.fScore, density: r.density, coverage: r.coverage, neighborhood: r.neighborhood, coverage_neighborhood: r.coverageNeighborhood, n_real: r.nReal, n_fake: r.nFake, features: r.features });
    return;
  }
  needImages('KID', real, fake);
  const kid = { subsets: intArg('subsets', values.subsets, 1), subsetSize: intArg('subset-size', values['subset-size'], 2) };
  const r = await scored((e) => kidOf(real, fake, e, { ...options, ...kid }));
  for (const w of r.warnings) log(w);
  fewerThanAsked(values.real, real, r.nReal);
  fewerThanAsked(values.fake, fake, r.nFake);
  print({ mean: r.mean, std: r.std, subsets: r.subsets, subset_size: r.subsetSize, n_real: r.nReal, n_fake: r.nFake, features: r.features });
}
