import * as tf from '@tensorflow/tfjs-core';
import { offTape } from '../engine/backward.ts';
import type { ParamSet } from '../nn/params.ts';
import type { Adam } from '../optim/adam.ts';
import type { DiscriminatorLosses } from '../losses/adversarial.ts';

/** A network of the game with its optimizer. */
export interface Player {
  params: ParamSet;
  optimizer: Adam;
}


/** One network with its optimizer, or several trained together (pix2pixHD's G1 and G2). */
export type Side = Player | Player[];

const sides = (side: Side): Player[] => (Array.isArray(side) ? side : [side]);

export interface AlternatingStep<F extends tf.TensorContainer> {
  /** false on D-only steps (train.dSteps > 1): G is neither differentiated nor updated (absent: true). */
  updateG?: boolean;
  /**
   * false (absent): D is updated at once and G's loss goes through the updated D (pytorch/examples/dcgan).
   * true: D's gradients are taken first but applied after G's loss, so G learns through the same D that D's
   * loss saw, as NVIDIA's pix2pixHD steps both from one forward pass (lossD may keep tensors for lossG).
   */
  simultaneous?: boolean;
  /** G's forward pass (training mode), once per step; D's loss sees it detached, G's loss through D. */
  fake(): F;
  lossD(fake: F): DiscriminatorLosses;
  lossG(fake: F): tf.Scalar;
  /**
   * A regularization update of D's own on this step (lazy R1), taken right after D's update from lossD:
   * its lossD is minimised, its other terms reported.
   */
  regularizeD?(): DiscriminatorLosses;
}

/**
 * One GAN step in pytorch/examples/dcgan's order, owning the nested tapes: G's forward on the outer tape
 * (the variables of G's side; networks left out of it stay fixed); D's loss on an inner tape over D's
 * variables only, taken off G's tape (offTape: G's gradient never reads it, so G's tape need not hold D's
 * activations until G's backward pass), D updated at once, so nothing of it reaches G's gradient (the fake
 * batch is detached for D; tensors D's loss keeps are constants to G's tape); then G's loss through the updated D (or, with
 * `simultaneous`, through D as it was, D updated after) on the same fake batch. Returns { lossD, lossG,
 * ...reported }, which the caller disposes; every gradient and intermediate tensor is freed here.
 */
export function alternatingStep<F extends tf.TensorContainer>(G: Side, D: Player, step: AlternatingStep<F>): Record<string, tf.Scalar> {
  const reported: Record<string, tf.Scalar> = {};
  let pendingD: tf.NamedTensorMap | null = null;
  /** D's gradients of a loss, off G's tape; its other terms are reported. */
  const gradsOfD = (loss: () => DiscriminatorLosses) => offTape(() => tf.variableGrads(() => {
    const { lossD, ...rest } = loss();
    for (const [name, t] of Object.entries(rest)) reported[name] = tf.keep(t);
    return lossD;
  }, D.params.trainable()));
  const applyD = (grads: tf.NamedTensorMap) => {
    D.optimizer.apply(grads);
    tf.dispose(grads);
    if (!step.regularizeD) return;
    const regularization = gradsOfD(step.regularizeD);
    regularization.value.dispose();
    D.optimizer.apply(regularization.grads);
    tf.dispose(regularization.grads);
  };
  const updateD = (fake: F, later = false): tf.Scalar => {
    const { value, grads } = gradsOfD(() => step.lossD(fake));
    // Pending gradients outlive G's tape, whose scope would free them.
    if (later) pendingD = Object.fromEntries(Object.entries(grads).map(([k, g]) => [k, tf.keep(g)]));
    else applyD(grads);
    return value;
  };
  if (step.updateG === false) {
    const fake = tf.tidy(() => step.fake());
    const lossD = updateD(fake);
    tf.dispose(fake);
    return { lossD, ...reported };
  }
  let lossD: tf.Scalar | null = null;
  const { value: lossG, grads } = tf.variableGrads(() => {
    const fake = step.fake();
    lossD = tf.keep(updateD(fake, step.simultaneous));
    return step.lossG(fake);
  }, sides(G).flatMap((g) => g.params.trainable()));
  // Each optimizer takes the gradients of its own variables.
  for (const g of sides(G)) g.optimizer.apply(grads);
  tf.dispose(grads);
  if (pendingD) applyD(pendingD);
  return { lossD: lossD!, lossG, ...reported };
}
