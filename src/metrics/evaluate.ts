import * as tf from '@tensorflow/tfjs-core';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Rng } from '../engine/rng.ts';
import { inPassesThatFit } from '../gpu/device-guard.ts';
import { GantryError, given } from '../errors.ts';
import { OutOfMemoryError, ensureMemoryFor } from '../engine/memory.ts';
import { evaluationCaptions, openDataset, openHeldOut, parseDataSpec, type ImageDataset } from '../data/index.ts';
import { listFolderImages } from '../data/folder.ts';
import { readImageFile } from '../io/image.ts';
import { cacheFolder } from '../io/cache-dir.ts';
import { readImages } from '../data/dataset.ts';
import { convertChannels } from '../io/pixels.ts';
import { dataMaps, evaluationConditions, type ConditionRows } from '../explore/conditions.ts';
import { withRandomStyles } from '../explore/run-styles.ts';
import { vectorsToImages } from '../explore/render.ts';
import { savedLevels } from '../explore/grid.ts';
import { settleGpuProducts } from '../models/step-runner.ts';
import { latentForSeed } from '../explore/latent.ts';
import { fitImage, type ImageFit } from '../data/transform.ts';
import { describeModel, openRun, runData, readRunConfig, CONFIG_FILE, type OpenedRun } from '../train/run.ts';
import { Progress } from '../train/progress.ts';
import { StatsAccumulator, frechetDistance, type FeatureStats } from './frechet.ts';
import { gatherRows } from './kid.ts';
import { isInceptionId, type FeatureExtractor } from './features.ts';
import { readStatsFile, writeStatsFile } from './stats-file.ts';

/**
 * What a text run's fakes are drawn with: one caption drawn per image of its data's test split where the
 * data defines one, else of its training data, in a seeded order.
 */
export function evaluationCaptionList(run: OpenedRun, seed: number): string[] {
  const captions = evaluationCaptions(runData(run), run.info);
  if (!captions) throw new GantryError(`the run's data ${run.config.data} has no captions to draw its images with`);
  const rng = new Rng(seed, 'eval-captions');
  return Array.from(rng.permutation(captions.length), (j) => captions[j][rng.int(captions[j].length)]);
}

/** A label-map run's held-out maps (its data's test split): what its fakes are drawn from, cycled in order. */
function heldOutMaps(run: OpenedRun, runDir: string, seed: number): ConditionRows {
  const ds = openHeldOut(runData(run), run.info);
  const maps = dataMaps(ds, Array.from({ length: ds.n }, (_, i) => i)).maps;
  return { kind: 'labelMap', maps: withRandomStyles(run, runDir, maps, seed) };
}

/** What `--real` / `--fake` name: a statistics file, a run folder (its generator) or a data SPEC. */
export type EvalInput = { kind: 'stats'; path: string } | { kind: 'run'; dir: string } | { kind: 'data'; spec: string };

export function parseEvalInput(text: string): EvalInput {
  if (text.endsWith('.npz')) return { kind: 'stats', path: text };
  if (existsSync(join(text, CONFIG_FILE))) return { kind: 'run', dir: text };
  parseDataSpec(text); // throws a clear error for anything else
  return { kind: 'data', spec: text };
}

export interface FeatureSet {
  features: Float32Array;
  n: number;
  dim: number;
}

export interface FeatureOptions {
  /** How many images (all of a data set when larger). */
  n: number;
  batch?: number;
  seed?: number;
  /** Size for data sets when the extractor takes any size (e.g. the compared run's image size). */
  dataSize?: { height: number; width: number };
  quiet?: boolean;
}

/** The natural size of a data source: what pytorch-fid would read from its image files. */
function nativeSize(spec: string): { height: number; width: number } {
  const kind = parseDataSpec(spec).kind;
  const side = kind === 'cifar10' ? 32 : kind === 'folder' ? 299 : 28;
  return { height: side, width: side };
}

/** Image size of a run's generator, so real data can be framed as the run was trained on it. */
export function runImageSize(input: EvalInput): { height: number; width: number } | undefined {
  if (input.kind !== 'run') return undefined;
  const { height, width } = describeModel(readRunConfig(input.dir));
  return { height, width };
}

