import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { Rng } from '../engine/rng.ts';
import { GantryError } from '../errors.ts';
import { bceLossD, nonSaturatingLossG } from '../losses/adversarial.ts';
import { ImageEncoder } from '../nn/image-encoder.ts';
import { BatchNorm2d, Conv2d, leaky, Linear } from '../nn/layers.ts';
import { ParamSet } from '../nn/params.ts';
import { stepLatent } from '../nn/noise.ts';
import { hostInput } from '../engine/host-input.ts';
import { captionEncoderFields } from '../text/caption-encoder.ts';
import { Adam } from '../optim/adam.ts';
import { DcganDiscriminator, DcganGenerator, dcganSchema, dcganShape, ganOptimizers, type DcganConfig } from './dcgan.ts';
import type { Family, StepContext } from './family.ts';
import type { Batch } from '../data/batch.ts';
import { alternatingStep } from './gan-step.ts';
import { describeTextToImage, resolveTextToImage, TextToImageGan } from './text-to-image.ts';

/**
 * Text-to-image GAN-CLS / GAN-INT (Reed et al. 2016) on DCGAN's networks. A sentence encoder, trained
 * first against an image encoder and then fixed, turns a caption into φ(t); G reads z beside a 128-d
 * projection of φ(t); D joins a projection of φ(t), replicated over its 4x4 feature map, to its image
 * features. GAN-CLS: D learns three kinds of pairs (real image + right text, real image + wrong text,
 * fake image + right text). GAN-INT: G also learns on text vectors interpolated between captions.
 * A style encoder S learns to invert G (z from an image), for style transfer.
 */
export const ganClsSchema = dcganSchema
  // Its D sees caption pairs, with the matching-aware BCE; DiffAugment, spectral normalisation, R1 and WGAN-GP are not part of GAN-CLS.
  .omit({ augment: true, spectralNorm: true, r1: true, r1Every: true, loss: true, gp: true, dNorm: true })
  .extend({
    /** GAN-CLS's matching-aware D: real images with mismatched captions count as fake. */
    matchingAware: z.boolean().default(true),
    /** GAN-INT: G also learns from β·φ(t1) + (1 - β)·φ(t2) of two captions of the batch. */
    interpolation: z.boolean().default(true),
    beta: z.number().min(0).max(1).default(0.5),
    /**
     * The weight of GAN-INT's term in G's loss beside the matched captions' (1). New runs: 0.5, as the
     * authors' code, whose G batch holds n matched and n/2 interpolated pairs at weight 1 in one mean. A run
     * made before this field existed has 1 (the paper's sum).
     */
    interpolationWeight: z.number().min(0).optional(),
    /**
     * Batch norm in D's text projection (Linear, BatchNorm, LeakyReLU), as the authors' code has it; G's has
     * none. New runs: true. A run made before this field existed has none.
     */
    textNorm: z.boolean().optional(),
    /**
     * Captions drawn for each training image, their sentence vectors averaged into its one (Reed et al.'s
     * code: numCaption 4 in its CUB recipe; the paper draws one). The drawn captions all describe the image.
     */
    captionsPerImage: z.number().int().min(1).max(16).default(1),
    /** Size of the text projection G and D read (the paper's 128). */
    projectionDim: z.number().int().positive().default(128),
    ...captionEncoderFields,
    /** Train the style encoder S (z from an image: `gantry sample --style-from`). */
    styleEncoder: z.boolean().default(true),
    /** S's Adam learning rate (betas 0.9, 0.999: a plain regression, not a game). */
    styleLr: z.number().positive().default(1e-3),
  })
  .strict();

export type GanClsConfig = z.infer<typeof ganClsSchema>;

function dcganPartOf(config: GanClsConfig, nz = config.nz): DcganConfig {
  const { imageSize, imageWidth, channels, ngf, ndf, lr, beta1, beta2 } = config;
  return { imageSize, imageWidth, channels, nz, ngf, ndf, lr, beta1, beta2, loss: 'bce', augment: [], spectralNorm: false, r1: 0, r1Every: 1 };
}

type TextProjection = (phi: tf.Tensor2D, training: boolean) => tf.Tensor2D;

/**
 * The text projection G and D each learn: φ(t) -> LeakyReLU(FC(φ(t))), as in the paper; with `norm`, batch
 * norm before the LeakyReLU (D's, in the authors' code).
 */
function textProjection(params: ParamSet, config: GanClsConfig, rng: Rng, norm = false): TextProjection {
  const p = config.projectionDim;
  const fc = new Linear(params, 'text', { inFeatures: config.embedDim, outFeatures: p, init: { kind: 'normal', std: 0.02 } }, rng);
  if (!norm) return (phi) => fc.apply(phi, leaky(0.2));
  const bn = new BatchNorm2d(params, 'text.norm', { channels: p, gammaInit: { kind: 'normal', mean: 1, std: 0.02 } }, rng);
  // BatchNorm1d as BatchNorm2d over [n, 1, 1, p]: the statistics are over the batch alone.
  return (phi, training) => {
    const n = phi.shape[0];
    return tf.leakyRelu(tf.reshape(bn.apply(tf.reshape(fc.apply(phi), [n, 1, 1, p]), training), [n, p]), 0.2);
  };
}

