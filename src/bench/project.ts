import * as tf from '@tensorflow/tfjs-core';
import { conditionChoices } from '../explore/conditions.ts';
import { checkProjectable, projectImages, projectionSettings } from '../explore/project.ts';
import { GantryError } from '../errors.ts';
import { defaultBenchData, familyModel, parameterCounts } from './family-step.ts';
import { summarize, type BenchResult } from './dcgan-step.ts';
import { RepeatedStep } from '../models/step-runner.ts';

export interface ProjectBenchOptions {
  family: string;
  data?: string;
  model?: Record<string, unknown>;
  /** Images projected at once (the data's first). */
  images?: number;
  /** Vectors optimised for each image. */
  starts?: number;
  /** Adam steps timed in each round. */
  steps?: number;
  /** Steps before them, whose time is taken off. */
  warmup?: number;
  /** Rounds: the median's. */
  rounds?: number;
}

/**
 * Projection's speed (`gantry project`, squared error): the time of one Adam step on every image's starts at
 * once, as the peer `bench/generator_torch.py --project N` times its step. A projection of warmup + steps
 * steps and one of warmup steps are timed whole (each ends reading its vectors back, so the device is idle
 * on WebGPU too), and their difference is divided by steps: what the pool, the starts and the final scoring
 * cost is taken off. The median of the rounds' step times is `median_ms`; `batch` is the vectors a step
 * optimises; `projection_ms` is one whole projection of the images at gantry project's default 300 steps,
 * estimated from the two; `replayed`, how many of all the steps were replays (WebGPU).
 */
export async function benchProject(o: ProjectBenchOptions): Promise<BenchResult & { images: number; starts: number; projection_ms: number; replayed: number }> {
  const images = o.images ?? 4;
  const starts = o.starts ?? 8;
  const steps = o.steps ?? 20;
  const warmup = o.warmup ?? 5;
  const rounds = o.rounds ?? 3;
  if (steps < 1) throw new GantryError('--steps: give at least 1 step to time');
  const { model, info, batchAt } = familyModel(o.family, o.data ?? defaultBenchData(o.family), o.model ?? {}, images);
  const run = { info, model };
  const batch = batchAt(0);
  const targets = batch.images as tf.Tensor4D;
  tf.dispose(batch.labels ?? []);
  try {
    checkProjectable(run);
    const choices = await conditionChoices(run, {});
    const settings = (n: number) => projectionSettings({ steps: n, starts, pool: Math.max(starts, 64) });
    const project = async (n: number) => {
      const t0 = performance.now();
      await projectImages(run, targets, choices, settings(n));
      return performance.now() - t0;
    };
    const replayedBefore = RepeatedStep.replayedInAll;
    await project(warmup);
    const stepTimes: number[] = [];
    const startTimes: number[] = [];
    for (let r = 0; r < rounds; r++) {
      const short = await project(warmup);
      const long = await project(warmup + steps);
      stepTimes.push((long - short) / steps);
      startTimes.push(short - warmup * (long - short) / steps);
    }
    const result = summarize(`${o.family}-project`, images * starts, stepTimes, parameterCounts(model).G, 0);
    const fixed = [...startTimes].sort((a, b) => a - b)[Math.floor(rounds / 2)];
    return { ...result, images, starts, projection_ms: Math.round(fixed + 300 * result.median_ms), replayed: RepeatedStep.replayedInAll - replayedBefore };
  } finally {
    targets.dispose();
    model.dispose();
  }
}