/**
 * The images an evaluation of a data SPEC uses: fitted to one size (a dataset), or, for a folder and a
 * network that takes any size, the image files to be read at their own size.
 */
type DataSelection = {
  /** Indices of the chosen images. */
  order: Int32Array;
  /** sha1 of the chosen images' bytes and of the extractor: the cache key of their statistics. */
  key: string;
} & ({ ds: ImageDataset; files?: undefined } | { files: string[]; ds?: undefined });

/** All of n images, or a seeded choice of `want` of them. */
function chooseImages(n: number, want: number, seed: number): Int32Array {
  const total = Math.min(want, n);
  return total < n ? new Rng(seed, 'eval-subset').permutation(n).subarray(0, total) : Int32Array.from({ length: total }, (_, i) => i);
}

/** Images hashed at a time (the data may be a file too large for memory). */
const HASH_CHUNK = 256;

/** The images of a data SPEC that an evaluation uses: all, or a seeded choice of n. */
function selectData(spec: string, extractor: FeatureExtractor, o: FeatureOptions): DataSelection {
  const parsed = parseDataSpec(spec);
  if (parsed.kind === 'folder' && extractor.inputSize === null) {
    // pytorch-fid reads each file at its own size and resizes in float inside the network: no 8-bit
    // resize first (which moved the statistics of a 48x48 folder by 1e-3 of their size).
    const { files } = listFolderImages(parsed.path!, parsed.options.classes?.split(','));
    const order = chooseImages(files.length, o.n, o.seed ?? 0);
    const hash = createHash('sha1').update(`${extractor.id}|native|`);
    for (const j of order) hash.update(readFileSync(files[j]));
    return { files, order, key: hash.digest('hex').slice(0, 20) };
  }
  const size = extractor.inputSize ? { height: extractor.inputSize, width: extractor.inputSize } : o.dataSize ?? nativeSize(spec);
  const fit: ImageFit = { ...size, channels: extractor.inputChannels ?? 0 };
  const ds = openDataset(spec, fit);
  const order = chooseImages(ds.n, o.n, o.seed ?? 0);
  const hash = createHash('sha1').update(`${extractor.id}|${ds.height}x${ds.width}x${ds.channels}|`);
  for (let first = 0; first < order.length; first += HASH_CHUNK) hash.update(readImages(ds, order.subarray(first, first + HASH_CHUNK)).pixels);
  return { ds, order, key: hash.digest('hex').slice(0, 20) };
}

/**
 * Image files as [0, 1] RGB tensors at their own size, consecutive images of one size batched together
 * (pytorch-fid: its batch size where all sizes agree, one image at a time where they do not).
 */
function nativeBatches(files: string[]): tf.Tensor4D[] {
  const images = files.map((f) => convertChannels(readImageFile(f), 3));
  const batches: tf.Tensor4D[] = [];
  for (let i = 0; i < images.length;) {
    let j = i + 1;
    while (j < images.length && images[j].width === images[i].width && images[j].height === images[i].height) j++;
    const { width, height } = images[i];
    const bytes = new Uint8Array((j - i) * width * height * 3);
    for (let k = i; k < j; k++) bytes.set(images[k].data, (k - i) * width * height * 3);
    batches.push(tf.tidy(() => tf.div(tf.tensor4d(bytes, [j - i, height, width, 3], 'int32'), 255)) as tf.Tensor4D);
    i = j;
  }
  return batches;
}

/**
 * A generator's 8-bit levels [n, H, W, C] fitted as data images are for a feature network of one size and
 * channel count (a classifier): fitImage's channels, cover resize and centre crop, at 8 bits, so that a run
 * is scored as a folder of its saved images would be. Disposes `levels`.
 */
async function fittedAsData(levels: tf.Tensor4D, fit: ImageFit): Promise<tf.Tensor4D> {
  const [n, height, width, channels] = levels.shape;
  let values: Float32Array;
  try {
    values = await levels.data() as Float32Array;
  } finally {
    levels.dispose();
  }
  const to = { ...fit, channels: fit.channels || channels };
  const per = height * width * channels;
  const perFitted = to.height * to.width * to.channels;
  const out = new Uint8Array(n * perFitted);
  for (let i = 0; i < n; i++) {
    const data = Uint8Array.from(values.subarray(i * per, (i + 1) * per));
    out.set(fitImage({ width, height, channels, data }, to).data, i * perFitted);
  }
  return tf.tensor4d(out, [n, to.height, to.width, to.channels], 'int32');
}

