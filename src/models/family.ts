import type * as tf from '@tensorflow/tfjs-core';
import type { z } from 'zod';
import type { Rng } from '../engine/rng.ts';
import type { ParamSet } from '../nn/params.ts';
import type { Adam } from '../train/adam.ts';
import type { ImageDataset } from '../data/dataset.ts';

/** One training batch: images in [-1, 1], NHWC; labels where the data has classes; one caption an image where it has text. */
export interface Batch {
  images: tf.Tensor4D;
  labels?: tf.Tensor1D;
  captions?: string[];
}

export interface StepContext {
  step: number;
  /** This step's own random stream (noise, mismatched pairs, ...). */
  rng: Rng;
}

/** What the data looks like, for a family to size its networks. */
export interface DataShape {
  height: number;
  width: number;
  channels: number;
  numClasses: number;
  /** The classes' names, where the data has them (folder names, "circle", ...). */
  classNames?: string[];
  /** Every image's captions, where the data has text (text-conditional families build their vocabulary from them). */
  captions?: string[][];
}

/** A built model of one family: its networks, their optimizers and its train step. */
export interface FamilyInstance {
  /** Every network's tensors by network name ("G", "D", ...); checkpoints store them all. */
  readonly networks: Record<string, ParamSet>;
  readonly optimizers: Record<string, Adam>;
  readonly latentDim: number;
  /** One optimisation step. Returns named scalar losses, which the caller disposes. */
  trainStep(batch: Batch, ctx: StepContext): Record<string, tf.Scalar>;
  /** Class-conditional families: how many classes `generate` takes. */
  readonly numClasses?: number;
  /** Their names, for `--class NAME` (empty where the data had none). */
  readonly classNames?: string[];
  /**
   * Images in [-1, 1] from latent vectors [n, latentDim], networks in evaluation mode (generative
   * families). Conditional families also take class weights [n, numClasses] (one-hot, or mixtures to
   * interpolate between classes); without them image i is of class i % numClasses.
   */
  generate?(z: tf.Tensor2D, classes?: tf.Tensor2D): tf.Tensor4D;
  /**
   * Text-conditional families: sentence vectors [n, d] of captions, which `generate` takes in place of
   * class weights (and which may be interpolated, as class weights are).
   */
  encodeText?(captions: string[]): tf.Tensor2D;
  /** Families with a style encoder: latent vectors [n, latentDim] that reproduce images' style (z from x). */
  inferLatent?(images: tf.Tensor4D): tf.Tensor2D;
  /** Columns of the training sample grids (one a class or caption); default numClasses. */
  readonly gridColumns?: number;
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

/** Frees every network's tensors and every optimizer's moments of a model. */
export function disposeModel(model: Pick<FamilyInstance, 'networks' | 'optimizers'>): void {
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
  create(config: C, seed: number): FamilyInstance;
}
