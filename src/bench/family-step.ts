import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '../engine/rng.ts';
import { openDataset } from '../data/index.ts';
import { dataShape } from '../data/dataset.ts';
import { BatchSampler } from '../data/sampler.ts';
import type { Batch } from '../data/batch.ts';
import { validateRunConfig } from '../train/run-config.ts';
import { buildModel, provideReferenceImages, resolveRunConfig } from '../train/run.ts';
import { describeModel } from '../models/index.ts';
import type { FamilyInstance } from '../models/family.ts';
import { batchDefaults, dataFit, type ModelInfo } from '../models/condition.ts';
import { generationProfile, settleGpuProducts, TrainSteps } from '../models/step-runner.ts';
import { gemmsTuned, gemmTuningEnabled, gemmTuningSeconds } from '../gpu/gemm-tuning.ts';
import { gpuKernelCalls, gpuKernelsInUse } from '../gpu/tfjs-kernels.ts';
import { GpuContext } from '../gpu/context.ts';
import { createPassTimeline, stepsOnGpu } from '../gpu/pass-timeline.ts';
import { GantryError } from '../errors.ts';
import { gridConditions, sliceConditions, type ConditionRows } from '../explore/conditions.ts';
import { drawChunk, vectorsToImages } from '../explore/render.ts';
import { hostMedian, summarize, timeRuns, type BenchResult } from './dcgan-step.ts';

/**
 * The data a family's bench trains on by default: the embedded digits, or shapes where it needs captions or
 * label maps; 512 of them, which stay in memory up to 256x256 (shapes' default 10,000 would be drawn as
 * they are read there, in the timed step).
 */
export function defaultBenchData(family: string): string {
  return ['gan-cls', 'dfgan', 'pix2pixhd', 'segmenter'].includes(family) ? 'shapes:512' : 'mnist';
}

/** A model of a family built from a run config's model section, on real data, with its batches. */
export function familyModel(family: string, data: string, model: Record<string, unknown>, batch: number, seed = 3): { model: FamilyInstance; info: ModelInfo; batchAt: (step: number) => Batch } {
  const config = validateRunConfig({ family, data, seed, model, train: { batch } }, 'bench config');
  const dataset = openDataset(config.data, dataFit(describeModel(config)));
  const resolved = resolveRunConfig(config, dataShape(dataset));
  const info = describeModel(resolved);
  const built = buildModel(resolved);
  provideReferenceImages(built, dataset, seed, 4);
  const batching = batchDefaults(info);
  const sampler = new BatchSampler(dataset, batch, seed, batching.flip, undefined, batching.captionsPerImage);
  return { model: built, info, batchAt: (step) => sampler.batchAt(step) };
}

export interface FamilyBenchOptions {
  family: string;
  data?: string;
  /** The run config's model section (sizes, widths); the family's defaults for the rest. */
  model?: Record<string, unknown>;
  batch?: number;
  steps?: number;
  warmup?: number;
  /** false: eager steps even on WebGPU (default: replayed there, as training runs them). */
  replay?: boolean;
  /** After timing, each replayed step's (or draw's) dispatches timed alone on the GPU, summed by kernel (WebGPU only). */
  profile?: boolean;
  /** After timing, as many more steps with their compute passes timed on the GPU (WebGPU only). */
  timeline?: boolean;
  /** --generate: images drawn at once (default: as sample and eval draw them, drawChunk's). */
  drawChunk?: number;
}

/** Trainable parameters of each network, of D, and of all the others together (the generator's side), as the peers count them. */
export function parameterCounts(model: FamilyInstance): { byNetwork: Record<string, number>; G: number; D: number } {
  const byNetwork = Object.fromEntries(Object.entries(model.networks).map(([k, p]) => [k, p.countTrainable()]));
  const G = Object.entries(byNetwork).filter(([k]) => k !== 'D').reduce((n, [, c]) => n + c, 0);
  return { byNetwork, G, D: byNetwork.D ?? 0 };
}

/** GPU time of one replayed step by kernel: the total of its dispatches timed alone, and its kernels, most time first. */
export interface StepProfile {
  gpu_ms: number;
  kernels: { label: string; ms: number; dispatches: number }[];
}

