import * as tf from '@tensorflow/tfjs-core';

/**
 * Symmetric cross-entropy of matching texts and images in a batch (the joint-embedding objective that
 * pre-trains a text encoder): row i of `text` should be most similar to row i of `image` among the
 * batch's images, and the other way round. Rows with the same caption are all right answers, so
 * repeated captions (the shapes data has many) are not pushed apart. Inputs are unit rows [n, d].
 */
export function contrastiveLoss(text: tf.Tensor2D, image: tf.Tensor2D, captions: string[], temperature: number): tf.Scalar {
  return tf.tidy(() => {
    const n = captions.length;
    const target = new Float32Array(n * n);
    for (let i = 0; i < n; i++) {
      let same = 0;
      for (let j = 0; j < n; j++) if (captions[j] === captions[i]) same++;
      for (let j = 0; j < n; j++) if (captions[j] === captions[i]) target[i * n + j] = 1 / same;
    }
    // The target matrix is symmetric, so it serves both directions.
    const targets = tf.tensor2d(target, [n, n]);
    const logits = tf.div(tf.matMul(text, image, false, true), temperature); // [n texts, n images]
    const textToImage = tf.neg(tf.mean(tf.sum(tf.mul(targets, tf.logSoftmax(logits, 1)), 1)));
    const imageToText = tf.neg(tf.mean(tf.sum(tf.mul(targets, tf.logSoftmax(tf.transpose(logits), 1)), 1)));
    return tf.mul(tf.add(textToImage, imageToText), 0.5) as tf.Scalar;
  });
}

/** Fraction of texts whose most similar image in the batch has the same caption (top-1 retrieval). */
export function retrievalAccuracy(text: tf.Tensor2D, image: tf.Tensor2D, captions: string[]): tf.Scalar {
  return tf.tidy(() => {
    const best = tf.argMax(tf.matMul(text, image, false, true), 1);
    const ids = new Map<string, number>();
    const captionIds = tf.tensor1d(captions.map((c) => ids.get(c) ?? (ids.set(c, ids.size), ids.size - 1)), 'int32');
    return tf.mean(tf.cast(tf.equal(tf.gather(captionIds, best), captionIds), 'float32')) as tf.Scalar;
  });
}
