import * as tf from '@tensorflow/tfjs-core';

/**
 * pix2pixHD's adversarial terms over a multi-scale discriminator's outputs (per scale, every block's
 * output, the last being the patch scores).
 */

/**
 * The sum of scalar terms, added two at a time: tfjs's WebGPU AddN binds every input at once and a
 * device's default limit is 8 storage buffers a shader (two scales of feature matching are 8 terms).
 */
function sumTerms(terms: tf.Tensor[]): tf.Scalar {
  return terms.reduce((a, b) => tf.add(a, b)) as tf.Scalar;
}

/** LSGAN: for each scale the mean squared distance of its patch scores from 1 (real) or 0 (fake), summed over scales. */
export function lsganLoss(scales: tf.Tensor4D[][], real: boolean): tf.Scalar {
  return tf.tidy(() => sumTerms(scales.map((blocks) => {
    const scores = blocks[blocks.length - 1];
    return tf.mean(tf.square(real ? tf.sub(scores, 1) : scores));
  })));
}

/**
 * Feature matching: lambda * 4 / (nLayers + 1) * 1 / numD * the mean absolute difference of every block's
 * output but the scores, fake against real, summed over blocks and scales (the real side is a target:
 * the caller computes it outside G's tape or detaches it).
 */
export function featureMatchingLoss(fake: tf.Tensor4D[][], real: tf.Tensor4D[][], lambda: number): tf.Scalar {
  return tf.tidy(() => {
    const numD = fake.length;
    const terms: tf.Tensor[] = [];
    fake.forEach((blocks, i) => {
      const nLayers = blocks.length - 2;
      const weight = lambda * (4 / (nLayers + 1)) * (1 / numD);
      for (let j = 0; j < blocks.length - 1; j++) terms.push(tf.mul(tf.mean(tf.abs(tf.sub(blocks[j], real[i][j]))), weight));
    });
    return sumTerms(terms);
  });
}

/** pix2pixHD's weights of the five VGG19 feature maps, relu1_1 .. relu5_1. */
export const VGG_LAYER_WEIGHTS = [1 / 32, 1 / 16, 1 / 8, 1 / 4, 1] as const;

/**
 * The perceptual loss: lambda * sum over relu1_1 .. relu5_1 of weight * mean |VGG(fake) - VGG(real)|.
 * Images go in as they are, in [-1, 1], as the official code feeds them (no ImageNet normalisation). The
 * real side is a target: it does not depend on G's weights, and VGG's are fixed.
 */
export function vggLoss(features: (images: tf.Tensor4D) => tf.Tensor4D[], fake: tf.Tensor4D, real: tf.Tensor4D, lambda: number): tf.Scalar {
  return tf.tidy(() => {
    const f = features(fake);
    const r = features(real);
    return tf.mul(sumTerms(f.map((t, i) => tf.mul(tf.mean(tf.abs(tf.sub(t, r[i]))), VGG_LAYER_WEIGHTS[i]))), lambda) as tf.Scalar;
  });
}
