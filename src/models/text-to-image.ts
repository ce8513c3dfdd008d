import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from '../engine/rng.ts';
import type { ParamSet } from '../nn/params.ts';
import { CaptionEncoder, checkCaptionedBatch, type CaptionEncoderConfig } from '../text/caption-encoder.ts';
import type { Adam } from '../train/adam.ts';
import { disposeModel, type Batch, type FamilyInstance, type StepContext } from './family.ts';

/**
 * What the text-to-image families (gan-cls, dfgan) share: the caption encoder (network "T") and its
 * pre-training steps before the GAN's, sentence vectors for `generate` (typed captions, or the sample
 * captions one grid column each). A family brings its networks, its GAN step and its generator.
 */
export abstract class TextToImageGan implements FamilyInstance {
  readonly text: CaptionEncoder;
  abstract readonly networks: Record<string, ParamSet>;
  abstract readonly optimizers: Record<string, Adam>;
  readonly latentDim: number;
  readonly gridColumns: number;

  constructor(private readonly family: string, config: CaptionEncoderConfig & { nz: number }, seed: number) {
    this.text = new CaptionEncoder(config, seed);
    this.latentDim = config.nz;
    this.gridColumns = config.sampleCaptions.length;
  }

  trainStep(batch: Batch, ctx: StepContext): Record<string, tf.Scalar> {
    const captions = checkCaptionedBatch(this.family, batch);
    if (this.text.pretraining(ctx.step)) return this.text.trainStep(batch.images, captions);
    return this.ganStep(batch.images, captions, ctx.rng);
  }

  /** One step of the family's GAN on images and their captions (the caption encoder is fixed by then). */
  protected abstract ganStep(images: tf.Tensor4D, captions: string[], rng: Rng): Record<string, tf.Scalar>;

  /** The generator in evaluation mode: z [n, nz] and sentence vectors [n, embedDim] -> images in [-1, 1]. */
  protected abstract drawImages(z: tf.Tensor2D, sentences: tf.Tensor2D): tf.Tensor4D;

  /** Sentence vectors φ(t) [n, embedDim] of captions, for `generate` (and to interpolate between). */
  encodeText(captions: string[]): tf.Tensor2D {
    return this.text.vectors(captions);
  }

  /** Images of latent vectors and sentence vectors; without them image i shows sample caption i % count. */
  generate(z: tf.Tensor2D, conditions?: tf.Tensor2D): tf.Tensor4D {
    return tf.tidy(() => this.drawImages(z, this.text.conditionsFor(z.shape[0], conditions)));
  }

  dispose(): void {
    disposeModel(this);
  }
}
