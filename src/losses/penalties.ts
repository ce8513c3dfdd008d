import * as tf from '@tensorflow/tfjs-core';
import type { DiscriminatorLosses } from './adversarial.ts';
import { twiceDifferentiable } from '../engine/backward.ts';
import { hostInput } from '../engine/host-input.ts';
import type { Rng } from '../engine/rng.ts';

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

/**
 * R1 (Mescheder et al. 2018): γ/2 · mean_i ‖∂D/∂x_i‖² over real images, the gradient of the summed
 * real logits with respect to the images, as StyleGAN2's loss takes it. It pushes D's gradient to zero on
 * the data, where the game's equilibrium needs it, which damps D's oscillation around the real images.
 */
export function r1Penalty(gradImages: tf.Tensor4D, gamma: number): tf.Scalar {
  return tf.tidy(() => tf.mul(tf.mean(tf.sum(tf.square(gradImages), [1, 2, 3])), gamma / 2) as tf.Scalar);
}

/**
 * D's losses with R1 when `gamma` > 0: `forward(images)` is D's pass over the real batch; `losses` gets
 * its outputs (`source`: the real/fake logits [n]; anything else, e.g. class logits) and returns D's loss
 * terms, to whose lossD the penalty is added (and reported as `r1`). The gradient is taken with respect to
 * the images as given, before any augmentation inside `forward` (StyleGAN2-ADA's and DiffAugment's
 * choice), and stays on the tape, so R1's own gradient reaches D's weights. The outputs are freed here.
 */
export function withR1<T extends { source: tf.Tensor1D }>(images: tf.Tensor4D, gamma: number, forward: (x: tf.Tensor4D) => T, losses: (outputs: T) => DiscriminatorLosses): DiscriminatorLosses {
  if (gamma === 0) return losses(forward(images));
  let outputs!: T;
  // valueAndGrads runs `forward` in a scope of its own that frees all but `source`: the other outputs are kept, and freed here.
  const { grads: [gradImages] } = tf.valueAndGrads((x: tf.Tensor) => {
    outputs = twiceDifferentiable(() => forward(x as tf.Tensor4D));
    for (const [key, t] of Object.entries(outputs)) if (key !== 'source') tf.keep(t as tf.Tensor);
    return outputs.source;
  })([images]);
  try {
    const terms = losses(outputs);
    const r1 = r1Penalty(gradImages as tf.Tensor4D, gamma);
    return { ...terms, lossD: tf.add(terms.lossD, r1) as tf.Scalar, r1 };
  } finally {
    for (const [key, t] of Object.entries(outputs)) if (key !== 'source') (t as tf.Tensor).dispose();
  }
}

/**
 * StyleGAN2's lazy R1 (Karras et al. 2020): R1 as an update of D's own on every `every`-th step instead of
 * a term of every step's loss, weighted by `every` so that on average it weighs as much. Returns that
 * update's loss (the penalty x every) as lossD, and the penalty as withR1 reports it (`r1`). `forward`:
 * D's real/fake logits [n] of the real batch. A weight the penalty does not reach (a last bias) takes the
 * update with a zero gradient, as in StyleGAN2-ADA's Dreg phase (Adam's rule here).
 */
export function lazyR1(images: tf.Tensor4D, gamma: number, every: number, forward: (x: tf.Tensor4D) => tf.Tensor1D): DiscriminatorLosses {
  const { grads: [gradImages] } = tf.valueAndGrads((x: tf.Tensor) => twiceDifferentiable(() => forward(x as tf.Tensor4D)))([images]);
  const r1 = r1Penalty(gradImages as tf.Tensor4D, gamma);
  return { lossD: tf.mul(r1, every) as tf.Scalar, r1 };
}

/** Whether step `step` of a run with R1 every `r1Every` steps (lazily, r1Every > 1) takes the penalty's own update. */
export function isLazyR1Step(config: { r1: number; r1Every: number }, step: number): boolean {
  return config.r1 > 0 && config.r1Every > 1 && step % config.r1Every === 0;
}

/**
 * WGAN-GP's penalty (Gulrajani et al. 2017): weight · mean_i (‖g_i‖₂ - 1)², g_i the gradient of D's score at
 * the i-th interpolate. The optimal critic has gradients of norm 1 almost everywhere on the lines between
 * real and generated images, so the penalty holds D near 1-Lipschitz there without clipping its weights.
 * The norm is sqrt(‖g‖² + 1e-12): its derivative stays finite where a gradient is zero.
 */
export function wganGradientPenalty(gradMixed: tf.Tensor4D, weight: number): tf.Scalar {
  return tf.tidy(() => {
    const norms = tf.sqrt(tf.add(tf.sum(tf.square(gradMixed), [1, 2, 3]), 1e-12));
    return tf.mul(tf.mean(tf.square(tf.sub(norms, 1))), weight) as tf.Scalar;
  });
}

/**
 * Each image's ε ~ U(0, 1) of WGAN-GP's interpolates, [n, 1, 1, 1], from the step's stream (a host input: a
 * replayed step draws the next step's).
 */
export function mixingWeights(scope: { rng: Rng }, n: number): tf.Tensor4D {
  return hostInput(scope, (s) => Float32Array.from({ length: n }, () => s.rng.uniform()), [n, 1, 1, 1]) as tf.Tensor4D;
}

/** ε·real + (1 - ε)·fake, with ε broadcast over what follows the batch axis. */
export function interpolate<T extends tf.Tensor>(real: T, fake: T, eps: tf.Tensor): T {
  return tf.tidy(() => tf.add(fake, tf.mul(eps, tf.sub(real, fake))) as T);
}

/**
 * D's losses with WGAN-GP's penalty at the interpolates `mixed` (real and detached fake images) added to
 * lossD and reported as `gp`. `forward`: D's scores [n] of images. The penalty's gradient is differentiated
 * again, so its own gradient reaches D's weights (a third pass of D a step, and a second backward pass).
 */
export function withGradientPenalty(terms: DiscriminatorLosses, mixed: tf.Tensor4D, weight: number, forward: (x: tf.Tensor4D) => tf.Tensor1D): DiscriminatorLosses {
  const { value, grads: [gradMixed] } = tf.valueAndGrads((x: tf.Tensor) => twiceDifferentiable(() => forward(x as tf.Tensor4D)))([mixed]);
  value.dispose();
  const gp = wganGradientPenalty(gradMixed as tf.Tensor4D, weight);
  return { ...terms, lossD: tf.add(terms.lossD, gp) as tf.Scalar, gp };
}

/** WGAN-GP's penalty weight of a DCGAN-based config: model.gp (10, the paper's λ) with the wgan-gp loss, else 0 (none). */
export function gradientPenaltyWeight(config: { loss: string; gp?: number }): number {
  return config.loss === 'wgan-gp' ? config.gp ?? 10 : 0;
}
