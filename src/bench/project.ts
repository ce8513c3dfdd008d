import * as tf from '@tensorflow/tfjs-core';
import { conditionChoices } from '../explore/conditions.ts';
import { checkProjectable, projectImages, projectionSettings, SQUARED_ERROR } from '../explore/project.ts';
import { GantryError } from '../errors.ts';
import { GpuContext } from '../gpu/context.ts';
import { RepeatedStep } from '../models/step-runner.ts';
import { defaultBenchData, familyModel, parameterCounts } from './family-step.ts';
import { summarize, type BenchResult } from './dcgan-step.ts';

export interface ProjectBenchOptions {
  family: string;
  data?: string;
  model?: Record<string, unknown>;
  /** Images projected at once (the data's first). */
  images?: number;
  /** Vectors optimised for each image. */
  starts?: number;
  /** Adam steps timed. */
  steps?: number;
  /** Steps before them, untimed (default 20; on WebGPU the first three are eager and recorded). */
  warmup?: number;
}

/**
 * Projection's speed (`gantry project`, squared error): one projection of `images` of the data's images
 * with `starts` vectors each, every step timed until the device is idle (as the peer
 * `bench/generator_torch.py --project N` times its step). `median_ms` is the median of the steps after
 * `warmup`; `batch` the vectors a step optimises; `projection_ms` a whole projection of the images at gantry
 * project's default 300 steps (the pool and the final scoring, timed, and 300 median steps); `replayed`, how
 * many steps were replays (WebGPU).
 */
export async function benchProject(o: ProjectBenchOptions): Promise<BenchResult & { images: number; starts: number; projection_ms: number; replayed: number }> {
  const images = o.images ?? 4;
  const starts = o.starts ?? 8;
  const steps = o.steps ?? 20;
  // The first steps on the CPU fill the recycled arrays and run slower than later ones.
  const warmup = Math.max(1, o.warmup ?? 20);
  if (steps < 1) throw new GantryError('--steps: give at least 1 step to time');
  const { model, info, batchAt } = familyModel(o.family, o.data ?? defaultBenchData(o.family), o.model ?? {}, images);
  const run = { info, model };
  const batch = batchAt(0);
  const targets = batch.images;
  tf.dispose(batch.labels ?? []);
  try {
    checkProjectable(run);
    // One optimisation for all the images: a second would choose its starts between two timed steps.
    const fit = Math.floor(SQUARED_ERROR.pairsAtOnce(info.height, info.width) / starts);
    if (images > fit) throw new GantryError(`--images: ${images} images of ${info.width}x${info.height} with ${starts} starts each are more than one optimisation holds; give at most ${fit}`);
    const choices = await conditionChoices(run, {});
    const settings = projectionSettings({ steps: warmup + steps, starts, pool: Math.max(starts, 64) });
    const idle = tf.getBackend() === 'webgpu' ? () => GpuContext.fromTfjs().idle() : async () => {};
    const replayedBefore = RepeatedStep.replayedInAll;
    // The end of each step, the device idle.
    const ends: number[] = [];
    const started = performance.now();
    await projectImages(run, targets, choices, settings, {
      progress: async () => {
        await idle();
        ends.push(performance.now());
      },
    });
    const total = performance.now() - started;
    const times = ends.slice(warmup).map((t, i) => t - ends[warmup - 1 + i]);
    const result = summarize(`${o.family}-project`, images * starts, times, parameterCounts(model).G, 0);
    // What is not a step: choosing the starts before the first, and scoring after the last.
    const fixed = total - (ends[ends.length - 1] - ends[0]) - result.median_ms;
    return { ...result, images, starts, projection_ms: Math.round(fixed + 300 * result.median_ms), replayed: RepeatedStep.replayedInAll - replayedBefore };
  } finally {
    targets.dispose();
    model.dispose();
  }
}