/** G(z, φ(t)): DCGAN's generator on [z, projection of φ(t)]. */
export class TextConditionalGenerator {
  readonly net: DcganGenerator;
  readonly params: ParamSet;
  private readonly project: TextProjection;

  constructor(readonly config: GanClsConfig, rng: Rng) {
    this.net = new DcganGenerator(dcganShape(dcganPartOf(config, config.nz + config.projectionDim)), rng);
    this.params = this.net.params;
    this.project = textProjection(this.params, config, rng);
  }

  /** z [n, nz], φ [n, embedDim] -> images [n, S, S, C] in [-1, 1]. */
  apply(z: tf.Tensor2D, phi: tf.Tensor2D, training: boolean): tf.Tensor4D {
    return this.net.apply(tf.concat([z, this.project(phi, training)], 1) as tf.Tensor2D, training);
  }
}

/**
 * D(x, φ(t)): DCGAN's features [n, 4, 4, c] and the text projection (batch-normed with config.textNorm)
 * replicated over the 4x4 positions, depth-concatenated, then a 1x1 convolution, batch norm, LeakyReLU and
 * DCGAN's 4x4 head (the paper's D). The 1x1 convolution of the concatenation is computed as conv(features) +
 * W_text · projection added at every position: the same numbers without materialising (and
 * back-propagating through) the tiles.
 */
export class MatchingAwareDiscriminator {
  readonly net: DcganDiscriminator;
  readonly params: ParamSet;
  private readonly project: TextProjection;
  private readonly jointImage: Conv2d;
  private readonly jointText: Linear;
  private readonly jointNorm: BatchNorm2d;

  constructor(readonly config: GanClsConfig, rng: Rng) {
    this.net = new DcganDiscriminator(dcganShape(dcganPartOf(config)), rng);
    this.params = this.net.params;
    this.project = textProjection(this.params, config, rng, config.textNorm === true);
    const c = this.net.featureChannels;
    const init = { kind: 'normal', std: 0.02 } as const;
    this.jointImage = new Conv2d(this.params, 'joint.image', { inChannels: c, outChannels: c, kernel: 1, init }, rng);
    this.jointText = new Linear(this.params, 'joint.text', { inFeatures: config.projectionDim, outFeatures: c, bias: false, init }, rng);
    this.jointNorm = new BatchNorm2d(this.params, 'joint.norm', { channels: c, gammaInit: { kind: 'normal', mean: 1, std: 0.02 } }, rng);
  }

  /** Images [n, S, S, C] with sentence vectors [n, embedDim] -> logits [n]. */
  apply(x: tf.Tensor4D, phi: tf.Tensor2D, training: boolean): tf.Tensor1D {
    const h = this.net.features(x, training); // [n, 4, 4, c]
    const [n, , , c] = h.shape;
    const text = tf.reshape(this.jointText.apply(this.project(phi, training)), [n, 1, 1, c]); // the same at each of the 4x4 positions
    const joined = tf.leakyRelu(this.jointNorm.apply(tf.add(this.jointImage.apply(h), text), training), 0.2); // [n, 4, 4, c]
    return this.net.head(joined);
  }
}

/** GAN-CLS's D loss: log D(x, h) + (log(1 - D(x, ĥ)) + log(1 - D(x̂, h))) / 2, as BCE on logits. */
export function matchingAwareLossD(realRight: tf.Tensor, realWrong: tf.Tensor, fakeRight: tf.Tensor): tf.Scalar {
  const real = tf.mean(tf.softplus(tf.neg(realRight)));
  return tf.add(real, tf.mul(tf.add(tf.mean(tf.softplus(realWrong)), tf.mean(tf.softplus(fakeRight))), 0.5)) as tf.Scalar;
}

/** x's rows rolled by a random shift in [1, n) from the step's stream (a host input): each row another's. */
function rolled(x: tf.Tensor2D, ctx: StepContext): tf.Tensor2D {
  const n = x.shape[0];
  const rows = hostInput(ctx, (c) => {
    const shift = 1 + c.rng.int(n - 1);
    return Int32Array.from({ length: n }, (_, i) => (i + shift) % n);
  }, [n], 'int32');
  const out = tf.gather(x, rows) as tf.Tensor2D;
  rows.dispose();
  return out;
}

export class GanCls extends TextToImageGan {
  readonly G: TextConditionalGenerator;
  readonly D: MatchingAwareDiscriminator;
  readonly style: ImageEncoder | null;
  readonly networks: Record<string, ParamSet>;
  readonly optimizers: Record<string, Adam>;

