import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { Rng } from '../engine/rng.ts';
import { adversarialLossD, adversarialLossG } from '../losses/adversarial.ts';
import { Linear } from '../nn/layers.ts';
import type { ParamSet } from '../nn/params.ts';
import { DcganDiscriminator, dcganShape, discriminatorOptions } from './dcgan.ts';
import {
  ConditionalGan, conditionalSchema, dcganPart, describeConditional, resolveConditional,
  type ConditionalCritic, type CriticOutputs, type LabelledImages,
} from './conditional.ts';
import type { Family } from './family.ts';

/**
 * Class-conditional DCGAN with a projection discriminator (Miyato & Koyama 2018): D(x, y) =
 * ψ(φ(x)) + <embed(y), φ(x)>, where φ(x) is D's last feature map summed over its 4x4 positions (the paper's
 * global sum pooling) and
 * ψ is DCGAN's final 4x4 convolution. The generator reads a learned class embedding beside z.
 */
export const cganSchema = conditionalSchema.strict();

export type CganConfig = z.infer<typeof cganSchema>;

export class ProjectionDiscriminator implements ConditionalCritic {
  readonly net: DcganDiscriminator;
  readonly params: ParamSet;
  private readonly embedding: Linear;

  constructor(readonly config: CganConfig, rng: Rng) {
    this.net = new DcganDiscriminator(dcganShape(dcganPart(config)), rng, discriminatorOptions(config));
    this.params = this.net.params;
    const c = this.net.featureChannels;
    this.embedding = new Linear(this.params, 'embed', { inFeatures: config.numClasses, outFeatures: c, bias: false, init: { kind: 'normal', std: 1 / Math.sqrt(c) }, spectralNorm: config.spectralNorm }, rng);
  }

  /** Images [n, s, s, ch] with class weights [n, K] -> logits [n]. */
  apply(x: tf.Tensor4D, weights: tf.Tensor2D, training: boolean): tf.Tensor1D {
    const h = this.net.features(x, training); // [n, 4, 4, c]
    const [n, hh, ww, c] = h.shape;
    // <e, sum_hw h> as a batched product [n, hw, c] x [n, c, 1], then a sum over the hw positions: tfjs's
    // reduction over H and W (and its broadcast gradient) would transpose and cost more than D's convolutions.
    const e = tf.reshape(this.embedding.apply(weights), [n, c, 1]) as tf.Tensor3D;
    const perPosition = tf.matMul(tf.reshape(h, [n, hh * ww, c]) as tf.Tensor3D, e); // [n, hw, 1]
    const projection = tf.sum(tf.reshape(perPosition, [n, hh * ww]), 1) as tf.Tensor1D; // [n]
    return tf.add(this.net.head(h), projection);
  }

  forward(x: LabelledImages): CriticOutputs {
    return { source: this.apply(x.images, x.weights, true) };
  }

  lossD(real: CriticOutputs, fake: CriticOutputs): { lossD: tf.Scalar } {
    return { lossD: adversarialLossD(this.config.loss, real.source, fake.source) };
  }

  lossG(fake: CriticOutputs): tf.Scalar {
    return adversarialLossG(this.config.loss, fake.source);
  }
}

export class Cgan extends ConditionalGan<CriticOutputs, ProjectionDiscriminator> {
  constructor(readonly config: CganConfig, seed: number) {
    super('cgan', config, seed, (rng) => new ProjectionDiscriminator(config, rng));
  }
}

export const cganFamily: Family<CganConfig> = {
  name: 'cgan',
  description: 'class-conditional DCGAN: class embedding into G, projection discriminator',
  schema: cganSchema,
  resumable: ['lr', 'lrD', 'beta1', 'beta2', 'r1', 'r1Every', 'gp'],
  resolve: (config, data) => resolveConditional('cgan', config, data),
  describe: (config) => describeConditional('cgan', config),
  create: (config, seed) => new Cgan(config, seed),
};
