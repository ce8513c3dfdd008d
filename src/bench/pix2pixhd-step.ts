import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '../engine/rng.ts';
import { Pix2PixHD, pix2pixhdSchema } from '../models/pix2pixhd.ts';
import { Vgg19Features } from '../nn/vgg19.ts';
import { hostMedian, summarize, timeRuns, type BenchResult } from './dcgan-step.ts';
import { ReplayedSteps } from '../gpu/replayed-steps.ts';
import { settleGpuProducts } from '../models/step-runner.ts';
import { trainingStep } from '../gpu/matrix-products.ts';
import { supportsRecording } from '../gpu/step-recording.ts';
import { gpuKernelsInUse } from '../gpu/tfjs-kernels.ts';
import { eagerWebGpuRequested } from '../models/step-runner.ts';

/**
 * The pix2pixHD training-step workload of ../shared/peers/pix2pixhd_torch.py, built the same way: random
 * label maps (labelNc ids) with a random 5% edge map, random "real" images, G1 (or G2 around G1 with
 * local), the multi-scale D, LSGAN + feature matching + the VGG19 loss with random weights (timing only).
 * Defaults are the peer's: 64x128, labelNc 8, ngf 16, ndf 16, nDown 3, nBlocks 3, numD 2, batch 1.
 */
export interface Pix2PixHDBenchOptions {
  height?: number;
  width?: number;
  labelNc?: number;
  ngf?: number;
  ndf?: number;
  nDown?: number;
  nBlocks?: number;
  numD?: number;
  local?: boolean;
  vgg?: boolean;
  batch?: number;
  steps?: number;
  warmup?: number;
}

export async function benchPix2PixHDStep(o: Pix2PixHDBenchOptions): Promise<BenchResult & { host_ms: number; vgg: boolean; replayed: number; dispatches: number; gpuKernels: string }> {
  const [height, width, labelNc, batch] = [o.height ?? 64, o.width ?? 128, o.labelNc ?? 8, o.batch ?? 1];
  const config = pix2pixhdSchema.parse({
    height, width, labelNc, instances: true, netG: o.local ? 'local' : 'global', ngf: o.ngf ?? 16, ndf: o.ndf ?? 16,
    nDown: o.nDown ?? 3, nBlocks: o.nBlocks ?? 3, numD: o.numD ?? 2, vgg: false,
  });
  const vgg = o.vgg !== false ? new Vgg19Features() : undefined;
  const model = new Pix2PixHD(config, 0, { vgg });
  const rng = new Rng(0, 'bench-pix2pixhd');
  const area = batch * height * width;
  const labels = Int32Array.from({ length: area }, () => rng.int(labelNc));
  const oneHot = new Float32Array(area * (labelNc + 1));
  labels.forEach((l, p) => {
    oneHot[p * (labelNc + 1) + l] = 1;
    oneHot[p * (labelNc + 1) + labelNc] = rng.uniform() < 0.05 ? 1 : 0;
  });
  const input = tf.tensor4d(oneHot, [batch, height, width, labelNc + 1]);
  const real = tf.tensor4d(Float32Array.from({ length: area * 3 }, () => rng.uniform() * 2 - 1), [batch, height, width, 3]);
  // On WebGPU the step is recorded and replayed as in training (GANTRY_WEBGPU_EAGER=1: eager); its first
  // three runs (a warm-up, two recordings) are eager, so the default warm-up covers them.
  const replayer = supportsRecording() && !eagerWebGpuRequested() ? new ReplayedSteps((line) => process.stderr.write(line + '\n')) : null;
  const host: number[] = [];
  const step = async () => {
    const t0 = performance.now();
    // GANTRY_TENSOR_CORES=train: its products on the GPU's matrix units, as in training.
    const once = () => trainingStep(() => model.stepOn(input, real));
    const losses = replayer ? replayer.run('step', [], [input, real], once) : once();
    host.push(performance.now() - t0);
    await Promise.all(Object.values(losses).map((l) => l.data()));
    tf.dispose(Object.values(losses));
    // GANTRY_GPU_TUNING: the first step's new products timed before the next is recorded, as in training.
    await settleGpuProducts();
  };
  const times = await timeRuns(step, o.warmup ?? (replayer ? 3 : 2), o.steps ?? 10);
  const replayed = replayer?.replayed ?? 0;
  const dispatches = Object.values(replayer?.dispatches() ?? {}).reduce((a, b) => a + b, 0);
  replayer?.dispose();
  const name = `pix2pixhd${o.local ? '-local' : ''} ${height}x${width} labelNc ${labelNc} ngf ${config.ngf} ndf ${config.ndf} nDown ${config.nDown} nBlocks ${config.nBlocks} numD ${config.numD}${vgg ? '' : ' no-vgg'}`;
  const paramsG = Object.entries(model.networks).filter(([k]) => k !== 'D').reduce((n, [, p]) => n + p.countTrainable(), 0);
  const result = { ...summarize(name, batch, times, paramsG, model.networks.D.countTrainable()), host_ms: hostMedian(host.slice(-times.length)), vgg: Boolean(vgg), replayed, dispatches, gpuKernels: gpuKernelsInUse() };
  tf.dispose([input, real]);
  model.dispose();
  return result;
}