export function summarizeProfile(times: { label: string; ns: number }[]): StepProfile {
  const by = new Map<string, { ns: number; n: number }>();
  for (const { label, ns } of times) {
    const e = by.get(label) ?? { ns: 0, n: 0 };
    e.ns += ns;
    e.n++;
    by.set(label, e);
  }
  const ms = (ns: number) => Math.round(ns / 1e3) / 1e3;
  return {
    gpu_ms: ms(times.reduce((a, t) => a + t.ns, 0)),
    kernels: [...by].sort((a, b) => b[1].ns - a[1].ns).map(([label, e]) => ({ label, ms: ms(e.ns), dispatches: e.n })),
  };
}

/**
 * Times a family's train steps as the trainer runs them (TrainSteps: on WebGPU recorded and replayed),
 * each step ending when its losses are read, its batch drawn before (data_ms). Text families pre-train
 * their caption encoder first (textSteps, not timed: the bench sets it to 1 unless the model section says
 * otherwise).
 */
export async function benchFamilyStep(o: FamilyBenchOptions): Promise<BenchResult & { host_ms: number; data_ms: number; replayed: number; dispatches: Record<string, number>; gpuKernels: string; tfjs_calls: number; refused: Record<string, string>; timeline?: StepTimeline | null; profile?: Record<string, StepProfile> }> {
  const batch = o.batch ?? 16;
  const text = o.family === 'gan-cls' || o.family === 'dfgan';
  const { model, batchAt } = familyModel(o.family, o.data ?? defaultBenchData(o.family), { ...(text ? { textSteps: 1 } : {}), ...o.model }, batch);
  const runner = new TrainSteps(model, { replay: o.replay, log: (line) => process.stderr.write(line + '\n') });
  const passedOn = gpuKernelCalls.tfjs;
  let step = 0;
  const [host, data]: number[][] = [[], []];
  // The batch is drawn before the clock starts, as the peers' batches wait on their GPU: training draws
  // the next one while the GPU runs the last step, which reading the losses every step here would not let it.
  const draw = (i: number) => {
    const t0 = performance.now();
    const b = batchAt(i);
    data.push(performance.now() - t0);
    return b;
  };
  const run = async (_: number, b: Batch) => {
    const t0 = performance.now();
    const losses = runner.run(b, { step, rng: new Rng(3, 'step', step) });
    host.push(performance.now() - t0);
    step++;
    await Promise.all(Object.values(losses).map((l) => l.data()));
    tf.dispose([b.images, b.labels ?? [], ...Object.values(losses)]);
    // GANTRY_GPU_TUNING: the first step's new products timed before the next is recorded, as in training.
    await runner.settle();
  };
  // The first steps of each kind run eagerly (a warm-up, two recordings); text families pre-train first.
  const times = await timeRuns(run, o.warmup ?? 3 + (text ? 1 : 0), o.steps ?? 10, draw);
  const params = parameterCounts(model);
  const [hostMs, dataMs] = [hostMedian(host.slice(-times.length)), hostMedian(data.slice(-times.length))];
  const result = {
    ...summarize(o.family, batch, times, params.G, params.D),
    // Each network's count, for peers that leave one out (dfgan's peer computes the fixed caption encoder's vectors without counting it).
    params: params.byNetwork,
    host_ms: hostMs,
    // The host's time to draw one batch (untimed above).
    data_ms: dataMs,
    replayed: runner.replayed, dispatches: runner.dispatches(), refused: runner.refusals(),
    gpuKernels: gpuKernelsInUse(),
    // Convolutions, products and sums gantry's WebGPU kernels passed on to tfjs's (in the steps that ran eagerly and were recorded).
    tfjs_calls: gpuKernelCalls.tfjs - passedOn,
    // GANTRY_GPU_TUNING: products timed on this GPU in this run (0 where the cache had them all).
    gemms_tuned: gemmsTuned(),
    gemm_tuning_s: gemmTuningSeconds(),
    ...(o.timeline ? { timeline: await stepTimeline(runner, times.length, (i) => run(i, draw(i))) } : {}),
    ...(o.profile ? { profile: Object.fromEntries(Object.entries(await runner.profile()).map(([kind, times]) => [kind, summarizeProfile(times)])) } : {}),
  };
  runner.dispose();
  model.dispose();
  return result;
}

/** Medians over replayed steps of their wall time (losses read) and their time on the GPU (src/gpu/pass-timeline.ts). */
export interface StepTimeline {
  steps: number;
  wall_ms: number;
  gpu_span_ms: number;
  in_passes_ms: number;
  gpu_idle_before_ms: number | null;
}

