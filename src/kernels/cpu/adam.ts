import * as tf from '@tensorflow/tfjs-core';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { floatValues } from './backend-data.ts';
import { ownedFloats, overwrittenFloats } from './float-pool.ts';
import { loadNativeAddon } from './native.ts';

export interface AdamScalars {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  bc1: number;
  bc2: number;
}

/**
 * The whole Adam update in one native call per parameter (instead of about ten tfjs ops), in place where
 * the variable alone holds its array (ownedFloats), else into output buffers (recycled: float-pool.ts)
 * that the variables are then assigned. Returns false where it cannot run (another
 * backend, no addon, non-float32 data) so the caller uses the tfjs ops.
 */
export function nativeAdamUpdate(params: tf.Variable[], grads: tf.NamedTensorMap, m: tf.Variable[], v: tf.Variable[], s: AdamScalars): boolean {
  if (tf.getBackend() !== 'cpu') return false;
  const { addon } = loadNativeAddon();
  if (!addon) return false;
  const backend = tf.backend() as MathBackendCPU;
  const arrays = params.map((p, i) => {
    const g = grads[p.name];
    return { p: floatValues(backend, p), g: g ? floatValues(backend, g) : new Float32Array(p.size), m: floatValues(backend, m[i]), v: floatValues(backend, v[i]) };
  });
  if (arrays.some((a) => !a.p || !a.g || !a.m || !a.v)) return false;
  arrays.forEach((a, i) => {
    const n = params[i].size;
    const targets = [params[i], m[i], v[i]];
    // Each update element by element reads p, m and v before writing them, so an owned array is its own output.
    const outs = targets.map((t) => ownedFloats(backend, t.dataId) ?? overwrittenFloats(backend, n));
    addon.adamUpdate(n, a.p!, a.g!, a.m!, a.v!, s.lr, s.beta1, s.beta2, s.eps, s.bc1, s.bc2, outs[0], outs[1], outs[2]);
    tf.tidy(() => {
      targets.forEach((t, k) => {
        if (outs[k] !== floatValues(backend, t)) t.assign(tf.tensor(outs[k], t.shape));
      });
    });
  });
  return true;
}