/**
 * Where streamed outputs go: `start` learns how many images there will be, then `add` takes each pass's
 * rows in order (features [n, dim], or logits [n, classes]), images `from` .. `from + n`.
 */
interface FeatureSink {
  start(total: number): void;
  add(from: number, n: number, rows: Float32Array, width: number): void;
}

/** Every feature of the input, held at once: what KID's subsets read. */
export async function extractFeatures(input: EvalInput, extractor: FeatureExtractor, o: FeatureOptions, selection?: DataSelection): Promise<FeatureSet> {
  const { rows, n } = await heldRows(input, extractor, o, 'features', selection);
  return { features: rows, n, dim: extractor.dim };
}

/** Every logit of the input (the classifier's output), held at once: what IS's splits read. */
export async function extractLogits(input: EvalInput, extractor: FeatureExtractor, o: FeatureOptions): Promise<{ logits: Float32Array; n: number; classes: number }> {
  const { rows, n, width } = await heldRows(input, extractor, o, 'logits');
  return { logits: rows, n, classes: width };
}

/** One output of the extractor for every image, in one array (made at the first pass, when its width is known). */
async function heldRows(input: EvalInput, extractor: FeatureExtractor, o: FeatureOptions, what: 'features' | 'logits', selection?: DataSelection): Promise<{ rows: Float32Array; n: number; width: number }> {
  let rows = new Float32Array(0);
  let total = 0;
  let width = 0;
  await streamFeatures(input, extractor, o, {
    start(n) {
      total = n;
      // Features' width is known before any image is drawn; logits' at the first pass.
      if (what === 'features') ensureHeldMemory(n * extractor.dim, n, what);
    },
    add(from, _n, values, w) {
      if (width === 0) {
        width = w;
        if (what === 'logits') ensureHeldMemory(total * w, total, what);
        rows = new Float32Array(total * w);
      }
      rows.set(values, from * w);
    },
  }, selection, what);
  return { rows, n: total, width };
}

/** Refuses a set of features or logits that would not fit in memory, naming the fix. */
function ensureHeldMemory(values: number, images: number, what: string): void {
  try {
    ensureMemoryFor(values * 4);
  } catch (err) {
    if (!(err instanceof OutOfMemoryError)) throw err;
    throw new GantryError(`${err.summary}: the ${what} of ${images} images are held at once for this score; score fewer images (${given('n')})`);
  }
}

/**
 * The feature statistics of an input, accumulated a pass at a time: memory stays bounded however many images
 * (FID of 50,000 holds 2048 x 2048 sums, not 50,000 x 2048 features). Below twice the feature size, where
 * statsFromFeatures also reports the small-sample floor (two halves' FID), the features are kept for it.
 */
export async function computeStats(input: EvalInput, extractor: FeatureExtractor, o: FeatureOptions, selection?: DataSelection): Promise<FeatureStats> {
  return (await statsPass(input, extractor, o, selection, false)).stats;
}

/** Statistics of an input as computeStats makes them, and every feature behind them, from one pass. */
export async function statsAndFeatures(input: EvalInput, extractor: FeatureExtractor, o: FeatureOptions): Promise<{ stats: FeatureStats; features: FeatureSet }> {
  const { stats, features } = await statsPass(input, extractor, o, undefined, true);
  return { stats, features: features! };
}

/** One pass of the input's features into their statistics, keeping the features where asked or needed (small N). */
async function statsPass(input: EvalInput, extractor: FeatureExtractor, o: FeatureOptions, selection: DataSelection | undefined, holdAll: boolean): Promise<{ stats: FeatureStats; features: FeatureSet | null }> {
  const dim = extractor.dim;
  const acc = new StatsAccumulator(dim);
  let kept: Float32Array | null = null;
  let total = 0;
  await streamFeatures(input, extractor, o, {
    start(n) {
      total = n;
      if (holdAll) ensureHeldMemory(n * dim, n, 'features');
      if (holdAll || n < 2 * dim) kept = new Float32Array(n * dim);
    },
    add(from, n, f) {
      acc.add(f, n);
      kept?.set(f, from * dim);
    },
  }, selection, 'features');
  const features = kept ? { features: kept as Float32Array, n: total, dim } : null;
  const stats = total < 2 * dim && features ? statsFromFeatures(features) : acc.finish();
  return { stats: { ...stats, features: extractor.id }, features };
}

