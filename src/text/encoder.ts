import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from '../engine/rng.ts';
import { Conv2d, Linear } from '../nn/layers.ts';
import { initTensor } from '../nn/init.ts';
import type { ParamSet } from '../nn/params.ts';
import { PAD_ID, type EncodedCaptions } from './tokenizer.ts';

export interface SentenceEncoderOptions {
  /** Rows of the word table (vocabulary + reserved ids). */
  tableSize: number;
  wordDim: number;
  hidden: number;
  /** Size of the sentence vector. */
  outDim: number;
}

/**
 * Captions -> unit-length sentence vectors: word embeddings, two width-3 convolutions over the word
 * sequence (so "red circle on a blue background" differs from "blue circle on a red background"), max
 * over the words, a linear map. A word-level stand-in for Reed et al.'s char-CNN-RNN: like it, trained
 * against images before the GAN and then fixed.
 *
 * Padding (to the batch's longest caption) changes nothing: the padding id's embedding is a constant
 * zero row and each convolution's output is zeroed at padding positions, so every layer sees what a
 * convolution's own zero padding would give at the caption's end; after ReLU those zeros never exceed
 * the max over the caption's words.
 */
export class SentenceEncoder {
  /** Embeddings of ids 1.. (id 0, padding, is a constant zero row). */
  readonly table: tf.Variable;
  private readonly conv1: Conv2d;
  private readonly conv2: Conv2d;
  private readonly out: Linear;

  constructor(params: ParamSet, prefix: string, readonly options: SentenceEncoderOptions, rng: Rng) {
    const { tableSize, wordDim, hidden, outDim } = options;
    this.table = params.add(`${prefix}.words`, initTensor([tableSize - 1, wordDim], { kind: 'normal', std: 1 }, rng));
    // A [1, 3] kernel over a [n, 1, words, channels] map is a 1-D convolution along the caption.
    this.conv1 = new Conv2d(params, `${prefix}.conv1`, { inChannels: wordDim, outChannels: hidden, kernel: [1, 3], padding: [0, 1], bias: true }, rng);
    this.conv2 = new Conv2d(params, `${prefix}.conv2`, { inChannels: hidden, outChannels: hidden, kernel: [1, 3], padding: [0, 1], bias: true }, rng);
    this.out = new Linear(params, `${prefix}.out`, { inFeatures: hidden, outFeatures: outDim }, rng);
  }

  /** Captions as token ids (Tokenizer.encode) -> sentence vectors [n, outDim] of length 1. */
  apply({ ids, words: L }: EncodedCaptions | { ids: tf.Tensor1D; words: number }): tf.Tensor2D {
    const { wordDim, hidden } = this.options;
    const n = (ids instanceof tf.Tensor ? ids.size : ids.length) / L;
    return tf.tidy(() => {
      const table = tf.concat([tf.zeros([1, wordDim]), this.table], 0); // row PAD_ID = 0
      const idTensor = ids instanceof tf.Tensor ? ids : tf.tensor1d(ids, 'int32');
      const words = tf.reshape(tf.gather(table, idTensor), [n, 1, L, wordDim]) as tf.Tensor4D;
      const mask = tf.reshape(tf.cast(tf.notEqual(idTensor, PAD_ID), 'float32'), [n, 1, L, 1]);
      const h1 = tf.mul(tf.relu(this.conv1.apply(words)), mask) as tf.Tensor4D; // [n, 1, L, hidden]
      const h = tf.mul(tf.relu(this.conv2.apply(h1)), mask) as tf.Tensor4D; // [n, 1, L, hidden]
      const pooled = tf.reshape(tf.maxPool(h, [1, L], [1, L], 'valid'), [n, hidden]) as tf.Tensor2D;
      return unitRows(this.out.apply(pooled));
    });
  }
}

/** Each row divided by its length (rows of zeros stay near zero). */
export function unitRows(x: tf.Tensor2D): tf.Tensor2D {
  return tf.div(x, tf.sqrt(tf.add(tf.sum(tf.square(x), 1, true), 1e-8))) as tf.Tensor2D;
}
