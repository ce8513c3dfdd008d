import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { Rng } from '../engine/rng.ts';
import { adversarialLossD, adversarialLossG } from '../losses/adversarial.ts';
import { Linear } from '../nn/layers.ts';
import type { ParamSet } from '../nn/params.ts';
import { DcganDiscriminator, dcganShape, discriminatorOptions } from './dcgan.ts';
import {
  ConditionalGan, conditionalSchema, dcganPart, describeConditional, resolveConditional,
  type ConditionalCritic, type LabelledImages,
} from './conditional.ts';
import type { Family } from './family.ts';

/**
 * AC-GAN (Odena et al. 2017): the discriminator has a second head that classifies every image, real or
 * fake. D minimises L_S + w·L_C, G minimises its non-saturating L_S + w·L_C on its fakes, where L_S is
 * the real/fake BCE and L_C the cross-entropy of the class head against the true (real) or requested
 * (fake) class.
 */
export const acganSchema = conditionalSchema
  .extend({
    /** w: weight of the class cross-entropy against the real/fake loss. */
    classWeight: z.number().min(0).default(1),
  })
  .strict();

export type AcganConfig = z.infer<typeof acganSchema>;

/** The real/fake logits [n] and the class logits [n, K] of a batch. */
export type ClassifierOutputs = { source: tf.Tensor1D; classes: tf.Tensor2D };

export class AuxClassifierDiscriminator implements ConditionalCritic<ClassifierOutputs> {
  readonly net: DcganDiscriminator;
  readonly params: ParamSet;
  private readonly classHead: Linear;

  constructor(readonly config: AcganConfig, rng: Rng) {
    this.net = new DcganDiscriminator(dcganShape(dcganPart(config)), rng, discriminatorOptions(config));
    this.params = this.net.params;
    this.classHead = new Linear(this.params, 'classHead', { inFeatures: this.net.featureSize[0] * this.net.featureSize[1] * this.net.featureChannels, outFeatures: config.numClasses, init: { kind: 'normal', std: 0.02 }, spectralNorm: config.spectralNorm }, rng);
  }

  /** Images -> real/fake logits [n] and class logits [n, K]. */
  apply(x: tf.Tensor4D, training: boolean): ClassifierOutputs {
    const h = this.net.features(x, training); // [n, 4, 4, c] (4x8 at 2:1)
    return { source: this.net.head(h), classes: this.classHead.apply(tf.reshape(h, [x.shape[0], -1]) as tf.Tensor2D) };
  }

  forward(x: LabelledImages): ClassifierOutputs {
    return this.apply(x.images, true);
  }

  private classLoss(logits: tf.Tensor2D, images: LabelledImages): tf.Scalar {
    return tf.losses.softmaxCrossEntropy(images.weights, logits) as tf.Scalar;
  }

  lossD(r: ClassifierOutputs, f: ClassifierOutputs, batches: { real: LabelledImages; fake: LabelledImages }): { lossD: tf.Scalar; classReal: tf.Scalar } {
    const classReal = this.classLoss(r.classes, batches.real);
    const classTerm = tf.add(classReal, this.classLoss(f.classes, batches.fake));
    return { lossD: tf.add(adversarialLossD(this.config.loss, r.source, f.source), tf.mul(this.config.classWeight, classTerm)), classReal };
  }

  lossG(f: ClassifierOutputs, batch: LabelledImages): tf.Scalar {
    return tf.add(adversarialLossG(this.config.loss, f.source), tf.mul(this.config.classWeight, this.classLoss(f.classes, batch)));
  }
}

export class Acgan extends ConditionalGan<ClassifierOutputs, AuxClassifierDiscriminator> {
  constructor(readonly config: AcganConfig, seed: number) {
    super('acgan', config, seed, (rng) => new AuxClassifierDiscriminator(config, rng));
  }
}

export const acganFamily: Family<AcganConfig> = {
  name: 'acgan',
  description: 'AC-GAN: class-conditional DCGAN whose discriminator also classifies (auxiliary classifier head)',
  schema: acganSchema,
  resumable: ['lr', 'lrD', 'beta1', 'beta2', 'r1', 'r1Every', 'gp'],
  resolve: (config, data) => resolveConditional('acgan', config, data),
  describe: (config) => describeConditional('acgan', config),
  create: (config, seed) => new Acgan(config, seed),
};
