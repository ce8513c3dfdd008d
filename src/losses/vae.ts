import * as tf from '@tensorflow/tfjs-core';

/** KL(N(mu, sigma^2) || N(0, I)) summed over latent dimensions, averaged over the batch. */
export function klDivergence(mu: tf.Tensor2D, logVar: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() => tf.mean(tf.mul(-0.5, tf.sum(tf.sub(tf.add(1, logVar), tf.add(tf.square(mu), tf.exp(logVar))), 1))) as tf.Scalar);
}

/** Squared error summed over pixels, averaged over the batch (the VAE study's "MSE summed over pixels"). */
export function sumSquaredError(reconstruction: tf.Tensor4D, target: tf.Tensor4D): tf.Scalar {
  return tf.tidy(() => tf.mean(tf.sum(tf.square(tf.sub(reconstruction, target)), [1, 2, 3])) as tf.Scalar);
}

/**
 * Bernoulli negative log-likelihood from logits, summed over pixels, averaged over the batch; targets
 * in [0, 1]. Stable form: softplus(l) - t * l.
 */
export function sumBinaryCrossEntropy(logits: tf.Tensor4D, target01: tf.Tensor4D): tf.Scalar {
  return tf.tidy(() => tf.mean(tf.sum(tf.sub(tf.softplus(logits), tf.mul(target01, logits)), [1, 2, 3])) as tf.Scalar);
}