  constructor(readonly config: GanClsConfig, seed: number) {
    super('gan-cls', config, seed);
    this.G = new TextConditionalGenerator(config, new Rng(seed, 'init', 'G'));
    this.D = new MatchingAwareDiscriminator(config, new Rng(seed, 'init', 'D'));
    this.networks = { G: this.G.params, D: this.D.params, T: this.text.params };
    this.optimizers = { ...ganOptimizers(config, this.G.params, this.D.params), T: this.text.optimizer };
    if (config.styleEncoder) {
      const S = new ParamSet();
      this.style = new ImageEncoder(S, 'style', { imageSize: config.imageSize, channels: config.channels, width: config.ndf, outDim: config.nz }, new Rng(seed, 'init', 'S'));
      this.networks.S = S;
      this.optimizers.S = new Adam(S.trainable(), { lr: config.styleLr, beta1: 0.9, beta2: 0.999 });
    } else {
      this.style = null;
    }
  }

  /** One GAN-CLS(-INT) step, DCGAN's order: D on its three pairs, then G through the updated D. */
  protected ganStep(batch: Batch, ctx: StepContext): Record<string, tf.Scalar> {
    const { nz, beta } = this.config;
    const { images } = batch;
    const updateG = ctx.updateG;
    const n = images.shape[0];
    const right = this.text.stepVectors(batch); // fixed encoder: outside every tape
    const wrong = rolled(right, ctx);
    const z = stepLatent(ctx, n, nz);
    const between = this.config.interpolation ? tf.tidy(() => tf.add(tf.mul(right, beta), tf.mul(rolled(right, ctx), 1 - beta)) as tf.Tensor2D) : null;
    const zBetween = between ? stepLatent(ctx, n, nz) : null;
    let keptFake: tf.Tensor4D | null = null;
    const losses = alternatingStep({ params: this.G.params, optimizer: this.optimizers.G }, { params: this.D.params, optimizer: this.optimizers.D }, {
      updateG,
      fake: () => (keptFake = tf.keep(this.G.apply(z, right, true))), // the style encoder learns from it after
      lossD: (fake) => {
        const realRight = this.D.apply(images, right, true);
        const fakeRight = this.D.apply(fake, right, true);
        if (!this.config.matchingAware) return { lossD: bceLossD(realRight, fakeRight) };
        return { lossD: matchingAwareLossD(realRight, this.D.apply(images, wrong, true), fakeRight) };
      },
      lossG: (fake) => {
        const onRight = nonSaturatingLossG(this.D.apply(fake, right, true));
        if (!between) return onRight;
        const onBetween = nonSaturatingLossG(this.D.apply(this.G.apply(zBetween!, between, true), between, true));
        return tf.add(onRight, tf.mul(onBetween, this.config.interpolationWeight ?? 1)) as tf.Scalar;
      },
    });
    if (this.style && updateG !== false) losses.lossStyle = this.styleStep(keptFake!, z);
    tf.dispose([keptFake!, right, wrong, z, between ?? [], zBetween ?? []].flat());
    return losses;
  }

  /** S learns to invert G: mean squared error between z and S(G(z, φ(t))) on this step's fakes. */
  styleStep(fake: tf.Tensor4D, z: tf.Tensor2D): tf.Scalar {
    const { value, grads } = tf.variableGrads(() => tf.mean(tf.square(tf.sub(this.style!.apply(fake), z))) as tf.Scalar, this.networks.S.trainable());
    this.optimizers.S.apply(grads);
    tf.dispose(grads);
    return value;
  }

  protected drawImages(z: tf.Tensor2D, sentences: tf.Tensor2D): tf.Tensor4D {
    return this.G.apply(z, sentences, false);
  }

  /** The style encoder's latent vectors [n, nz] of images [n, S, S, C] in [-1, 1] (style transfer). */
  inferLatent(images: tf.Tensor4D): tf.Tensor2D {
    if (!this.style) throw new GantryError('this gan-cls run was trained without a style encoder (model.styleEncoder false)');
    return this.style.apply(images);
  }
}

export const ganClsFamily: Family<GanClsConfig> = {
  name: 'gan-cls',
  description: 'text-to-image GAN-CLS / GAN-INT: a caption encoder, a matching-aware D, text interpolation, a style encoder',
  schema: ganClsSchema,
  resumable: ['lr', 'lrD', 'beta1', 'beta2', 'styleLr'],
  resolve: (config, data) => resolveTextToImage('gan-cls', { ...config, interpolationWeight: config.interpolationWeight ?? 0.5, textNorm: config.textNorm ?? true }, data),
  describe: (config) => describeTextToImage('gan-cls', config),
  create: (config, seed) => new GanCls(config, seed),
};
