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

/** Hinge loss for G: -E[D(fake)]. */
export function hingeLossG(fakeLogits: tf.Tensor): tf.Scalar {
  return tf.neg(tf.mean(fakeLogits)) as tf.Scalar;
}

/** The adversarial loss of the DCGAN-based families (model.loss): DCGAN's BCE, or the hinge (SAGAN, the projection paper). */
export const ADVERSARIAL_LOSSES = ['bce', 'hinge'] as const;
export type AdversarialLoss = (typeof ADVERSARIAL_LOSSES)[number];

/** D's loss of that kind on its real and fake logits. */
export function adversarialLossD(kind: AdversarialLoss, realLogits: tf.Tensor, fakeLogits: tf.Tensor): tf.Scalar {
  return kind === 'hinge' ? hingeLossD(realLogits, fakeLogits) : bceLossD(realLogits, fakeLogits);
}

/** G's loss of that kind on D's logits of its images: non-saturating BCE, or -E[D(fake)]. */
export function adversarialLossG(kind: AdversarialLoss, fakeLogits: tf.Tensor): tf.Scalar {
  return kind === 'hinge' ? hingeLossG(fakeLogits) : nonSaturatingLossG(fakeLogits);
}
