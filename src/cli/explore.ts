import * as tf from '@tensorflow/tfjs-core';
import { GantryError } from '../errors.ts';
import { initEngine, type Device } from '../engine/index.ts';
import { writePng } from '../io/png.ts';
import { evaluateLatentExpression, latentForSeed, parseLatentExpression, slerp, termVector } from '../explore/latent.ts';
import { imageGrid } from '../train/grid.ts';
import { openRun } from '../train/run.ts';
import { intArg, parseCommandArgs } from './args.ts';
import { openDataset } from '../data/index.ts';
import { makeBatch } from '../data/sampler.ts';
import { Rng } from '../engine/rng.ts';

export const SAMPLE_HELP = `gantry sample --run RUN_DIR [--n 64] [--out grid.png] [--seed N] [--cols C] [--class K]
  Draws n latent vectors (seeds N, N+1, ...: image i is seed:N+i in interpolate and arith) and writes a grid.
  Class-conditional runs (cgan, acgan): --class K (index or name, e.g. 7 or circle) draws every image of
  class K; without it image i is of class i % classes and each column is one class.`;
export const INTERPOLATE_HELP = `gantry interpolate --run RUN_DIR [--seeds A,B[,C...]] [--frames 8] [--out strip.png] [--class K]
  Spherical interpolation between the latent vectors of the seeds; one row per pair of consecutive seeds.
  Class-conditional runs: --class K fixes the class (default: the first); --classes A,B[,C...] instead keeps
  the latent vector of --seed N fixed and blends the class embedding from each class to the next.`;
export const RECONSTRUCT_HELP = `gantry reconstruct --run RUN_DIR [--data SPEC] [--n 32] [--out reconstruct.png] [--seed N]
  Auto-encoder runs (vae): a grid of input rows, each followed by its reconstruction.`;
export const ARITH_HELP = `gantry arith --run RUN_DIR --expr "seed:12 - seed:40 + seed:7" [--out arith.png] [--class K]
  Latent vector arithmetic; a term may average seeds: mean(seed:1,seed:2,seed:3).
  The image shows each term's image, then the result (class-conditional runs: all of class K).`;

type Run = ReturnType<typeof openRun>;

/** Images of latent vectors; class-conditional runs also get one class-weight vector per image. */
function vectorsToImages(run: Run, vectors: Float32Array[], classes?: Float32Array[]): tf.Tensor4D {
  const dim = run.model.latentDim;
  const flat = new Float32Array(vectors.length * dim);
  vectors.forEach((v, i) => flat.set(v, i * dim));
  if (!run.model.generate) throw new GantryError(`this run (${run.config.family}) does not generate images`);
  return tf.tidy(() => {
    const z = tf.tensor2d(flat, [vectors.length, dim]);
    if (!classes) return run.model.generate!(z);
    const k = run.model.numClasses!;
    const weights = new Float32Array(classes.length * k);
    classes.forEach((w, i) => weights.set(w, i * k));
    return run.model.generate!(z, tf.tensor2d(weights, [classes.length, k]));
  });
}

/** The class a --class value names in a conditional run: an index, or a name the data gave. */
export function resolveClass(run: Run, value: string, flag = 'class'): number {
  const k = run.model.numClasses;
  if (!k) throw new GantryError(`--${flag}: this ${run.config.family} run is not class-conditional; train a cgan or acgan run to choose classes`);
  const names = run.model.classNames ?? [];
  const byName = names.indexOf(value);
  if (byName >= 0) return byName;
  const n = Number(value);
  if (Number.isInteger(n) && n >= 0 && n < k) return n;
  const known = names.length ? ` or a name (${names.join(', ')})` : '';
  throw new GantryError(`--${flag} "${value}": expected a class index 0..${k - 1}${known}`);
}

function oneHot(k: number, numClasses: number): Float32Array {
  const w = new Float32Array(numClasses);
  w[k] = 1;
  return w;
}

/** Class weights for n images: all of --class when given, else (conditional runs) i % K; undefined otherwise. */
function classesFor(run: Run, n: number, classFlag: string | undefined): Float32Array[] | undefined {
  const k = run.model.numClasses;
  if (classFlag !== undefined) {
    const c = resolveClass(run, classFlag);
    return Array.from({ length: n }, () => oneHot(c, k!));
  }
  return k ? Array.from({ length: n }, (_, i) => oneHot(i % k, k)) : undefined;
}

/** Where every image shares one class: --class, or the first class of a conditional run. */
function oneClass(run: Run, classFlag: string | undefined): string | undefined {
  return classFlag ?? (run.model.numClasses ? '0' : undefined);
}

async function withRun(runDir: string | undefined, device: string | undefined, fn: (run: Run) => Promise<void>): Promise<void> {
  if (!runDir) throw new GantryError('--run RUN_DIR is required (the --out folder of a gantry train)');
  await initEngine({ device: (device ?? 'cpu') as Device });
  const run = openRun(runDir);
  try {
    await fn(run);
  } finally {
    run.model.dispose();
  }
}

async function save(out: string, images: tf.Tensor4D, cols?: number): Promise<void> {
  writePng(out, await imageGrid(images, cols));
  images.dispose();
  process.stdout.write(`${out}\n`);
}