/** Streams images of the input through the extractor in batches into `sink` (their features or logits), with a progress line. */
async function streamFeatures(input: EvalInput, extractor: FeatureExtractor, o: FeatureOptions, sink: FeatureSink, selection: DataSelection | undefined, what: 'features' | 'logits'): Promise<void> {
  const batch = o.batch ?? 50;
  const seed = o.seed ?? 0;
  let total: number;
  // Images start .. start + count, as one batch or (images of different sizes) several in a row.
  let nextBatch: (start: number, count: number) => tf.Tensor4D | tf.Tensor4D[] | Promise<tf.Tensor4D[]>;
  let cleanup = () => {};
  if (input.kind === 'data') {
    const { ds, files, order } = selection ?? selectData(input.spec, extractor, o);
    total = order.length;
    if (files) {
      nextBatch = (start, count) => nativeBatches(Array.from(order.subarray(start, start + count), (j) => files[j]));
    } else {
      nextBatch = (start, count) => {
        const bytes = readImages(ds, order.subarray(start, start + count)).pixels;
        return tf.tidy(() => tf.div(tf.tensor4d(bytes, [count, ds.height, ds.width, ds.channels], 'int32'), 255)) as tf.Tensor4D;
      };
    }
  } else if (input.kind === 'run') {
    const run = openRun(input.dir);
    const { model, info } = run;
    if (!model.generate) {
      model.dispose();
      throw new GantryError(`${input.dir} is a ${run.config.family} run; it does not generate images to score`);
    }
    total = o.n;
    // A classifier takes images of one size and channel count: a run's are fitted to it as data images are
    // (a colour run's go grey for an MNIST classifier). Inception and VGG-16 take any, resized inside.
    const size = extractor.inputSize;
    const fit = size ? { height: size, width: size, channels: extractor.inputChannels ?? 0 } : null;
    const captions = info.conditioning.kind === 'text' ? evaluationCaptionList(run, seed) : null;
    const maps = info.conditioning.kind === 'labelMap' ? heldOutMaps(run, input.dir, seed) : undefined;
    // A large generator's batch (pix2pixHD at its real sizes) may not fit on a GPU at once: drawn in parts that do.
    const drawFit = { most: Infinity };
    nextBatch = (start, count) => inPassesThatFit(start, count, drawFit, async (first, n) => {
      const vectors = Array.from({ length: n }, (_, i) => latentForSeed(1_000_000 + seed * 100_000 + first + i, info.latentDim));
      // Class-conditional runs: image start + i is of class (start + i) % K, balanced over the whole set.
      // Text runs: image start + i has a caption of the test split (else the training data), in a seeded order.
      // Label-map runs: image start + i is drawn from held-out map (start + i) % maps.
      const conditions = await evaluationConditions(run, first, n, captions, maps);
      const levels = tf.tidy(() => savedLevels(vectorsToImages(run, vectors, conditions)));
      const [, h, w, c] = levels.shape;
      const fitted = fit && (h !== fit.height || w !== fit.width || (fit.channels && c !== fit.channels)) ? await fittedAsData(levels, fit) : levels;
      try {
        return tf.div(fitted, 255) as tf.Tensor4D;
      } finally {
        fitted.dispose();
      }
    });
    cleanup = () => model.dispose();
  } else {
    throw new GantryError(`${input.path} holds statistics, not images; it cannot give features for this metric`);
  }
  sink.start(total);
  const progress = new Progress(total, 0, `${what} (${extractor.id})`, process.stderr, o.quiet);
  // The extractor's batch too may not fit on a GPU at once (Inception's 147x147x64 maps, 5.5 MB an image).
  const extractFit = { most: Infinity };
  try {
    for (let start = 0; start < total; start += batch) {
      const count = Math.min(batch, total - start);
      let at = start;
      for (const images of [await nextBatch(start, count)].flat()) {
        const n = images.shape[0];
        await inPassesThatFit(at, n, extractFit, async (from, howMany) => {
          const part = howMany === n ? images : tf.slice(images, from - at, howMany);
          let out: ReturnType<FeatureExtractor['extract']>;
          try {
            out = extractor.extract(part, what === 'logits');
          } finally {
            if (part !== images) part.dispose();
          }
          try {
            const rows = what === 'logits' ? out.logits : out.features;
            if (!rows) throw new GantryError(`the feature network ${extractor.id} has no class logits to score IS with`);
            sink.add(from, howMany, await rows.data() as Float32Array, rows.shape[1]);
          } finally {
            tf.dispose([out.features, out.logits ?? []]);
          }
        });
        at += n;
        images.dispose();
      }
      progress.update(start + count);
      // GANTRY_GPU_TUNING: this batch's new products (the generator's, the extractor's) timed before the next is recorded.
      await settleGpuProducts();
      await new Promise((r) => setImmediate(r));
    }
  } finally {
    progress.done();
    cleanup();
  }
}

