import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { Rng } from '../engine/rng.ts';
import { GantryError } from '../errors.ts';
import { Linear } from '../nn/layers.ts';
import type { ParamSet } from '../nn/params.ts';
import { stepLatent } from '../nn/noise.ts';
import { hostInput } from '../engine/host-input.ts';
import { Adam } from '../optim/adam.ts';
import type { Batch, DataShape } from '../data/batch.ts';
import { expectCondition, requireClasses, type Condition, type ModelInfo } from './condition.ts';
import { checkLossFields, DcganGenerator, dcganFamily, dcganSchema, dcganShape, describeImageModel, everyStepR1, ganOptimizers, lazyR1StepKey, type DcganConfig } from './dcgan.ts';
import { disposeModel, type FamilyInstance, type StepContext } from './family.ts';
import { alternatingStep } from './gan-step.ts';
import { diffAugment } from '../nn/diff-augment.ts';
import { gradientPenaltyWeight, interpolate, isLazyR1Step, lazyR1, mixingWeights, withGradientPenalty, withR1 } from '../losses/penalties.ts';
import type { DiscriminatorLosses } from '../losses/adversarial.ts';

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

/** n classes drawn uniformly from the step's stream (the classes of its fake images), a host input. */
export function stepLabels(ctx: StepContext, n: number, numClasses: number): tf.Tensor1D {
  return hostInput(ctx, (c) => Int32Array.from({ length: n }, () => c.rng.int(numClasses)), [n], 'int32') as tf.Tensor1D;
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
    this.net = new DcganGenerator(dcganShape({ ...dcganPart(config), nz: concat ? config.nz + config.embedDim : config.nz }), rng);
    this.params = this.net.params;
    const width = concat ? config.embedDim : config.nz;
    this.embedding = new Linear(this.params, 'embed', { inFeatures: config.numClasses, outFeatures: width, bias: false, init: { kind: 'normal', std: 1 } }, rng);
  }

  /** z [n, nz], class weights [n, K] -> images [n, H, W, channels] in [-1, 1]. */
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
  requireClasses(family, data, 'dcgan');
  if (config.numClasses && config.numClasses !== data.numClasses) {
    throw new GantryError(`${family}: model.numClasses is ${config.numClasses} but the data has ${data.numClasses} classes; leave it out (0) to take it from the data`);
  }
  checkLossFields(family, config);
  const { channels } = dcganFamily.resolve(config, data); // channels from the data; checks the image size
  return { ...config, channels, numClasses: data.numClasses, classNames: data.classNames ?? [] };
}

/** The description of a class-conditional model (cgan, acgan). */
export function describeConditional(family: string, config: ConditionalConfig): ModelInfo {
  return describeImageModel(family, config, config.nz, { kind: 'class', numClasses: config.numClasses, classNames: config.classNames });
}

/** D's outputs for a batch: the real/fake logits [n], and whatever else the family's losses read (acgan's class logits). */
export type CriticOutputs = { source: tf.Tensor1D } & Record<string, tf.Tensor>;

/** The part of a conditional GAN that differs between cgan and acgan: the discriminator and its losses. */
export interface ConditionalCritic<O extends CriticOutputs = CriticOutputs> {
  readonly params: ParamSet;
  /** D's pass over a batch in training mode. */
  forward(x: LabelledImages): O;
  /**
   * D's loss from its outputs on a real batch and a fake one (with their class weights and integer labels);
   * `lossD` is minimised, other entries are reported. Runs on D's own tape: nothing here reaches G's gradient.
   */
  lossD(real: O, fake: O, batches: { real: LabelledImages; fake: LabelledImages }): DiscriminatorLosses;
  /** G's loss from the (updated) discriminator's outputs on its fake batch. */
  lossG(fake: O, batch: LabelledImages): tf.Scalar;
}

export interface LabelledImages {
  images: tf.Tensor4D;
  weights: tf.Tensor2D;
  labels: tf.Tensor1D;
}

