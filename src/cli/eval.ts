import { GantryError } from '../errors.ts';
import { initEngine, type Device } from '../engine/index.ts';
import { evaluateSegmentation } from '../metrics/segmentation.ts';
import { classifierExtractor, inceptionExtractor, WEIGHTS_ENV, type FeatureExtractor } from '../metrics/features.ts';
import { extractFeatures, parseEvalInput, runImageSize, smallSampleWarning, statsFor, statsFromFeatures, type EvalInput } from '../metrics/evaluate.ts';
import { frechetDistance } from '../metrics/frechet.ts';
import { inceptionScore } from '../metrics/inception-score.ts';
import { kernelInceptionDistance } from '../metrics/kid.ts';
import { writeStatsFile } from '../metrics/stats-file.ts';
import { intArg, parseCommandArgs } from './args.ts';
import { SYNOPSIS } from './synopsis.ts';

export const EVAL_HELP = `${SYNOPSIS.EVAL}
            [--weights pt_inception-2015-12-05-6726825d.pth] [--feature-dim 64|192|768|2048] [--features CLASSIFIER_RUN]
gantry eval stats SPEC --out STATS.npz [--n N] [same feature options]
gantry eval segmentation --run PIX2PIXHD_RUN --segmenter SEGMENTER_RUN [--n N] [--seed N]
  FID as pytorch-fid computes it; KID and IS as torch-fidelity defines them. Features come from
  pytorch-fid's Inception-v3 weights (--weights, or ${WEIGHTS_ENV}) or, offline, from a gantry
  classifier run (--features RUN_DIR, e.g. \`gantry train classifier --data mnist\`). Prints one JSON line.
  --weights takes the .pth (legacy or zip) or a .safetensors export of it.
  KID: [--subsets 100] [--subset-size 1000]. IS: [--splits 10] (needs only --fake).
  A pix2pixhd run draws its images from its data's held-out label maps (the test split of pairs:DIR, in
  order, repeated up to --n); score it against the photos of that split, e.g. --real pairs:DIR?split=test.
  segmentation (pix2pixHD's Cityscapes protocol): a segmenter run (\`gantry train segmenter --data SPEC\`, at
  the run's size) segments the images the run draws from its held-out maps; prints pixel accuracy and mean
  IoU against those maps, beside the same for the real photos (the ceiling).`;

export async function evalCommand(argv: string[]): Promise<void> {
  const [metric, ...rest] = argv;
  if (!['fid', 'kid', 'is', 'stats', 'segmentation'].includes(metric)) throw new GantryError(`name a metric: fid, kid, is, stats or segmentation (got "${metric ?? ''}")`);
  const { values, positionals } = parseCommandArgs('eval', rest, {
    real: { type: 'string' }, fake: { type: 'string' }, n: { type: 'string' }, weights: { type: 'string' },
    'feature-dim': { type: 'string' }, features: { type: 'string' }, out: { type: 'string' }, batch: { type: 'string' },
    seed: { type: 'string' }, subsets: { type: 'string' }, 'subset-size': { type: 'string' }, splits: { type: 'string' },
    device: { type: 'string' }, quiet: { type: 'boolean' }, run: { type: 'string' }, segmenter: { type: 'string' },
  }, metric === 'stats');
  await initEngine({ device: (values.device ?? 'cpu') as Device });
  const log = (line: string) => process.stderr.write(line + '\n');
  const n = intArg('n', values.n, metric === 'segmentation' ? 1 : 2) ?? 10000;
  const extractorFor = (): FeatureExtractor => values.features
    ? classifierExtractor(values.features)
    : inceptionExtractor(values.weights, intArg('feature-dim', values['feature-dim'], 1) ?? 2048);
  const options = { n, batch: intArg('batch', values.batch, 1), seed: intArg('seed', values.seed), quiet: values.quiet };
  const print = (result: Record<string, unknown>) => process.stdout.write(JSON.stringify({ metric, ...result }) + '\n');
  if (metric === 'segmentation') {
    if (!values.run || !values.segmenter) throw new GantryError('segmentation needs --run PIX2PIXHD_RUN and --segmenter SEGMENTER_RUN');
    print({ ...(await evaluateSegmentation(values.run, values.segmenter, { n: values.n === undefined ? undefined : n, seed: intArg('seed', values.seed), quiet: values.quiet })) });
    return;
  }
  if (values.run || values.segmenter) throw new GantryError(`--${values.run ? 'run' : 'segmenter'} goes with eval segmentation; ${metric} takes --fake RUN_DIR`);

  if (metric === 'stats') {
    const spec = positionals[0];
    if (!spec || !values.out) throw new GantryError('usage: gantry eval stats SPEC --out STATS.npz');
    const extractor = extractorFor();
    try {
      const input = parseEvalInput(spec);
      const stats = input.kind === 'stats' ? (() => { throw new GantryError(`${spec} is already a statistics file`); })() : statsFromFeatures(await extractFeatures(input, extractor, options));
      writeStatsFile(values.out, stats);
      print({ out: values.out, n: stats.n, dim: stats.mu.length, features: extractor.id });
    } finally {
      extractor.dispose();
    }
    return;
  }

  if (!values.fake) throw new GantryError(`${metric}: --fake RUN_DIR|SPEC|STATS.npz is required`);
  const fake = parseEvalInput(values.fake);
  if (metric === 'is') {
    const extractor = extractorFor();
    try {
      const f = await extractFeatures(fake, extractor, { ...options, withLogits: true });
      const r = inceptionScore(f.logits!, f.n, f.classes, intArg('splits', values.splits, 1) ?? 10);
      print({ mean: r.mean, std: r.std, n: f.n, features: extractor.id });
    } finally {
      extractor.dispose();
    }
    return;
  }
  if (!values.real) throw new GantryError(`${metric}: --real SPEC|STATS.npz is required`);
  const real: EvalInput = parseEvalInput(values.real);
  // Real data framed as the compared run saw it (e.g. MNIST padded to the run's 32x32).
  const dataSize = runImageSize(fake) ?? runImageSize(real);
  if (metric === 'fid') {
    // Two statistics files need no network at all.
    const extractor = real.kind === 'stats' && fake.kind === 'stats' ? null : extractorFor();
    try {
      const a = await statsFor(real, extractor!, { ...options, dataSize }, log);
      const b = await statsFor(fake, extractor!, { ...options, dataSize }, log);
      for (const [s, label] of [[a, 'real'], [b, 'fake']] as const) {
        const w = smallSampleWarning(s, label);
        if (w) log(w);
      }
      print({ value: frechetDistance(a, b), n_real: a.n, n_fake: b.n, dim: a.mu.length, features: extractor?.id ?? 'statistics files' });
    } finally {
      extractor?.dispose();
    }
    return;
  }
  const extractor = extractorFor();
  try {
    const a = await extractFeatures(real, extractor, { ...options, dataSize });
    const b = await extractFeatures(fake, extractor, { ...options, dataSize });
    const r = kernelInceptionDistance(a.features, a.n, b.features, b.n, a.dim, {
      subsets: intArg('subsets', values.subsets, 1), subsetSize: intArg('subset-size', values['subset-size'], 2), seed: options.seed,
    });
    print({ mean: r.mean, std: r.std, subsets: r.subsets, subset_size: r.subsetSize, n_real: a.n, n_fake: b.n, features: extractor.id });
  } finally {
    extractor.dispose();
  }
}
