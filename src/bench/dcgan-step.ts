import * as tf from '@tensorflow/tfjs-core';
import { NO_CONDITION } from '../models/condition.ts';
import { Rng } from '../engine/rng.ts';
import { Dcgan, dcganSchema } from '../models/dcgan.ts';
import { settleGpuProducts } from '../models/step-runner.ts';

/** DESIGN.md's benchmark workloads, exactly as ../shared/peers/dcgan_torch.py builds them. */
export const WORKLOADS = {
  dcgan32: { imageSize: 32, channels: 1 },
  dcgan64: { imageSize: 64, channels: 3 },
} as const;
export type WorkloadName = keyof typeof WORKLOADS;

export interface BenchOptions {
  workload: WorkloadName;
  batch?: number;
  steps?: number;
  warmup?: number;
  ngf?: number;
  ndf?: number;
}

export interface BenchResult {
  workload: string;
  backend: string;
  batch: number;
  median_ms: number;
  /** What a run's time follows where steps differ (a lazy R1's steps with its update and without). */
  mean_ms: number;
  min_ms: number;
  max_ms: number;
  images_per_s: number;
  params_G: number;
  params_D: number;
}

/** Times full DCGAN training steps (D and G updates) on random normal "real" data, as the peer does. */
export async function benchDcganStep(o: BenchOptions): Promise<BenchResult> {
  const w = WORKLOADS[o.workload];
  const batch = o.batch ?? 64;
  const config = dcganSchema.parse({ imageSize: w.imageSize, channels: w.channels, ngf: o.ngf ?? 64, ndf: o.ndf ?? 64 });
  const model = new Dcgan(config, 0);
  const rng = new Rng(0, 'bench');
  const shape: [number, number, number, number] = [batch, w.imageSize, w.imageSize, w.channels];
  // The "real" batches are drawn before timing, as a data loader would have them ready: drawing
  // 786k normals in JS (dcgan64) costs more than the GPU step itself, while the peer draws on the GPU.
  // Uploading the batch stays inside the timed step.
  const pool = Array.from({ length: 4 }, () => rng.fillNormal(new Float32Array(batch * w.imageSize * w.imageSize * w.channels)));
  const step = async (i: number) => {
    const images = tf.tensor4d(pool[i % pool.length], shape);
    const losses = model.trainStep({ images }, { step: i, rng: rng.derive('step', i) });
    // Reading the losses waits for all the step's work, as torch.cuda.synchronize does for the peer.
    await Promise.all(Object.values(losses).map((l) => l.data()));
    tf.dispose([images, ...Object.values(losses)]);
    // GANTRY_GPU_TUNING: the first step's products timed (in the warm-up); the step is built again with them.
    await settleGpuProducts();
  };
  const times = await timeRuns(step, o.warmup ?? 3, o.steps ?? 20);
  const result = summarize(o.workload, batch, times, model.G.params.countTrainable(), model.D.params.countTrainable());
  model.dispose();
  return result;
}

/**
 * Generator inference throughput: G in evaluation mode on `batch` latent vectors per call, timed
 * until the GPU (or CPU) has finished, as the peer times G(z) with torch.cuda.synchronize.
 */
export async function benchDcganGenerate(o: BenchOptions): Promise<BenchResult> {
  const w = WORKLOADS[o.workload];
  const batch = o.batch ?? 256;
  const model = new Dcgan(dcganSchema.parse({ imageSize: w.imageSize, channels: w.channels, ngf: o.ngf ?? 64, ndf: o.ndf ?? 64 }), 0);
  const rng = new Rng(0, 'bench-generate');
  const nz = model.info.latentDim;
  const pool = Array.from({ length: 4 }, () => rng.fillNormal(new Float32Array(batch * nz)));
  const once = async (i: number) => {
    const z = tf.tensor2d(pool[i % pool.length], [batch, nz]);
    const images = model.generate(z, NO_CONDITION);
    if (tf.getBackend() === 'webgpu') await model.idle();
    else await images.data();
    tf.dispose([z, images]);
    await settleGpuProducts();
  };
  const times = await timeRuns(once, o.warmup ?? 3, o.steps ?? 20);
  const result = summarize(`${o.workload}-generate`, batch, times, model.G.params.countTrainable(), model.D.params.countTrainable());
  model.dispose();
  return result;
}

/**
 * Each run's time after `warmup` untimed ones (on a GPU, and more until GPU_WARM_MS have passed). `prepare` (untimed) makes what a run takes, as a data loader
 * has a batch ready before the step that reads it.
 */
export async function timeRuns<T = undefined>(run: (i: number, prepared: T) => Promise<void>, warmup: number, steps: number,
  prepare: (i: number) => T = () => undefined as T): Promise<number[]> {
  // Between runs the event loop turns, untimed, as training's loop lets it between steps: arrays dropped
  // during a run are returned to the system only then (V8 frees collected ArrayBuffers in a task).
  const turn = () => new Promise((resolve) => setImmediate(resolve));
  const warmMs = tf.getBackend() === 'webgpu' ? GPU_WARM_MS : 0;
  const started = performance.now();
  let runs = 0;
  for (; runs < warmup || performance.now() - started < warmMs; runs++) {
    await run(runs, prepare(runs));
    await turn();
  }
  const times: number[] = [];
  for (let i = 0; i < steps; i++) {
    const prepared = prepare(runs + i);
    const t0 = performance.now();
    await run(i, prepared);
    times.push(performance.now() - t0);
    await turn();
  }
  return times;
}

/**
 * On a GPU, warm-up runs go on for at least this long: its clocks rise under load over a fraction of a
 * second, and a few warm-up steps of a small network may end before they have (the peers warm up as
 * long: bench/peer_timing.py).
 */
export const GPU_WARM_MS = 1000;

/**
 * The median time a step took to issue (its JavaScript and the encoding of its GPU work, before waiting
 * for the results): on a GPU, the host's share of a step.
 */
export function hostMedian(times: number[]): number {
  const sorted = [...times].sort((a, b) => a - b);
  return Math.round(sorted[Math.floor(sorted.length / 2)] * 1000) / 1000;
}

export function summarize(workload: string, batch: number, times: number[], paramsG: number, paramsD: number): BenchResult {
  times.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)];
  const round = (x: number) => Math.round(x * 1000) / 1000;
  return {
    workload, backend: tf.getBackend(), batch,
    median_ms: round(median), mean_ms: round(times.reduce((s, t) => s + t, 0) / times.length), min_ms: round(times[0]), max_ms: round(times[times.length - 1]),
    images_per_s: round((batch / median) * 1000), params_G: paramsG, params_D: paramsD,
  };
}
