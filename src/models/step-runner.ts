import type * as tf from '@tensorflow/tfjs-core';
import { ReplayedSteps } from '../gpu/replayed-steps.ts';
import { supportsRecording } from '../gpu/step-recording.ts';
import type { Batch } from '../data/batch.ts';
import type { FamilyInstance, StepContext } from './family.ts';

/** Whether GANTRY_WEBGPU_EAGER=1 asks for tfjs's eager WebGPU kernels (the reference replayed steps are tested against). */
export function eagerWebGpuRequested(): boolean {
  return (globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env.GANTRY_WEBGPU_EAGER === '1';
}

/**
 * How a model's train steps run: as the family wrote them, or on WebGPU recorded once per kind of step
 * and replayed (src/gpu/replayed-steps.ts). Replayed steps give the same losses and weights as the eager
 * ones (test/gpu/step-recording.test.ts), without tfjs's host work per op.
 */
export class TrainSteps {
  private readonly replay: ReplayedSteps | null;

  constructor(private readonly model: FamilyInstance, options: { log?: (line: string) => void; replay?: boolean } = {}) {
    const replay = options.replay ?? !eagerWebGpuRequested();
    this.replay = replay && supportsRecording() ? new ReplayedSteps(options.log) : null;
  }

  run(batch: Batch, ctx: StepContext): Record<string, tf.Scalar> {
    const step = () => this.model.trainStep(batch, ctx);
    if (!this.replay) return step();
    const key = this.model.stepKey ? this.model.stepKey(ctx) : ctx.updateG === false ? 'D' : 'D and G';
    const inputs = batch.labels ? [batch.images, batch.labels] : [batch.images];
    return this.replay.run(key, [batch, ctx], inputs, step);
  }

  /** Steps replayed so far (0 off WebGPU). */
  get replayed(): number {
    return this.replay?.replayed ?? 0;
  }

  refusals(): Record<string, string> {
    return this.replay?.refusals() ?? {};
  }

  dispose(): void {
    this.replay?.dispose();
  }
}