/**
 * `steps` more steps, their compute passes timed on the GPU: whether a step's wall time is the GPU's work
 * (in passes), the GPU waiting for the host's next submission inside the step (span beyond the passes), or
 * before it. Null off WebGPU or without timestamp queries.
 */
async function stepTimeline(runner: TrainSteps, steps: number, step: (i: number) => Promise<void>): Promise<StepTimeline | null> {
  if (tf.getBackend() !== 'webgpu') return null;
  const ctx = GpuContext.fromTfjs();
  const timeline = createPassTimeline(ctx.device);
  if (!timeline) return null;
  const rows: { from: number; to: number; wall: number }[] = [];
  runner.timeline = timeline;
  for (let i = 0; i < steps; i++) {
    const from = timeline.next;
    const t0 = performance.now();
    await step(i);
    rows.push({ from, to: timeline.next, wall: performance.now() - t0 });
  }
  runner.timeline = null;
  const gpu = await stepsOnGpu(ctx, timeline, rows);
  const idle = gpu.flatMap((g) => (g.idle_before_ms === null ? [] : [g.idle_before_ms]));
  return {
    steps: gpu.length, wall_ms: hostMedian(rows.slice(0, gpu.length).map((r) => r.wall)),
    gpu_span_ms: hostMedian(gpu.map((g) => g.span_ms)), in_passes_ms: hostMedian(gpu.map((g) => g.in_passes_ms)),
    gpu_idle_before_ms: idle.length ? hostMedian(idle) : null,
  };
}

/**
 * Generator inference throughput of a family: `batch` images a call (256 by default), drawn as sample and
 * eval draw them (vectorsToImages: networks in evaluation mode, replayed on WebGPU), each call timed until
 * the device is idle, as the peers' --generate times G with torch.cuda.synchronize. Conditions as a sample
 * grid's (classes i % K, the data's captions), label maps from the data.
 */
export async function benchFamilyGenerate(o: FamilyBenchOptions): Promise<BenchResult & { draw_chunk: number; tfjs_calls: number; profile?: Record<string, StepProfile> }> {
  const batch = o.batch ?? 256;
  const { model, info, batchAt } = familyModel(o.family, o.data ?? defaultBenchData(o.family), o.model ?? {}, batch);
  if (!model.generate) throw new GantryError(`--generate: ${o.family} does not generate images`);
  const run = { info, model };
  let conditions: ConditionRows;
  if (info.conditioning.kind === 'labelMap') {
    const b = batchAt(0);
    const [n, height, width] = b.images.shape;
    conditions = { kind: 'labelMap', maps: { n, height, width, labels: b.labelMaps!, instances: b.instanceMaps ?? null } };
    tf.dispose([b.images, b.labels ?? []]);
  } else conditions = await gridConditions(run, batch);
  const rng = new Rng(0, 'bench-generate');
  const pool = Array.from({ length: 4 }, () => Array.from({ length: batch }, () => rng.fillNormal(new Float32Array(info.latentDim))));
  const chunk = o.drawChunk ?? drawChunk(info);
  const passedOn = gpuKernelCalls.tfjs;
  const once = async (i: number) => {
    const images = vectorsToImages(run, pool[i % pool.length], conditions, chunk);
    if (tf.getBackend() === 'webgpu') await GpuContext.fromTfjs().idle();
    else await images.data();
    images.dispose();
  };
  if (gemmTuningEnabled()) {
    // GANTRY_GPU_TUNING: one chunk drawn and its products timed first, so that the chunks recorded next take
    // the choices (the draws of sample and eval settle between chunks alike).
    const first = Math.min(chunk, batch);
    tf.dispose(vectorsToImages(run, pool[0].slice(0, first), sliceConditions(conditions, 0, first), chunk));
    await settleGpuProducts();
  }
  const times = await timeRuns(once, o.warmup ?? 3, o.steps ?? 20);
  const params = parameterCounts(model);
  const result = {
    ...summarize(`${o.family}-generate`, batch, times, params.G, params.D),
    draw_chunk: chunk,
    tfjs_calls: gpuKernelCalls.tfjs - passedOn,
    ...(o.profile ? { profile: Object.fromEntries(Object.entries(await generationProfile(model)).map(([kind, times]) => [kind, summarizeProfile(times)])) } : {}),
  };
  model.dispose();
  return result;
}
