import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '../engine/rng.ts';
import { Dcgan, dcganSchema } from '../models/dcgan.ts';

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
  const step = async (i: number) => {
    const images = tf.tensor4d(rng.fillNormal(new Float32Array(batch * w.imageSize * w.imageSize * w.channels)), shape);
    const losses = model.trainStep({ images }, { step: i, rng: rng.derive('step', i) });
    // Reading the losses waits for all the step's work, as torch.cuda.synchronize does for the peer.
    await Promise.all(Object.values(losses).map((l) => l.data()));
    tf.dispose([images, ...Object.values(losses)]);
  };
  for (let i = 0; i < (o.warmup ?? 3); i++) await step(i);
  const times: number[] = [];
  for (let i = 0; i < (o.steps ?? 20); i++) {
    const t0 = performance.now();
    await step(i);
    times.push(performance.now() - t0);
  }
  const paramsG = model.G.params.countTrainable();
  const paramsD = model.D.params.countTrainable();
  model.dispose();
  times.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)];
  const round = (x: number) => Math.round(x * 1000) / 1000;
  return {
    workload: o.workload, backend: tf.getBackend(), batch,
    median_ms: round(median), min_ms: round(times[0]), max_ms: round(times[times.length - 1]),
    images_per_s: round((batch / median) * 1000), params_G: paramsG, params_D: paramsD,
  };
}
