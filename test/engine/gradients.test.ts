import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setup, tf } from '../helpers.ts';
import { Rng } from '../../src/engine/rng.ts';

await setup();

/**
 * A zero-centred gradient penalty P(w) = mean_i ||d D(x_i) / d x_i||^2 with D = conv2d -> LeakyReLU ->
 * conv2d -> sum. dP/dw needs the gradient of a gradient (double backprop through conv2d and LeakyReLU,
 * whose first gradient uses comparison ops). Checked against central finite differences in float64 terms.
 */
test('gradient-penalty gradient through conv2d + LeakyReLU matches finite differences', () => {
  const rng = new Rng(11);
  const x = tf.tensor4d(rng.fillNormal(new Float32Array(2 * 6 * 6 * 2)), [2, 6, 6, 2]);
  const w1 = tf.variable(tf.tensor4d(rng.fillNormal(new Float32Array(3 * 3 * 2 * 3), 0, 0.5), [3, 3, 2, 3]));
  const w2 = tf.variable(tf.tensor4d(rng.fillNormal(new Float32Array(3 * 3 * 3 * 1), 0, 0.5), [3, 3, 3, 1]));
  const D = (inp: tf.Tensor4D) => tf.sum(tf.conv2d(tf.leakyRelu(tf.conv2d(inp, w1 as tf.Tensor4D, 1, 'same'), 0.2), w2 as tf.Tensor4D, 2, 'valid'));
  const penalty = () => {
    const gx = tf.grad((inp: tf.Tensor) => D(inp as tf.Tensor4D))(x);
    return tf.mean(tf.sum(tf.square(gx), [1, 2, 3])) as tf.Scalar;
  };
  const { grads } = tf.variableGrads(penalty, [w1, w2]);
  const analytic = grads[w1.name].dataSync();
  const w1values = w1.dataSync().slice();
  const eps = 1e-2;
  let worst = 0;
  for (const i of [0, 5, 17, 33, 53]) {
    const at = (delta: number) => {
      const v = w1values.slice();
      v[i] += delta;
      w1.assign(tf.tensor4d(v, w1.shape as [number, number, number, number]));
      return tf.tidy(() => penalty().dataSync()[0]);
    };
    const numeric = (at(eps) - at(-eps)) / (2 * eps);
    const rel = Math.abs(numeric - analytic[i]) / Math.max(1e-3, Math.abs(numeric));
    worst = Math.max(worst, rel);
  }
  assert.ok(worst < 2e-2, `worst relative error ${worst}`);
  assert.ok(Math.abs(analytic[0]) + Math.abs(analytic[5]) > 0, 'gradient is not trivially zero');
});
