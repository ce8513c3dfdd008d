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

test('Sum and Mean gradients are tfjs\'s values (dy times ones of x\'s shape, over the count) and differentiate again', () => {
  const rng = new Rng(5);
  for (const [shape, axes] of [[[4, 3, 2, 3, 2, 5], [2, 4]], [[6, 7, 8], [0, 1]], [[6, 7, 8], [2]], [[5, 4], [0, 1]]] as [number[], number[]][]) {
    const x = tf.tensor(rng.fillNormal(new Float32Array(shape.reduce((a, b) => a * b, 1))), shape);
    const kept = shape.map((s, d) => (axes.includes(d) ? 1 : s));
    const count = axes.reduce((p, d) => p * shape[d], 1);
    const dy = tf.tensor(rng.fillNormal(new Float32Array(kept.reduce((a, b) => a * b, 1))), shape.filter((_, d) => !axes.includes(d)));
    const tfjsSum = tf.tidy(() => tf.mul(tf.reshape(dy, kept), tf.ones(shape)));
    const tfjsMean = tf.tidy(() => tf.div(tfjsSum, count));
    const sum = tf.tidy(() => tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.sum(t, axes), dy)))(x));
    const mean = tf.tidy(() => tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.mean(t, axes), dy)))(x));
    assert.deepEqual(sum.dataSync(), tfjsSum.dataSync(), `sum ${shape} ${axes}`);
    assert.deepEqual(mean.dataSync(), tfjsMean.dataSync(), `mean ${shape} ${axes}`);
    // d/dx of sum((d mean(x^2) / dx) * w) = 2 w / count
    const w = tf.randomNormal(shape);
    const second = tf.tidy(() => tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.grad((u: tf.Tensor) => tf.sum(tf.mean(tf.square(u), axes)))(t), w)))(x));
    const expected = tf.tidy(() => tf.div(tf.mul(w, 2), count));
    const error = tf.tidy(() => tf.max(tf.abs(tf.sub(second, expected))).dataSync()[0]);
    assert.ok(error < 1e-6, `second derivative ${shape} ${axes}: ${error}`);
    tf.dispose([x, dy, tfjsSum, tfjsMean, sum, mean, w, second, expected]);
  }
});

test('average pooling differentiates twice (AvgPoolGrad\'s gradient, for MA-GP through DF-GAN\'s D): as the reshape-and-mean form', () => {
  const rng = new Rng(6);
  const [n, h, w, c] = [2, 6, 8, 3];
  const x = tf.tensor4d(rng.fillNormal(new Float32Array(n * h * w * c)), [n, h, w, c]);
  const v = tf.tensor4d(rng.fillNormal(new Float32Array(n * h * w * c)), [n, h, w, c]);
  const weights = tf.tensor4d(rng.fillNormal(new Float32Array(n * (h / 2) * (w / 2) * c)), [n, h / 2, w / 2, c]);
  const pool = (t: tf.Tensor4D) => tf.avgPool(t, 2, 2, 'valid');
  const meanPool = (t: tf.Tensor4D) => tf.reshape(tf.mean(tf.reshape(t, [n, h / 2, 2, w / 2, 2, c]), [2, 4]), [n, h / 2, w / 2, c]) as tf.Tensor4D;
  // A penalty on the input gradient of D(t) = sum(weights * pool(t * v)^2), differentiated by v: the path
  // MA-GP takes to D's weights, through the pooling's gradient.
  const penaltyGrad = (p: (t: tf.Tensor4D) => tf.Tensor4D) => tf.tidy(() => tf.grad((u: tf.Tensor) => {
    const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(weights, tf.square(p(tf.mul(t, u) as tf.Tensor4D)))))(x);
    return tf.sum(tf.square(g));
  })(v));
  const [got, want] = [penaltyGrad(pool), penaltyGrad(meanPool)];
  const error = tf.tidy(() => tf.max(tf.abs(tf.sub(got, want))).dataSync()[0] / tf.max(tf.abs(want)).dataSync()[0]);
  assert.ok(error < 1e-5, `relative error ${error}`);
  tf.dispose([x, v, weights, got, want]);
});
