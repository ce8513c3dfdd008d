import { test } from 'node:test';
import assert from 'node:assert/strict';
import { maxAbs, maxAbsDiff, setup, tf } from '../helpers.ts';
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

/**
 * Conv2d and Linear with a bias run tfjs's fused kernels, recorded with gantry's gradients: the same
 * values as the convolution (or product) plus a broadcast add and the activation, first and second
 * derivatives, and only the gradients asked for (tfjs's fused ops compute every input's).
 */
test('layers with a bias: fused kernels (bias, ReLU, LeakyReLU) with the gradients of the unfused ops, once and twice, computed only when wanted', async () => {
  const { ParamSet } = await import('../../src/nn/params.ts');
  const { Conv2d, Linear, RELU, leaky } = await import('../../src/nn/layers.ts');
  const rng = new Rng(8);
  const params = new ParamSet();
  const conv = new Conv2d(params, 'c', { inChannels: 3, outChannels: 5, kernel: 4, stride: 2, padding: 1, bias: true }, rng);
  const linear = new Linear(params, 'l', { inFeatures: 6, outFeatures: 4 }, rng);
  const x = tf.tensor4d(rng.fillNormal(new Float32Array(2 * 8 * 8 * 3)), [2, 8, 8, 3]);
  const v = tf.tensor2d(rng.fillNormal(new Float32Array(3 * 6)), [3, 6]);
  const w = tf.tensor(rng.fillNormal(new Float32Array(2 * 4 * 4 * 5)), [2, 4, 4, 5]);
  const close = (got: ArrayLike<number>, want: ArrayLike<number>, what: string) => assert.ok(maxAbsDiff(got, want) <= 1e-5 * Math.max(1e-6, maxAbs(want)), what);
  const plainConv = (t: tf.Tensor4D) => tf.add(tf.conv2d(t, conv.weight as tf.Tensor4D, 2, 1), conv.bias!);
  // D(x) = sum(w * f(x)) with f the layer and a LeakyReLU after it unless f has its own; the penalty is its
  // input gradient's squared norm, as R1 / MA-GP take it.
  const cases: [string, (t: tf.Tensor4D) => tf.Tensor, (t: tf.Tensor4D) => tf.Tensor][] = [
    ['bias', (t) => tf.leakyRelu(conv.apply(t), 0.2), (t) => tf.leakyRelu(plainConv(t), 0.2)],
    ['bias + LeakyReLU', (t) => conv.apply(t, leaky(0.2)), (t) => tf.leakyRelu(plainConv(t), 0.2)],
    ['bias + ReLU', (t) => conv.apply(t, RELU), (t) => tf.relu(plainConv(t))],
  ];
  for (const [what, fused, plain] of cases) {
    const score = (f: (t: tf.Tensor4D) => tf.Tensor) => (t: tf.Tensor) => tf.sum(tf.mul(f(t as tf.Tensor4D), w));
    const penalty = (f: (t: tf.Tensor4D) => tf.Tensor) => () => tf.sum(tf.square(tf.grad(score(f))(x))) as tf.Scalar;
    close(fused(x).dataSync(), plain(x).dataSync(), `${what}: output`);
    // A second derivative through a fused activation reaches the bias only through the activation's mask,
    // whose derivative is zero, and which tfjs does not connect (src/engine/gradients.ts): the weights' only.
    const secondBy = what === 'bias' ? [conv.weight, conv.bias!] : [conv.weight];
    for (const [order, grads] of [['first', (f: typeof fused) => tf.variableGrads(() => score(f)(x) as tf.Scalar, [conv.weight, conv.bias!])], ['second', (f: typeof fused) => tf.variableGrads(penalty(f), secondBy)]] as const) {
      const [got, want] = [grads(fused), grads(plain)];
      close(got.value.dataSync(), want.value.dataSync(), `${what}, ${order}: value`);
      for (const name of Object.keys(want.grads)) close(got.grads[name].dataSync(), want.grads[name].dataSync(), `${what}, ${order} derivative by ${name}`);
    }
  }
  for (const [what, activation, plain] of [['bias', undefined, (t: tf.Tensor) => t], ['bias + ReLU', RELU, tf.relu], ['bias + LeakyReLU', leaky(0.1), (t: tf.Tensor) => tf.leakyRelu(t, 0.1)]] as const) {
    const got = tf.variableGrads(() => tf.sum(tf.square(linear.apply(v, activation))), [linear.weight, linear.bias!]);
    const want = tf.variableGrads(() => tf.sum(tf.square(plain(tf.add(tf.matMul(v, linear.weight), linear.bias!)))), [linear.weight, linear.bias!]);
    for (const name of [linear.weight.name, linear.bias!.name]) close(got.grads[name].dataSync(), want.grads[name].dataSync(), `linear, ${what}: derivative by ${name}`);
  }
  // The input's gradient alone runs no filter gradient; the weights' alone no input gradient.
  const kernels = async (f: () => tf.Tensor) => (await tf.profile(f)).kernels.map((k) => k.name);
  for (const [what, fused] of cases.slice(0, 2)) {
    const score = (t: tf.Tensor) => tf.sum(tf.mul(fused(t as tf.Tensor4D), w));
    assert.ok(!(await kernels(() => tf.grad(score)(x))).includes('Conv2DBackpropFilter'), `${what}: the input's gradient computed the filter's`);
    const weightsOnly = await kernels(() => tf.variableGrads(() => score(x) as tf.Scalar, [conv.weight]).grads[conv.weight.name]);
    assert.ok(weightsOnly.includes('Conv2DBackpropFilter') && !weightsOnly.includes('Conv2DBackpropInput'), `${what}: the weights' gradient ran ${weightsOnly}`);
  }
  params.dispose();
  tf.dispose([x, v, w]);
});
