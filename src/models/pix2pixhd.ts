import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { Rng } from '../engine/rng.ts';
import { featureMatchingLoss, lsganLoss } from '../losses/pix2pixhd.ts';
import { ParamSet } from '../nn/params.ts';
import { GlobalGenerator, MultiscaleDiscriminator } from '../nn/pix2pixhd.ts';
import { Adam } from '../optim/adam.ts';
import { disposeModel } from './family.ts';
import { alternatingStep } from './gan-step.ts';

/**
 * pix2pixHD (Wang et al. 2018), the global generator G1 with its multi-scale discriminator: the training
 * step of a label map to an image. G reads the label input (one-hot labels and the instance boundary
 * map, src/data/label-maps.ts); D judges (label input, image) pairs at numD scales; G's loss is LSGAN
 * through every scale plus feature matching (lambdaFeat) on every block of D but the scores; D's loss is
 * half the LSGAN loss of real and fake pairs. Defaults are the official options sized down for 2 cores.
 *
 * Not a registered family yet: the local enhancer, the VGG loss, the instance feature encoder, the
 * `pairs:DIR` data and the `translate` command come next (issue "pix2pixHD").
 */
export const pix2pixhdSchema = z
  .object({
    /** Labels in the maps (ids 0 .. labelNc - 1). */
    labelNc: z.number().int().min(1).default(35),
    /** Add the instance boundary map as one more input channel. */
    instances: z.boolean().default(true),
    ngf: z.number().int().positive().default(16),
    nDown: z.number().int().min(1).default(3),
    nBlocks: z.number().int().min(0).default(3),
    ndf: z.number().int().positive().default(16),
    nLayers: z.number().int().min(1).default(3),
    numD: z.number().int().min(1).default(2),
    lambdaFeat: z.number().min(0).default(10),
    lr: z.number().positive().default(2e-4),
    beta1: z.number().min(0).max(1).default(0.5),
    beta2: z.number().min(0).max(1).default(0.999),
  })
  .strict();

export type Pix2PixHDConfig = z.infer<typeof pix2pixhdSchema>;

export class Pix2PixHD {
  readonly G: GlobalGenerator;
  readonly D: MultiscaleDiscriminator;
  readonly networks: Record<string, ParamSet>;
  readonly optimizers: Record<string, Adam>;
  readonly inputChannels: number;

  constructor(readonly config: Pix2PixHDConfig, seed: number) {
    this.inputChannels = config.labelNc + (config.instances ? 1 : 0);
    const G = new ParamSet();
    const D = new ParamSet();
    this.G = new GlobalGenerator(G, 'model', { inputChannels: this.inputChannels, outputChannels: 3, ngf: config.ngf, nDown: config.nDown, nBlocks: config.nBlocks }, new Rng(seed, 'init', 'G'));
    this.D = new MultiscaleDiscriminator(D, { inputChannels: this.inputChannels + 3, ndf: config.ndf, nLayers: config.nLayers, numD: config.numD }, new Rng(seed, 'init', 'D'));
    this.networks = { G, D };
    const adam = { lr: config.lr, beta1: config.beta1, beta2: config.beta2 };
    this.optimizers = { G: new Adam(G.trainable(), adam), D: new Adam(D.trainable(), adam) };
  }

  /** D's outputs for label input and images, every block at every scale. */
  private judge(input: tf.Tensor4D, images: tf.Tensor4D): tf.Tensor4D[][] {
    return this.D.apply(tf.concat([input, images], 3) as tf.Tensor4D);
  }

  /**
   * One step on label inputs [n, H, W, inputChannels] and their images [n, H, W, 3] in [-1, 1]: D on the
   * real and the detached fake pairs, then G through the updated D (LSGAN + feature matching, the real
   * pairs' features as targets). The official code steps G and D from one forward pass; gantry's GAN
   * step updates D first, as for its other families.
   */
  trainStep(input: tf.Tensor4D, real: tf.Tensor4D, updateG = true): Record<string, tf.Scalar> {
    return alternatingStep({ params: this.networks.G, optimizer: this.optimizers.G }, { params: this.networks.D, optimizer: this.optimizers.D }, {
      updateG,
      fake: () => this.G.apply(input),
      lossD: (fake) => ({ lossD: tf.mul(tf.add(lsganLoss(this.judge(input, fake), false), lsganLoss(this.judge(input, real), true)), 0.5) as tf.Scalar }),
      lossG: (fake) => {
        const predFake = this.judge(input, fake);
        const gan = lsganLoss(predFake, true);
        const feat = featureMatchingLoss(predFake, this.judge(input, real), this.config.lambdaFeat);
        return tf.add(gan, feat) as tf.Scalar;
      },
    });
  }

  /** Images in [-1, 1] of label inputs. */
  generate(input: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => this.G.apply(input));
  }

  dispose(): void {
    disposeModel(this);
  }
}
