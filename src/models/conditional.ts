import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { Rng } from '../engine/rng.ts';
import { GantryError } from '../errors.ts';
import { Linear } from '../nn/layers.ts';
import type { ParamSet } from '../nn/params.ts';
import { Adam } from '../train/adam.ts';
import { DcganGenerator, dcganFamily, dcganSchema, sampleLatent, type DcganConfig } from './dcgan.ts';
import { disposeModel, type Batch, type DataShape, type FamilyInstance, type StepContext } from './family.ts';

/**
 * What the class-conditional GANs (cgan, acgan) share: DCGAN's networks, a config section with the
 * number of classes, and a generator that reads a class embedding beside z.
 *
 * Classes enter as *class weights* [n, K]: one-hot rows for a class, mixtures for class interpolation.
 * An embedding table applied to weights is a matrix product, so interpolating weights interpolates the
 * embeddings (and the gradient is a matmul too, not a scatter).
 */
export const conditionalSchema = dcganSchema.extend({
  /** 0 = take from the data. */
  numClasses: z.number().int().min(0).default(0),
  /**
   * How G reads the class: "multiply" scales z element-wise by the class's learned embedding (size nz);
   * "concat" appends an embedding of size embedDim to z. Measured on MNIST (ngf = ndf = 32, batch 64),
   * "concat" made the generator ignore z within 150 steps (each class one image), "multiply" did not.
   */
  conditioning: z.enum(['multiply', 'concat']).default('multiply'),
  /** Size of the appended embedding when conditioning is "concat". */
  embedDim: z.number().int().positive().default(32),
  /** Filled from the data: lets `gantry sample --class circle` name a class. */
  classNames: z.array(z.string()).default([]),
});

export type ConditionalConfig = z.infer<typeof conditionalSchema>;

/** One-hot class weights [n, K] of integer labels. */
export function classWeights(labels: tf.Tensor1D, numClasses: number): tf.Tensor2D {
  return tf.tidy(() => tf.cast(tf.oneHot(tf.cast(labels, 'int32') as tf.Tensor1D, numClasses), 'float32') as tf.Tensor2D);
}

/** Class (first + i) % K for image i: a balanced set of classes for sample grids and FID (in chunks from `first`). */
export function balancedClassWeights(n: number, numClasses: number, first = 0): tf.Tensor2D {
  return tf.tidy(() => classWeights(tf.tensor1d(Int32Array.from({ length: n }, (_, i) => (first + i) % numClasses), 'int32'), numClasses));
}

/** n classes drawn uniformly from the stream (the classes of a step's fake images). */
export function randomLabels(rng: Rng, n: number, numClasses: number): tf.Tensor1D {
  return tf.tensor1d(Int32Array.from({ length: n }, () => rng.int(numClasses)), 'int32');
}

/**
 * DCGAN's generator fed z ⊙ (classWeights · E), E [K, nz] (conditioning "multiply"), or
 * [z, classWeights · E], E [K, embedDim] ("concat"); E is learned, initialised from N(0, 1) like z.
 */
export class ConditionalGenerator {
  readonly net: DcganGenerator;
  readonly params: ParamSet;
  private readonly embedding: Linear;

  constructor(readonly config: ConditionalConfig, rng: Rng) {
    const concat = config.conditioning === 'concat';
    this.net = new DcganGenerator({ ...dcganPart(config), nz: concat ? config.nz + config.embedDim : config.nz }, rng);
    this.params = this.net.params;
    const width = concat ? config.embedDim : config.nz;
    this.embedding = new Linear(this.params, 'embed', { inFeatures: config.numClasses, outFeatures: width, bias: false, init: { kind: 'normal', std: 1 } }, rng);
  }

  /** z [n, nz], class weights [n, K] -> images [n, size, size, channels] in [-1, 1]. */
  apply(z: tf.Tensor2D, weights: tf.Tensor2D, training: boolean): tf.Tensor4D {
    const e = this.embedding.apply(weights); // [n, nz] or [n, embedDim]
    const input = this.config.conditioning === 'concat' ? tf.concat([z, e], 1) : tf.mul(z, e);
    return this.net.apply(input as tf.Tensor2D, training);
  }
}

/** The DCGAN fields of a conditional config (the DCGAN networks' schema is strict about extras). */
export function dcganPart(config: ConditionalConfig): DcganConfig {
  const { numClasses: _k, conditioning: _c, embedDim: _e, classNames: _n, ...rest } = config;
  return rest;
}

