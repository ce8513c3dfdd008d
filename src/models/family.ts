import type * as tf from '@tensorflow/tfjs-core';
import type { z } from 'zod';
import type { Rng } from '../engine/rng.ts';
import type { ParamSet } from '../nn/params.ts';
import type { Adam } from '../optim/adam.ts';
import type { Batch, DataShape } from '../data/batch.ts';
import type { ImageDataset } from '../data/dataset.ts';
import type { Condition, ModelInfo } from './condition.ts';

export interface StepContext {
  step: number;
  /** This step's own random stream (noise, mismatched pairs, ...). */
  rng: Rng;
  /**
   * GANs: whether this step also updates the generator (false on the extra D steps of train.dSteps > 1;
   * absent: true). Families without an adversarial game ignore it.
   */
  updateG?: boolean;
}

/** A built model of one family: its networks, their optimizers and its train step. */
export interface FamilyInstance {
  /** Every network's tensors by network name ("G", "D", ...); checkpoints store them all. */
  readonly networks: Record<string, ParamSet>;
  readonly optimizers: Record<string, Adam>;
  /**
   * One optimisation step. Returns named scalar losses, which the caller disposes. Host data it feeds the
   * device that changes between steps (noise, sampled labels, label maps) goes through `hostInput`, drawn
   * from `batch` or `ctx`, so that the step can be recorded and replayed on WebGPU (step-runner.ts).
   */
  trainStep(batch: Batch, ctx: StepContext): Record<string, tf.Scalar>;
  /** Families that replay their own WebGPU steps and generator (DCGAN's hand-built ones): the generic recording leaves them alone. */
  readonly replaysItself?: boolean;
  /**
   * Which kind of step `ctx` is, for a replayed WebGPU step: steps of one key run the same operations
   * (the same networks trained) on inputs of the same shapes; null: run this step as written. Absent: the
   * key is whether G is updated.
   */
  stepKey?(ctx: StepContext): string | null;
  /**
   * Images in [-1, 1] from latent vectors [n, latentDim] and the condition of each image (ModelInfo's
   * conditioning says which kind), networks in evaluation mode (generative families).
   */
  generate?(z: tf.Tensor2D, condition: Condition): tf.Tensor4D;
  /** Text-conditional families: sentence vectors [n, d] of captions (a `text` condition). */
  encodeText?(captions: string[]): tf.Tensor2D;
  /**
   * Families with an image encoder: latent vectors [n, latentDim] that reproduce images (z from x): gan-cls's
   * style encoder (the style, drawn with any caption), the vae's and vae-gan's posterior mean (the image).
   */
  inferLatent?(images: tf.Tensor4D): tf.Tensor2D;
  /**
   * Label-map families with a feature encoder (pix2pixHD's E): per-pixel features [n, H, W, featNum] of
   * images [n, H, W, 3] in [-1, 1], each instance of `instances` [n, H, W] at its mean.
   */
  encodeFeatures?(images: tf.Tensor4D, instances: tf.Tensor3D): tf.Tensor4D;
  /** Segmentation families: label ids [n, H, W] of images [n, H, W, 3] in [-1, 1]. */
  segment?(images: tf.Tensor4D): tf.Tensor3D;
  /** Families that sample from real images (U-Net skips) are handed a batch of them first. */
  useReferenceImages?(images: tf.Tensor4D): void;
  /** Inputs (in [-1, 1]) passed through the model and back, for auto-encoders. */
  reconstruct?(images: tf.Tensor4D): tf.Tensor4D;
  /**
   * Families whose train step keeps the current weights on the device (DCGAN's WebGPU step) write them
   * back into their tfjs variables here; checkpoints call it before reading the variables.
   */
  syncVariables?(): void;
  /** Scores on held-out data (families that declare a holdout), logged at checkpoints. */
  evaluate?(data: ImageDataset): Promise<Record<string, number>>;
  dispose(): void;
}

/** The step key of a family whose steps differ only in whether G is updated (train.dSteps > 1): stepKey's default. */
export function updateKey(ctx: StepContext): string {
  return ctx.updateG === false ? 'D only' : 'every network';
}

const attached = new WeakMap<object, { dispose(): void }[]>();

/** Ties something to a model's life (a recording of its generator): disposeModel frees it too. */
export function attachToModel(model: object, resource: { dispose(): void }): void {
  attached.set(model, [...(attached.get(model) ?? []), resource]);
}

/** Frees every network's tensors and every optimizer's moments of a model, and what is attached to it. */
export function disposeModel(model: Pick<FamilyInstance, 'networks' | 'optimizers'>): void {
  for (const resource of attached.get(model) ?? []) resource.dispose();
  attached.delete(model);
  for (const params of Object.values(model.networks)) params.dispose();
  for (const optimizer of Object.values(model.optimizers)) optimizer.dispose();
}

export interface Family<C> {
  readonly name: string;
  readonly description: string;
  /** Zod schema of the family's `model` config section (strict: unknown keys are errors). */
  readonly schema: z.ZodType<C>;
  /** Fills what the config leaves to the data (channels, image size) and checks that they fit. */
  resolve(config: C, data: DataShape): C;
  /** Fields of the model section a resumed run may change (learning rates, Adam betas, R1's gamma); the rest is its identity. */
  readonly resumable: readonly string[];
  /** The typed description of a model of this config (before resolve: channels may still be 0). */
  describe(config: C): ModelInfo;
  /**
   * Lines a new run prints once about what the resolved config leaves out (a loss without its weights, ...);
   * `requested` is the section as the user gave it (defaults filled), so a part they turned off is not reported.
   */
  notices?(config: C, data: DataShape, requested: C): string[];
  create(config: C, seed: number, options?: ModelOptions): FamilyInstance;
}

/** How the trainer will use a model, where that changes how the family builds it. */
export interface ModelOptions {
  /**
   * The trainer averages the weights after every step (train.ema, optim/weight-average.ts), which must
   * read them in tfjs's variables: DCGAN's hand-built WebGPU step, which keeps its own, is not used.
   */
  weightsAveraged?: boolean;
}
