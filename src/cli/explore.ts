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

export const SAMPLE_HELP = `gantry sample --run RUN_DIR [--n 64] [--out grid.png] [--seed N] [--cols C]
  Draws n latent vectors (seeds N, N+1, ...: image i is seed:N+i in interpolate and arith) and writes a grid.`;
export const INTERPOLATE_HELP = `gantry interpolate --run RUN_DIR [--seeds A,B[,C...]] [--frames 8] [--out strip.png]
  Spherical interpolation between the latent vectors of the seeds; one row per pair of consecutive seeds.`;
export const RECONSTRUCT_HELP = `gantry reconstruct --run RUN_DIR [--data SPEC] [--n 32] [--out reconstruct.png] [--seed N]
  Auto-encoder runs (vae): a grid of input rows, each followed by its reconstruction.`;
export const ARITH_HELP = `gantry arith --run RUN_DIR --expr "seed:12 - seed:40 + seed:7" [--out arith.png]
  Latent vector arithmetic; a term may average seeds: mean(seed:1,seed:2,seed:3).
  The image shows each term's image, then the result.`;

function vectorsToImages(run: ReturnType<typeof openRun>, vectors: Float32Array[]): tf.Tensor4D {
  const dim = run.model.latentDim;
  const flat = new Float32Array(vectors.length * dim);
  vectors.forEach((v, i) => flat.set(v, i * dim));
  if (!run.model.generate) throw new GantryError(`this run (${run.config.family}) does not generate images`);
  const z = tf.tensor2d(flat, [vectors.length, dim]);
  const images = run.model.generate(z);
  z.dispose();
  return images;
}

async function withRun(runDir: string | undefined, device: string | undefined, fn: (run: ReturnType<typeof openRun>) => Promise<void>): Promise<void> {
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
    cols: { type: 'string' }, device: { type: 'string' },
  });
  const n = intArg('n', values.n, 1) ?? 64;
  const seed = intArg('seed', values.seed) ?? 0;
  await withRun(values.run, values.device, async (run) => {
    const vectors = Array.from({ length: n }, (_, i) => latentForSeed(seed + i, run.model.latentDim));
    await save(values.out ?? 'samples.png', vectorsToImages(run, vectors), intArg('cols', values.cols, 1));
  });
}

export async function interpolateCommand(argv: string[]): Promise<void> {
  const { values } = parseCommandArgs('interpolate', argv, {
    run: { type: 'string' }, seeds: { type: 'string' }, frames: { type: 'string' }, out: { type: 'string' },
    seed: { type: 'string' }, device: { type: 'string' },
  });
  const frames = intArg('frames', values.frames, 2) ?? 8;
  const base = intArg('seed', values.seed) ?? 0;
  const seeds = values.seeds ? values.seeds.split(',').map((s) => intArg('seeds', s.trim())!) : [base, base + 1];
  if (seeds.length < 2) throw new GantryError('--seeds needs at least two seeds, e.g. --seeds 3,17');
  await withRun(values.run, values.device, async (run) => {
    const dim = run.model.latentDim;
    const vectors: Float32Array[] = [];
    for (let p = 0; p + 1 < seeds.length; p++) {
      const a = latentForSeed(seeds[p], dim);
      const b = latentForSeed(seeds[p + 1], dim);
      for (let f = 0; f < frames; f++) vectors.push(slerp(a, b, f / (frames - 1)));
    }
    await save(values.out ?? 'interpolation.png', vectorsToImages(run, vectors), frames);
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
    run: { type: 'string' }, expr: { type: 'string' }, out: { type: 'string' }, device: { type: 'string' },
  });
  if (!values.expr) throw new GantryError('gantry arith: --expr is required, e.g. --expr "seed:12 - seed:40 + seed:7"');
  const terms = parseLatentExpression(values.expr);
  await withRun(values.run, values.device, async (run) => {
    const dim = run.model.latentDim;
    const vectors = [...terms.map((t) => termVector(t, dim)), evaluateLatentExpression(terms, dim)];
    await save(values.out ?? 'arith.png', vectorsToImages(run, vectors), vectors.length);
  });
}
