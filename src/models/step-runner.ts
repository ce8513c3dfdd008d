import type * as tf from '@tensorflow/tfjs-core';
import type { PassTimeline } from '../gpu/context.ts';
import { ReplayedSteps } from '../gpu/replayed-steps.ts';
import { recordingBackend, supportsRecording } from '../gpu/step-recording.ts';
import { pendingGemms, tunePendingGemms } from '../gpu/gemm-tuning.ts';
import { drawingImages, trainingStep } from '../gpu/matrix-products.ts';
import type { Batch } from '../data/batch.ts';
import { attachToModel, updateKey, type FamilyInstance, type StepContext } from './family.ts';
import { conditionTensors, type Condition } from './condition.ts';

/** Whether GANTRY_WEBGPU_EAGER=1 asks for tfjs's eager WebGPU kernels (the reference replayed steps are tested against). */
export function eagerWebGpuRequested(): boolean {
  return environment('GANTRY_WEBGPU_EAGER') === '1';
}

const node = (globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node !== undefined;
let pageReplays = false;

/** In a page, draws are replayed only where its engine asked for gantry's kernels (gantry/web's `gpuKernels`). */
export function replayDrawsInPage(on: boolean): void {
  pageReplays = on;
}

/**
 * Whether draws and repeated loop steps are recorded and replayed here: on WebGPU, in Node or in a page that
 * asked for gantry's kernels, unless GANTRY_WEBGPU_EAGER=1.
 */
function replaysOutsideTraining(): boolean {
  return (node || pageReplays) && !eagerWebGpuRequested() && supportsRecording();
}

/** An environment variable in Node; undefined in a page. */
export function environment(name: string): string | undefined {
  return (globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env[name];
}

/**
 * How a model's train steps run: as the family wrote them, or on WebGPU recorded once per kind of step
 * and replayed (src/gpu/replayed-steps.ts). Replayed steps give the same losses and weights as the eager
 * ones (test/gpu/step-recording.test.ts), without tfjs's host work per op.
 */
export class TrainSteps {
  private readonly replay: ReplayedSteps | null;
  private readonly log: ((line: string) => void) | undefined;
  private readonly afterStep: (() => void) | undefined;

  /**
   * @param options.afterStep runs at the end of every step, inside it (recorded and replayed with it): the
   *   trainer's weight average (train.ema).
   */
  constructor(private readonly model: FamilyInstance, options: { log?: (line: string) => void; replay?: boolean; afterStep?: () => void } = {}) {
    this.log = options.log;
    this.afterStep = options.afterStep;
    const replay = options.replay ?? !eagerWebGpuRequested();
    this.replay = replay && supportsRecording() ? new ReplayedSteps(options.log) : null;
  }

  run(batch: Batch, ctx: StepContext): Record<string, tf.Scalar> {
    // GANTRY_TENSOR_CORES=train: the step's products on the GPU's matrix units (operands scaled to 16 bits).
    const step = () => trainingStep(() => {
      const losses = this.model.trainStep(batch, ctx);
      this.afterStep?.();
      return losses;
    });
    if (!this.replay || this.model.replaysItself) return step();
    const key = this.model.stepKey ? this.model.stepKey(ctx) : updateKey(ctx);
    const inputs = batch.labels ? [batch.images, batch.labels] : [batch.images];
    return this.replay.run(key, [batch, ctx], inputs, step);
  }

  /**
   * GANTRY_GPU_TUNING: the products this step met for the first time timed on the GPU before the next
   * step, which may be recorded with them (settleGpuProducts). The trainer awaits it after every step.
   */
  async settle(): Promise<void> {
    // Quiet where its runner was asked to be (no log): the trainer's --quiet.
    await settleGpuProducts(this.log ?? (() => {}));
  }

  /** Steps replayed so far (0 off WebGPU). */
  get replayed(): number {
    return this.replay?.replayed ?? 0;
  }

  refusals(): Record<string, string> {
    return this.replay?.refusals() ?? {};
  }

  /** Dispatches per replayed step, by kind. */
  dispatches(): Record<string, number> {
    return this.replay?.dispatches() ?? {};
  }

  /** Replayed steps time their compute passes into this (benchmarks; null: they stop). */
  set timeline(timeline: PassTimeline | null) {
    if (this.replay) this.replay.timeline = timeline;
  }

  /** Each replayed kind's dispatches timed alone on the GPU (none off WebGPU or eager): benchmarks, after timing. */
  async profile(): Promise<Record<string, { label: string; ns: number }[]>> {
    return (await this.replay?.profile()) ?? {};
  }

  dispose(): void {
    this.replay?.dispose();
  }
}

/**
 * A loop's step that runs the same operations on the same tensors each time, but for its variables and
 * host inputs (a projection's Adam step on z): on WebGPU in Node, and in a page that asked for gantry's
 * kernels, recorded and replayed as train steps are; elsewhere, or with GANTRY_WEBGPU_EAGER=1, as written.
 */
export class RepeatedStep {
  private readonly replay: ReplayedSteps | null;
  /** Steps of every RepeatedStep disposed so far that were replays (tests, benchmarks). */
  static replayedInAll = 0;

  constructor() {
    this.replay = replaysOutsideTraining() ? new ReplayedSteps() : null;
  }

  run<T extends Record<string, tf.Tensor>>(step: () => T): T {
    return this.replay ? this.replay.run('repeated', [], [], step) : step();
  }

  /** Steps replayed so far (0 off WebGPU). */
  get replayed(): number {
    return this.replay?.replayed ?? 0;
  }

  dispose(): void {
    RepeatedStep.replayedInAll += this.replayed;
    this.replay?.dispose();
  }
}

/**
 * GANTRY_GPU_TUNING (src/gpu/gemm-tuning.ts): times the matrix products that steps or draws since the last
 * call met for the first time, so that a step or draw recorded next takes the measured choices. Awaited
 * between train steps and between draws; nothing to do elsewhere, or without tuning.
 */
export async function settleGpuProducts(log?: (line: string) => void): Promise<void> {
  if (pendingGemms() === 0) return;
  const backend = recordingBackend();
  const stderr = (globalThis as { process?: { stderr?: { write(s: string): void } } }).process?.stderr;
  if (backend) await tunePendingGemms(backend.device, log ?? ((line) => stderr?.write(line + '\n')));
}


const generators = new WeakMap<FamilyInstance, ReplayedSteps>();

/**
 * Draw recordings a generator holds at once, each pinning one batch size's buffers: FID and sample draw
 * 64 at a time (and a last smaller batch), a page its grid, its editor's one image and its strips.
 */
const GENERATOR_RECORDINGS = 4;

/** How many of a model's generate calls were replays (tests, benchmarks). */
export function replayedGenerations(model: FamilyInstance): number {
  return generators.get(model)?.replayed ?? 0;
}

/** Each replayed draw's dispatches timed alone on the GPU (benchmarks, after timing), by batch shape. */
export async function generationProfile(model: FamilyInstance): Promise<Record<string, { label: string; ns: number }[]>> {
  return (await generators.get(model)?.profile()) ?? {};
}

/**
 * model.generate(z, condition); on WebGPU in Node (and in a page that asked for gantry's kernels) recorded
 * and replayed per batch shape as train steps are (an FID's thousands of images go 64 at a time), the
 * recordings living as long as the model, at most GENERATOR_RECORDINGS at once.
 */
export function generateImages(model: FamilyInstance, z: tf.Tensor2D, condition: Condition): tf.Tensor4D {
  // GANTRY_TENSOR_CORES: a draw's products on the GPU's matrix units (16-bit inputs).
  const generate = () => drawingImages(() => ({ images: model.generate!(z, condition) }));
  if (model.replaysItself || !replaysOutsideTraining()) return generate().images;
  let replay = generators.get(model);
  if (!replay) {
    generators.set(model, (replay = new ReplayedSteps(undefined, GENERATOR_RECORDINGS)));
    attachToModel(model, replay);
  }
  return replay.run('generate', [], [z, ...conditionTensors(condition)], generate).images;
}