export function statsFromFeatures(f: FeatureSet): FeatureStats {
  const acc = new StatsAccumulator(f.dim);
  acc.add(f.features, f.n);
  const stats = acc.finish();
  if (f.n < 2 * f.dim && f.n >= 4) stats.halfSplitFid = halfSplitFid(f);
  return stats;
}

/**
 * FID between two halves of one image set: what a perfect generator would score against it at this
 * sample size (the small-sample bias floor), reported when N is small next to the feature dimension. The
 * halves are a seeded random split: a set read in order (a folder's classes one after another) split in the
 * middle would give halves of different classes, and a floor far above the real one.
 */
export function halfSplitFid(f: FeatureSet): number {
  const half = Math.floor(f.n / 2);
  const order = new Rng(0, 'half-split').permutation(f.n);
  const halfOf = (from: number) => {
    const acc = new StatsAccumulator(f.dim);
    acc.add(gatherRows(f.features, order.subarray(from, from + half), f.dim), half);
    return acc.finish();
  };
  return frechetDistance(halfOf(0), halfOf(half));
}

/**
 * Statistics of an input: read from a file, or computed (real data is cached in cacheFolder('stats')
 * by a key of its image bytes and the feature extractor, so a second evaluation skips the network).
 */
export async function statsFor(input: EvalInput, extractor: FeatureExtractor, o: FeatureOptions, log: (l: string) => void): Promise<FeatureStats> {
  if (input.kind === 'stats') return readStatsFile(input.path);
  if (input.kind === 'data') {
    const selection = selectData(input.spec, extractor, o);
    const cached = join(cacheFolder('stats'), `${selection.key}.npz`);
    if (existsSync(cached)) {
      log(`using cached statistics ${cached}`);
      return readStatsFile(cached);
    }
    const stats = await computeStats(input, extractor, o, selection);
    mkdirSync(cacheFolder('stats'), { recursive: true });
    writeStatsFile(cached, stats);
    return stats;
  }
  return computeStats(input, extractor, o);
}

/** The warning users of small-N FID need: below the feature dimension the covariance is singular. */
export function smallSampleWarning(stats: FeatureStats, label: string): string | null {
  const n = stats.n;
  const dim = stats.mu.length;
  if (n === 0 || n >= dim) return null;
  const floor = stats.halfSplitFid !== undefined ? ` As a measure of the bias: two halves of the ${label} images (${Math.floor(n / 2)} each) already score FID ${stats.halfSplitFid.toFixed(2)} against each other.` : '';
  // Only Inception has smaller feature layers to choose (a classifier's or VGG-16's have one size).
  const inception = !stats.features || isInceptionId(stats.features);
  const remedy = `${inception ? `${given('featureDim')} 64/192/768 or ` : ''}more images (${given('n')})`;
  return `warning: ${n} ${label} images but ${dim}-d features: the covariance has rank at most ${n - 1} < ${dim}, so FID is biased upward and grows as N shrinks.${floor} Compare FIDs only at the same N and feature dimension; ${remedy} give a less biased score`;
}
