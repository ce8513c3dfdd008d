import * as tf from '@tensorflow/tfjs-core';

/**
 * DF-GAN's matching-aware zero-centred gradient penalty: k · mean_i ‖(∂D/∂x_i, ∂D/∂e_i)‖^p from the
 * gradients of D's scores of real images with their own sentence vectors, which flattens D around the
 * real, matching data points (k = 2, p = 6 in the paper). ‖·‖^p is written (‖·‖²)^(p/2): no square
 * root whose derivative is infinite at a zero gradient.
 */
export function maGradientPenalty(gradImages: tf.Tensor4D, gradSentences: tf.Tensor2D, weight = 2, power = 6): tf.Scalar {
  return tf.tidy(() => {
    const squared = tf.add(tf.sum(tf.square(gradImages), [1, 2, 3]), tf.sum(tf.square(gradSentences), 1));
    return tf.mul(tf.mean(tf.pow(squared, power / 2)), weight) as tf.Scalar;
  });
}
