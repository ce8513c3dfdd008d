import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from '../engine/rng.ts';
import { initTensor } from './init.ts';
import type { ParamSet } from './params.ts';

/** PyTorch's spectral_norm eps: the floor of a norm that divides. */
const EPS = 1e-12;

/** x / max(|x|, eps), as torch.nn.functional.normalize. */
function normalize(x: tf.Tensor): tf.Tensor {
  return tf.div(x, tf.maximum(tf.norm(x), EPS));
}

/**
 * Spectral normalisation of a weight (Miyato et al. 2018) as torch.nn.utils.spectral_norm does it: the
 * weight divided by its largest singular value sigma, estimated by one power iteration a forward pass from
 * a kept left vector u (a buffer, `<layer>.weight_u`, drawn N(0, 1) and normalised). The matrix is the
 * weight with its output channels as rows (PyTorch's weight.view(out, -1)); gantry keeps weights with the
 * output channels last, [..., out], so here M = weight.reshape(-1, out) is that matrix transposed and
 * v = normalize(M u), u = normalize(M^T v), sigma = u . (M^T v).
 *
 * The gradient is PyTorch's: u and v are held fixed, so d sigma / dM = v u^T and
 * dL/dM = G / sigma - <G, M> / sigma^2 v u^T for G = dL/d(M / sigma). Every forward pass moves u, as PyTorch's
 * does in training mode: the networks that use it (discriminators) run only in training steps.
 */
export class SpectralNorm {
  readonly u: tf.Variable;
  private readonly out: number;

  constructor(params: ParamSet, name: string, private readonly weight: tf.Variable, rng: Rng) {
    this.out = weight.shape[weight.rank - 1];
    this.u = params.add(`${name}.weight_u`, tf.tidy(() => normalize(initTensor([this.out], { kind: 'normal', std: 1 }, rng))), false);
  }

  /** The weight over its spectral norm, u moved one power iteration. */
  apply(): tf.Tensor {
    const out = this.out;
    const u = this.u;
    const normalized = tf.customGrad(((w: tf.Tensor, save: tf.GradSaveFunc) => {
      // Inside a custom gradient's forward, nothing is taped: u and v carry no gradient, as in PyTorch.
      const m = tf.reshape(w, [-1, out]);
      const v = normalize(tf.matMul(m, tf.reshape(u, [out, 1]))); // [rest, 1]
      const mtv = tf.matMul(m, v, true, false); // [out, 1]: PyTorch's W v
      const uNext = normalize(mtv);
      const sigma = tf.sum(tf.mul(uNext, mtv));
      u.assign(tf.reshape(uNext, [out]));
      save([m, v, uNext, sigma]);
      return {
        value: tf.div(w, sigma),
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
          const [m, v, uNext, sigma] = saved;
          const g = tf.reshape(dy, m.shape);
          const inner = tf.sum(tf.mul(g, m));
          const dm = tf.sub(tf.div(g, sigma), tf.mul(tf.div(inner, tf.square(sigma)), tf.matMul(v, uNext, false, true)));
          return tf.reshape(dm, dy.shape);
        },
      };
    }) as unknown as Parameters<typeof tf.customGrad>[0]);
    return normalized(this.weight);
  }
}