export async function sampleCommand(argv: string[]): Promise<void> {
  const { values } = parseCommandArgs('sample', argv, {
    run: { type: 'string' }, n: { type: 'string' }, out: { type: 'string' }, seed: { type: 'string' },
    cols: { type: 'string' }, device: { type: 'string' }, class: { type: 'string' },
  });
  const n = intArg('n', values.n, 1) ?? 64;
  const seed = intArg('seed', values.seed) ?? 0;
  await withRun(values.run, values.device, async (run) => {
    const vectors = Array.from({ length: n }, (_, i) => latentForSeed(seed + i, run.model.latentDim));
    // A conditional grid without --class has one class per column.
    const cols = intArg('cols', values.cols, 1) ?? (values.class === undefined ? run.model.numClasses : undefined);
    await save(values.out ?? 'samples.png', vectorsToImages(run, vectors, classesFor(run, n, values.class)), cols);
  });
}

export async function interpolateCommand(argv: string[]): Promise<void> {
  const { values } = parseCommandArgs('interpolate', argv, {
    run: { type: 'string' }, seeds: { type: 'string' }, frames: { type: 'string' }, out: { type: 'string' },
    seed: { type: 'string' }, device: { type: 'string' }, class: { type: 'string' }, classes: { type: 'string' },
  });
  const frames = intArg('frames', values.frames, 2) ?? 8;
  const base = intArg('seed', values.seed) ?? 0;
  if (values.classes !== undefined && values.seeds !== undefined) {
    throw new GantryError('interpolate: give --seeds (move through latent space) or --classes (move between classes at one --seed), not both');
  }
  await withRun(values.run, values.device, async (run) => {
    const dim = run.model.latentDim;
    const vectors: Float32Array[] = [];
    const classes: Float32Array[] = [];
    if (values.classes !== undefined) {
      const path = values.classes.split(',').map((c) => resolveClass(run, c.trim(), 'classes'));
      if (path.length < 2) throw new GantryError('--classes needs at least two classes, e.g. --classes 3,8');
      const k = run.model.numClasses!;
      const z = latentForSeed(base, dim);
      for (let p = 0; p + 1 < path.length; p++) {
        for (let f = 0; f < frames; f++) {
          // The class embedding moves linearly from one class's row to the next's.
          const t = f / (frames - 1);
          const w = new Float32Array(k);
          w[path[p]] += 1 - t;
          w[path[p + 1]] += t;
          vectors.push(z);
          classes.push(w);
        }
      }
    } else {
      const seeds = values.seeds ? values.seeds.split(',').map((s) => intArg('seeds', s.trim())!) : [base, base + 1];
      if (seeds.length < 2) throw new GantryError('--seeds needs at least two seeds, e.g. --seeds 3,17');
      for (let p = 0; p + 1 < seeds.length; p++) {
        const a = latentForSeed(seeds[p], dim);
        const b = latentForSeed(seeds[p + 1], dim);
        for (let f = 0; f < frames; f++) vectors.push(slerp(a, b, f / (frames - 1)));
      }
      classes.push(...(classesFor(run, vectors.length, oneClass(run, values.class)) ?? []));
    }
    await save(values.out ?? 'interpolation.png', vectorsToImages(run, vectors, classes.length ? classes : undefined), frames);
  });
}

export async function reconstructCommand(argv: string[]): Promise<void> {
  const { values } = parseCommandArgs('reconstruct', argv, {
    run: { type: 'string' }, data: { type: 'string' }, n: { type: 'string' }, out: { type: 'string' }, seed: { type: 'string' }, device: { type: 'string' },
  });
  const n = intArg('n', values.n, 1) ?? 32;
  await withRun(values.run, values.device, async (run) => {
    if (!run.model.reconstruct) throw new GantryError(`a ${run.config.family} run does not reconstruct images; use a vae run`);
    const size = Number(run.config.model.imageSize);
    const data = openDataset(values.data ?? run.config.data, { size, channels: Number(run.config.model.channels) });
    const pick = new Rng(intArg('seed', values.seed) ?? 0, 'reconstruct').permutation(data.n).subarray(0, Math.min(n, data.n));
    const batch = makeBatch(data, pick);
    const recon = run.model.reconstruct(batch.images);
    // Rows of 8: inputs, then their reconstructions.
    const cols = 8;
    const rows: tf.Tensor4D[] = [];
    for (let start = 0; start < pick.length; start += cols) {
      const count = Math.min(cols, pick.length - start);
      rows.push(tf.slice(batch.images, [start, 0, 0, 0], [count, -1, -1, -1]), tf.slice(recon, [start, 0, 0, 0], [count, -1, -1, -1]));
    }
    const grid = tf.concat(rows, 0);
    tf.dispose([batch.images, batch.labels ?? [], recon, ...rows]);
    await save(values.out ?? 'reconstruct.png', grid, cols);
  });
}

export async function arithCommand(argv: string[]): Promise<void> {
  const { values } = parseCommandArgs('arith', argv, {
    run: { type: 'string' }, expr: { type: 'string' }, out: { type: 'string' }, device: { type: 'string' }, class: { type: 'string' },
  });
  if (!values.expr) throw new GantryError('gantry arith: --expr is required, e.g. --expr "seed:12 - seed:40 + seed:7"');
  const terms = parseLatentExpression(values.expr);
  await withRun(values.run, values.device, async (run) => {
    const dim = run.model.latentDim;
    const vectors = [...terms.map((t) => termVector(t, dim)), evaluateLatentExpression(terms, dim)];
    await save(values.out ?? 'arith.png', vectorsToImages(run, vectors, classesFor(run, vectors.length, oneClass(run, values.class))), vectors.length);
  });
}
