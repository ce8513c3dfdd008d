import * as tf from '@tensorflow/tfjs-core';
import { hostInput } from '../engine/host-input.ts';

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

/** The KL term's weight at a step: klWeight, warmed up linearly from 0 over klWarmup steps (0: no warm-up). */
export function klBeta(config: { klWeight: number; klWarmup: number }, step: number): number {
  const { klWeight, klWarmup } = config;
  return klWarmup ? klWeight * Math.min(1, step / klWarmup) : klWeight;
}

/** klBeta at a train step, as a host input: a replayed WebGPU step recomputes it for each step. */
export function stepKlBeta(config: { klWeight: number; klWarmup: number }, ctx: { step: number }): tf.Scalar {
  return hostInput(ctx, (c) => Float32Array.of(klBeta(config, c.step)), []) as tf.Scalar;
}

export type ReconstructionMode = 'mse' | 'bce';

/** The reconstruction term for a decoder's raw output (before tanh / sigmoid) and a [-1, 1] target. */
export function reconstructionLoss(raw: tf.Tensor4D, target: tf.Tensor4D, mode: ReconstructionMode): tf.Scalar {
  return mode === 'mse' ? sumSquaredError(tf.tanh(raw), target) : sumBinaryCrossEntropy(raw, tf.div(tf.add(target, 1), 2) as tf.Tensor4D);
}

/** The reparameterisation: z = mu + sigma * eps, sigma = exp(log sigma^2 / 2), differentiable in mu and log sigma^2. */
export function reparameterize(mu: tf.Tensor2D, logVar: tf.Tensor2D, eps: tf.Tensor2D): tf.Tensor2D {
  return tf.add(mu, tf.mul(tf.exp(tf.mul(logVar, 0.5)), eps)) as tf.Tensor2D;
}

export interface VaeObjective {
  /** reconstruction + beta * KL: the negative ELBO the auto-encoder minimises. */
  loss: tf.Scalar;
  reconstruction: tf.Scalar;
  kl: tf.Scalar;
}

/**
 * The VAE objective shared by vae, vae-gan and unet-vae-gan: z = mu + sigma * eps (the
 * reparameterisation), the target reconstructed from z by `decode` (raw output), plus beta times the
 * KL divergence of the posterior from N(0, I). Call it on the auto-encoder's tape.
 */
export function vaeObjective(o: {
  mu: tf.Tensor2D;
  logVar: tf.Tensor2D;
  eps: tf.Tensor2D;
  decode: (z: tf.Tensor2D) => tf.Tensor4D;
  target: tf.Tensor4D;
  mode: ReconstructionMode;
  beta: number | tf.Scalar;
}): VaeObjective {
  const reconstruction = reconstructionLoss(o.decode(reparameterize(o.mu, o.logVar, o.eps)), o.target, o.mode);
  const kl = klDivergence(o.mu, o.logVar);
  return { loss: tf.add(reconstruction, tf.mul(kl, o.beta)) as tf.Scalar, reconstruction, kl };
}
