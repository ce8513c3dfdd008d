import * as tf from '@tensorflow/tfjs-core';
import { hostInput } from './host-input.ts';
import { Rng } from './rng.ts';
import { NORMAL_NOISE } from '../kernels/normal-noise.ts';
import { ownKernel } from '../kernels/registry.ts';

/**
 * A step's standard normal noise of `shape` from the stream `stream(scope)` (a host input: a replayed step
 * draws the next step's). On the host (Rng.fillNormal) where the backend has no device generator, or where
 * the stream is not a seeded Rng (a test's recorded noise); on WebGPU drawn on the GPU from four words of
 * the stream (NORMAL_NOISE), so a step of millions of values uploads 16 bytes: other values than the
 * host's, of the same distribution, and the same on every replay of the same step.
 */
export function stepNoise<S extends object>(scope: S, stream: (scope: S) => Rng, shape: number[]): tf.Tensor {
  const size = shape.reduce((a, b) => a * b, 1);
  const seeded = 'rng' in scope && (scope as { rng: unknown }).rng instanceof Rng;
  if (!seeded || !ownKernel(NORMAL_NOISE)) return hostInput(scope, (s) => stream(s).fillNormal(new Float32Array(size)), shape);
  const seed = hostInput(scope, (s) => {
    const r = stream(s);
    return Int32Array.from({ length: 4 }, () => r.nextU32() | 0);
  }, [4], 'int32');
  const noise = tf.engine().runKernel(NORMAL_NOISE, { seed }, { shape }) as tf.Tensor;
  seed.dispose();
  return noise;
}
