import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { Rng } from '../engine/rng.ts';
import { hostInput } from '../engine/host-input.ts';
import { GantryError } from '../errors.ts';
import { contrastiveLoss, retrievalAccuracy } from '../losses/contrastive.ts';
import { ImageEncoder } from '../nn/image-encoder.ts';
import { ParamSet } from '../nn/params.ts';
import type { Batch, DataShape } from '../data/batch.ts';
import { Adam } from '../optim/adam.ts';
import { SentenceEncoder, unitRows } from './encoder.ts';
import { buildVocabulary, Tokenizer } from './tokenizer.ts';

/** Config fields of the caption encoder that text-to-image families (gan-cls, dfgan) share. */
export const captionEncoderFields = {
  /** Sentence vector φ(t) size. */
  embedDim: z.number().int().positive().default(256),
  wordDim: z.number().int().positive().default(64),
  textHidden: z.number().int().positive().default(256),
  /** Longer captions are cut to this many words. */
  maxWords: z.number().int().positive().default(32),
  maxVocabulary: z.number().int().positive().default(5000),
  /** Steps that train the caption encoder (against an image encoder) before the GAN's; it is fixed after. */
  textSteps: z.number().int().min(0).default(400),
  textLr: z.number().positive().default(1e-3),
  /** Temperature of the text-image contrastive loss. */
  textTemperature: z.number().positive().default(0.1),
  /** Filled from the data's captions: the words the encoder knows, most frequent first. */
  vocabulary: z.array(z.string()).default([]),
  /** Filled from the data: the captions of training sample grids (one column each). */
  sampleCaptions: z.array(z.string()).default([]),
};

export interface CaptionEncoderConfig {
  embedDim: number;
  wordDim: number;
  textHidden: number;
  maxWords: number;
  maxVocabulary: number;
  textSteps: number;
  textLr: number;
  textTemperature: number;
  vocabulary: string[];
  sampleCaptions: string[];
  imageSize: number;
  channels: number;
  /** Width of the image encoder's first convolution. */
  ndf: number;
}

const SAMPLE_CAPTIONS = 8;

/** Fills the vocabulary and the sample captions from the data; data without captions is an error. */
export function resolveCaptions<C extends CaptionEncoderConfig>(family: string, config: C, data: DataShape): C {
  if (!data.captions?.length) {
    throw new GantryError(`${family}: the data has no captions; use captions:DIR (each image with a .txt of captions, one a line) or shapes`);
  }
  const vocabulary = config.vocabulary.length ? config.vocabulary : buildVocabulary(data.captions.flat(), config.maxVocabulary);
  if (vocabulary.length === 0) throw new GantryError(`${family}: the captions hold no words`);
  const step = Math.max(1, Math.floor(data.captions.length / SAMPLE_CAPTIONS));
  const sampleCaptions = config.sampleCaptions.length
    ? config.sampleCaptions
    : Array.from({ length: Math.min(SAMPLE_CAPTIONS, data.captions.length) }, (_, i) => data.captions![i * step][0]);
  return { ...config, vocabulary, sampleCaptions };
}

/** The batch's captions; one error line for data without them or batches too small to mismatch. */
export function checkCaptionedBatch(family: string, batch: Batch): string[] {
  if (!batch.captions) throw new GantryError(`${family} needs captioned data: captions:DIR (images with .txt captions) or shapes`);
  if (batch.captions.length < 2) throw new GantryError(`${family} needs batches of at least 2 (captions are paired with other images')`);
  return batch.captions;
}

/**
 * Captions -> sentence vectors φ(t), and the encoder's own training. The sentence encoder learns with
 * an image encoder a joint space where a caption's vector is closest to its image's (for `textSteps`
 * steps); then it is fixed, as Reed et al. and DF-GAN fix their pre-trained text encoders. Its tensors
 * are the network "T" of a run (the image encoder too, so a resumed run continues its pre-training).
 */
export class CaptionEncoder {
  readonly params = new ParamSet();
  readonly optimizer: Adam;
  readonly tokenizer: Tokenizer;
  private readonly sentence: SentenceEncoder;
  private readonly image: ImageEncoder;

  constructor(readonly config: CaptionEncoderConfig, seed: number) {
    if (config.vocabulary.length === 0) throw new GantryError('the config has no vocabulary (it is filled from the training captions)');
    this.tokenizer = new Tokenizer(config.vocabulary, config.maxWords);
    const rng = new Rng(seed, 'init', 'T');
    this.sentence = new SentenceEncoder(this.params, 'sentence', {
      tableSize: this.tokenizer.tableSize, wordDim: config.wordDim, hidden: config.textHidden, outDim: config.embedDim,
    }, rng);
    this.image = new ImageEncoder(this.params, 'image', { imageSize: config.imageSize, channels: config.channels, width: config.ndf, outDim: config.embedDim }, rng);
    this.optimizer = new Adam(this.params.trainable(), { lr: config.textLr, beta1: 0.9, beta2: 0.999 });
  }

  /** Whether step `step` of a run trains the encoder (else the GAN). */
  pretraining(step: number): boolean {
    return step < this.config.textSteps;
  }

  /** One pre-training step on matching images and captions: the loss and the batch's top-1 retrieval. */
  trainStep(images: tf.Tensor4D, captions: string[]): { lossText: tf.Scalar; textTop1: tf.Scalar } {
    const ids = this.tokenizer.encode(captions);
    let accuracy: tf.Scalar | null = null;
    const { value, grads } = tf.variableGrads(() => {
      const t = this.sentence.apply(ids);
      const v = unitRows(this.image.apply(images));
      accuracy = tf.keep(retrievalAccuracy(t, v, captions));
      return contrastiveLoss(t, v, captions, this.config.textTemperature);
    }, this.params.trainable());
    this.optimizer.apply(grads);
    tf.dispose(grads);
    return { lossText: value, textTop1: accuracy! };
  }

  /**
   * φ(t) [n, embedDim]: the encoder's unit vector scaled to length sqrt(embedDim), so its entries are of
   * the size of z's. At unit length they were ~1/16 of that, and the GANs' text projections (initialised
   * N(0, 0.02) as DCGAN's layers) made the caption a whisper beside z: shapes runs learned the caption's
   * colours several hundred steps later.
   */
  vectors(captions: string[]): tf.Tensor2D {
    const ids = this.tokenizer.encode(captions);
    return tf.tidy(() => tf.mul(this.sentence.apply(ids), Math.sqrt(this.config.embedDim)) as tf.Tensor2D);
  }

  /**
   * vectors() of a train step's captions, their ids a host input of maxWords each (fixed shapes); with
   * batch.captionDraws, each image's vector is the mean of its drawn captions' (Reed et al.'s numCaption).
   */
  stepVectors(batch: Batch): tf.Tensor2D {
    const { maxWords } = this.config;
    const n = batch.captions!.length;
    const k = batch.captionDraws?.perImage ?? 1;
    const captions = (b: Batch) => (k > 1 ? b.captionDraws!.captions : b.captions!);
    const ids = hostInput(batch, (b) => this.tokenizer.encode(captions(b), true).ids, [n * k * maxWords], 'int32') as tf.Tensor1D;
    const vectors = tf.tidy(() => {
      const each = tf.mul(this.sentence.apply({ ids, words: maxWords }), Math.sqrt(this.config.embedDim)) as tf.Tensor2D;
      return k > 1 ? tf.mean(tf.reshape(each, [n, k, -1]), 1) as tf.Tensor2D : each;
    });
    ids.dispose();
    return vectors;
  }
}
