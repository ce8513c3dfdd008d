import * as tf from '@tensorflow/tfjs-core';
import type { ParamSet } from '../nn/params.ts';
import { GantryError } from '../errors.ts';
import type { Batch, DataShape } from '../data/batch.ts';
import { CaptionEncoder, checkCaptionedBatch, resolveCaptions, type CaptionEncoderConfig } from '../text/caption-encoder.ts';
import type { Adam } from '../optim/adam.ts';
import { expectCondition, type Condition, type ModelInfo } from './condition.ts';
import { describeImageModel, imageChannels } from './dcgan.ts';
import { disposeModel, updateKey, type FamilyInstance, type StepContext } from './family.ts';

/**
 * What the text-to-image families (gan-cls, dfgan) share: the caption encoder (network "T") and its
 * pre-training steps before the GAN's, sentence vectors for `generate`'s text conditions. A family
 * brings its networks, its GAN step and its generator.
 */
export abstract class TextToImageGan implements FamilyInstance {
  readonly text: CaptionEncoder;
  abstract readonly networks: Record<string, ParamSet>;
  abstract readonly optimizers: Record<string, Adam>;
  readonly info: ModelInfo;

  constructor(private readonly family: string, config: CaptionEncoderConfig & { nz: number }, seed: number) {
    this.text = new CaptionEncoder(config, seed);
    this.info = describeTextToImage(family, config);
  }

  trainStep(batch: Batch, ctx: StepContext): Record<string, tf.Scalar> {
    const captions = checkCaptionedBatch(this.family, batch);
    if (this.text.pretraining(ctx.step)) return this.text.trainStep(batch.images, captions);
    return this.ganStep(batch, ctx);
  }

  /** The caption encoder's pre-training steps (a few hundred, host work on the captions) run as written. */
  stepKey(ctx: StepContext): string | null {
    if (this.text.pretraining(ctx.step)) return null;
    return updateKey(ctx);
  }

  /**
   * One step of the family's GAN on captioned images (the caption encoder is fixed by then): sentence
   * vectors by text.stepVectors, noise and shuffles as host inputs of ctx.
   */
  protected abstract ganStep(batch: Batch, ctx: StepContext): Record<string, tf.Scalar>;

  /** The generator in evaluation mode: z [n, nz] and sentence vectors [n, embedDim] -> images in [-1, 1]. */
  protected abstract drawImages(z: tf.Tensor2D, sentences: tf.Tensor2D): tf.Tensor4D;

  /** Sentence vectors φ(t) [n, embedDim] of captions, for `generate` (and to interpolate between). */
  encodeText(captions: string[]): tf.Tensor2D {
    return this.text.vectors(captions);
  }

  /** Images of latent vectors and a text condition (sentence vectors [n, embedDim]). */
  generate(z: tf.Tensor2D, condition: Condition): tf.Tensor4D {
    const vectors = expectCondition(this.info, condition, 'text', z.shape[0]);
    return tf.tidy(() => this.drawImages(z, vectors));
  }

  dispose(): void {
    disposeModel(this);
  }
}

/** The description of a text-to-image model: square images, text conditions of the caption encoder's size. */
export function describeTextToImage(family: string, config: CaptionEncoderConfig & { nz: number; captionsPerImage?: number }): ModelInfo {
  const averaged = (config.captionsPerImage ?? 1) > 1 ? { captionsPerImage: config.captionsPerImage } : {};
  return describeImageModel(family, config, config.nz, { kind: 'text', vocabulary: config.vocabulary, sampleCaptions: config.sampleCaptions, dim: config.embedDim, ...averaged });
}

/** Shared `resolve`: channels, vocabulary and sample captions from the data; square images only. */
export function resolveTextToImage<C extends CaptionEncoderConfig & { imageWidth?: number }>(family: string, config: C, data: DataShape): C {
  if (config.imageWidth && config.imageWidth !== config.imageSize) {
    throw new GantryError(`${family} draws square images (its caption and style encoders are square); leave model.imageWidth out`);
  }
  return resolveCaptions(family, { ...config, channels: imageChannels(family, config, data) }, data);
}