/** A conditional GAN: the shared generator and train step around a family's critic (cgan, acgan), whose pass gives O. */
export class ConditionalGan<O extends CriticOutputs, D extends ConditionalCritic<O>> implements FamilyInstance {
  readonly G: ConditionalGenerator;
  readonly critic: D;
  readonly networks: Record<string, ParamSet>;
  readonly optimizers: Record<string, Adam>;
  readonly info: ModelInfo;

  constructor(family: string, readonly config: ConditionalConfig, seed: number, makeCritic: (rng: Rng) => D) {
    this.G = new ConditionalGenerator(config, new Rng(seed, 'init', 'G'));
    this.critic = makeCritic(new Rng(seed, 'init', 'D'));
    this.networks = { G: this.G.params, D: this.critic.params };
    this.optimizers = ganOptimizers(config, this.G.params, this.critic.params);
    this.info = describeConditional(family, config);
  }

  /** One step, as DCGAN's: D on real and detached fake, then G through the updated D, one G forward. */
  trainStep(batch: Batch, ctx: StepContext): Record<string, tf.Scalar> {
    if (!batch.labels) throw new GantryError('a class-conditional GAN needs labelled batches');
    const { nz, numClasses } = this.config;
    const n = batch.images.shape[0];
    const z = stepLatent(ctx, n, nz);
    const fakeLabels = stepLabels(ctx, n, numClasses);
    const realWeights = classWeights(batch.labels, numClasses);
    const fakeWeights = classWeights(fakeLabels, numClasses);
    const real = { images: batch.images, weights: realWeights, labels: batch.labels };
    // model.augment: D sees every image, real or generated, augmented (the labels stay).
    const judge = (x: LabelledImages) => this.critic.forward({ ...x, images: diffAugment(x.images, this.config.augment, ctx) });
    const gp = gradientPenaltyWeight(this.config);
    const losses = alternatingStep({ params: this.G.params, optimizer: this.optimizers.G }, { params: this.critic.params, optimizer: this.optimizers.D }, {
      updateG: ctx.updateG,
      fake: () => ({ images: this.G.apply(z, fakeWeights, true), weights: fakeWeights, labels: fakeLabels }),
      // model.r1: the penalty's gradient is taken with respect to the real images before augmentation.
      lossD: (fake) => {
        const terms = withR1(real.images, everyStepR1(this.config), (images) => judge({ ...real, images }), (outputs) => this.critic.lossD(outputs, judge(fake), { real, fake }));
        if (!gp) return terms;
        // WGAN-GP's interpolates mix their class weights as they mix their images (the projection D reads them; acgan's does not).
        const eps = mixingWeights(ctx, n);
        const mixed = { images: interpolate(real.images, fake.images, eps), weights: interpolate(real.weights, fake.weights, tf.reshape(eps, [n, 1])), labels: real.labels };
        return withGradientPenalty(terms, mixed.images, gp, (images) => judge({ ...mixed, images }).source);
      },
      lossG: (fake) => this.critic.lossG(judge(fake), fake),
      regularizeD: isLazyR1Step(this.config, ctx.step) ? () => lazyR1(real.images, this.config.r1, this.config.r1Every, (images) => judge({ ...real, images }).source) : undefined,
    });
    tf.dispose([z, fakeLabels, realWeights, fakeWeights]);
    return losses;
  }

  stepKey(ctx: StepContext): string {
    return lazyR1StepKey(this.config, ctx);
  }

  /** Images of the condition's classes (class weights [n, K]), generator in evaluation mode. */
  generate(z: tf.Tensor2D, condition: Condition): tf.Tensor4D {
    const weights = expectCondition(this.info, condition, 'class', z.shape[0]);
    return tf.tidy(() => this.G.apply(z, weights, false));
  }

  dispose(): void {
    disposeModel(this);
  }
}
