import * as tf from '@tensorflow/tfjs-core';

/**
 * Adversarial losses on raw discriminator logits. BCE-with-logits is written with softplus, which is
 * the numerically stable form: -log(sigmoid(x)) = softplus(-x), -log(1 - sigmoid(x)) = softplus(x).
 */

/** D's loss, minimised, and whatever else the family reports from D's pass (e.g. MA-GP, R1, class accuracy). */
export type DiscriminatorLosses = { lossD: tf.Scalar } & Record<string, tf.Scalar>;

/** Discriminator BCE: real labelled 1, fake labelled 0, each averaged over its batch (as PyTorch sums two BCE means). */
export function bceLossD(realLogits: tf.Tensor, fakeLogits: tf.Tensor): tf.Scalar {
  return tf.add(tf.mean(tf.softplus(tf.neg(realLogits))), tf.mean(tf.softplus(fakeLogits)));
}

/** Non-saturating generator loss: -log D(G(z)). */
export function nonSaturatingLossG(fakeLogits: tf.Tensor): tf.Scalar {
  return tf.mean(tf.softplus(tf.neg(fakeLogits)));
}

/** The hinge on real scores, E[relu(1 - D(real))]. */
export function hingeReal(realLogits: tf.Tensor): tf.Scalar {
  return tf.mean(tf.relu(tf.sub(1, realLogits)));
}

/** The hinge on fake (or mismatched) scores, E[relu(1 + D(fake))]. */
export function hingeFake(fakeLogits: tf.Tensor): tf.Scalar {
  return tf.mean(tf.relu(tf.add(1, fakeLogits)));
}

/** Hinge loss for D: E[relu(1 - D(real))] + E[relu(1 + D(fake))]. */
export function hingeLossD(realLogits: tf.Tensor, fakeLogits: tf.Tensor): tf.Scalar {
  return tf.add(hingeReal(realLogits), hingeFake(fakeLogits));
}

/**
 * The hinge loss of a matching-aware D (DF-GAN): real images with their own text score as real; real
 * images with mismatched text and fakes score as fake, half each.
 */
export function hingeLossDMismatched(realLogits: tf.Tensor, mismatchedLogits: tf.Tensor, fakeLogits: tf.Tensor): tf.Scalar {
  return tf.add(hingeReal(realLogits), tf.mul(tf.add(hingeFake(mismatchedLogits), hingeFake(fakeLogits)), 0.5));
}

/** Hinge loss for G: -E[D(fake)] (WGAN's G loss too). */
export function hingeLossG(fakeLogits: tf.Tensor): tf.Scalar {
  return tf.neg(tf.mean(fakeLogits)) as tf.Scalar;
}

/**
 * WGAN's critic loss (Arjovsky et al. 2017): E[D(fake)] - E[D(real)], whose negative is the critic's estimate
 * of the Wasserstein-1 distance between the two distributions while D stays 1-Lipschitz (WGAN-GP's penalty,
 * losses/penalties.ts, keeps it so).
 */
export function wassersteinLossD(realScores: tf.Tensor, fakeScores: tf.Tensor): tf.Scalar {
  return tf.sub(tf.mean(fakeScores), tf.mean(realScores)) as tf.Scalar;
}

/**
 * The adversarial loss of the DCGAN-based families (model.loss): DCGAN's BCE, the hinge (SAGAN, the projection
 * paper), or WGAN-GP's Wasserstein loss (Gulrajani et al. 2017; its gradient penalty is added by the family).
 */
export const ADVERSARIAL_LOSSES = ['bce', 'hinge', 'wgan-gp'] as const;
export type AdversarialLoss = (typeof ADVERSARIAL_LOSSES)[number];

/** D's loss of that kind on its real and fake logits (scores, for WGAN's critic). */
export function adversarialLossD(kind: AdversarialLoss, realLogits: tf.Tensor, fakeLogits: tf.Tensor): tf.Scalar {
  if (kind === 'wgan-gp') return wassersteinLossD(realLogits, fakeLogits);
  return kind === 'hinge' ? hingeLossD(realLogits, fakeLogits) : bceLossD(realLogits, fakeLogits);
}

/** G's loss of that kind on D's logits of its images: non-saturating BCE, or -E[D(fake)] (the hinge's and WGAN's). */
export function adversarialLossG(kind: AdversarialLoss, fakeLogits: tf.Tensor): tf.Scalar {
  return kind === 'bce' ? nonSaturatingLossG(fakeLogits) : hingeLossG(fakeLogits);
}