/** Shared `resolve`: channels and classes from the data; labelled data is required. */
export function resolveConditional<C extends ConditionalConfig>(family: string, config: C, data: DataShape): C {
  if (data.numClasses < 2) {
    throw new GantryError(`${family}: the data has no class labels; use labelled data (mnist, shapes, cifar10, a folder with one sub-folder per class)`);
  }
  if (config.numClasses && config.numClasses !== data.numClasses) {
    throw new GantryError(`${family}: model.numClasses is ${config.numClasses} but the data has ${data.numClasses} classes; leave it out (0) to take it from the data`);
  }
  const { channels } = dcganFamily.resolve(config, data); // channels from the data; checks the image size
  return { ...config, channels, numClasses: data.numClasses, classNames: data.classNames ?? [] };
}

/** Checks user-given class weights against the model. */
export function checkClassWeights(weights: tf.Tensor2D, n: number, numClasses: number): void {
  if (weights.shape[0] !== n || weights.shape[1] !== numClasses) {
    throw new GantryError(`class weights must be [${n}, ${numClasses}], got [${weights.shape.join(', ')}]`);
  }
}

/** The part of a conditional GAN that differs between cgan and acgan: the discriminator and its losses. */
export interface ConditionalCritic {
  readonly params: ParamSet;
  /**
   * D's loss on a real batch and a fake one, each with its class weights and integer labels; `lossD` is
   * minimised, other entries are reported. Runs on D's own tape: nothing here reaches G's gradient.
   */
  lossD(real: LabelledImages, fake: LabelledImages): { lossD: tf.Scalar } & Record<string, tf.Scalar>;
  /** G's loss on its fake batch, through the (updated) discriminator. */
  lossG(fake: LabelledImages): tf.Scalar;
}

export interface LabelledImages {
  images: tf.Tensor4D;
  weights: tf.Tensor2D;
  labels: tf.Tensor1D;
}

/** A conditional GAN: the shared generator and train step around a family's critic (cgan, acgan). */
export class ConditionalGan<D extends ConditionalCritic> implements FamilyInstance {
  readonly G: ConditionalGenerator;
  readonly critic: D;
  readonly networks: Record<string, ParamSet>;
  readonly optimizers: Record<string, Adam>;
  readonly latentDim: number;
  readonly numClasses: number;
  readonly classNames: string[];

  constructor(readonly config: ConditionalConfig, seed: number, makeCritic: (rng: Rng) => D) {
    this.G = new ConditionalGenerator(config, new Rng(seed, 'init', 'G'));
    this.critic = makeCritic(new Rng(seed, 'init', 'D'));
    this.networks = { G: this.G.params, D: this.critic.params };
    const adam = { lr: config.lr, beta1: config.beta1, beta2: config.beta2 };
    this.optimizers = { G: new Adam(this.G.params.trainable(), adam), D: new Adam(this.critic.params.trainable(), adam) };
    this.latentDim = config.nz;
    this.numClasses = config.numClasses;
    this.classNames = config.classNames;
  }

  /** One step, as DCGAN's: D on real and detached fake, then G through the updated D, one G forward. */
  trainStep(batch: Batch, ctx: StepContext): Record<string, tf.Scalar> {
    if (!batch.labels) throw new GantryError('a class-conditional GAN needs labelled batches');
    const { nz, numClasses } = this.config;
    const n = batch.images.shape[0];
    const z = sampleLatent(ctx.rng, n, nz);
    const fakeLabels = randomLabels(ctx.rng, n, numClasses);
    const realWeights = classWeights(batch.labels, numClasses);
    const fakeWeights = classWeights(fakeLabels, numClasses);
    let reported: Record<string, tf.Scalar> = {};
    const { value: lossG, grads: gradsG } = tf.variableGrads(() => {
      const fake = { images: this.G.apply(z, fakeWeights, true), weights: fakeWeights, labels: fakeLabels };
      const real = { images: batch.images, weights: realWeights, labels: batch.labels! };
      const { value, grads } = tf.variableGrads(() => {
        const losses = this.critic.lossD(real, fake);
        for (const [name, t] of Object.entries(losses)) if (name !== 'lossD') reported[name] = tf.keep(t);
        return losses.lossD;
      }, this.critic.params.trainable());
      this.optimizers.D.apply(grads);
      tf.dispose(grads);
      reported = { lossD: tf.keep(value), ...reported };
      return this.critic.lossG(fake);
    }, this.G.params.trainable());
    this.optimizers.G.apply(gradsG);
    tf.dispose([gradsG as unknown as tf.Tensor[], z, fakeLabels, realWeights, fakeWeights].flat());
    return { ...reported, lossG };
  }

  /** Images of the given classes (balanced when none are given), generator in evaluation mode. */
  generate(z: tf.Tensor2D, classes?: tf.Tensor2D): tf.Tensor4D {
    const n = z.shape[0];
    if (classes) checkClassWeights(classes, n, this.numClasses);
    return tf.tidy(() => this.G.apply(z, classes ?? balancedClassWeights(n, this.numClasses), false));
  }

  dispose(): void {
    disposeModel(this);
  }
}
