import { test } from 'node:test';
import assert from 'node:assert/strict';
import { maxAbsDiff, setup, testWithoutAddon, tf } from '../helpers.ts';
import { Rng } from '../../src/engine/rng.ts';
import { downsample, downsampleOps, instanceNorm, instanceNormOps, reflectionPad, reflectionPadOps } from '../../src/nn/pix2pixhd.ts';

await setup();

/**
 * gantry's cpu kernels for pix2pixHD's per-image ops (reflection padding, the 3x3 / 2 average pooling
 * without padded pixels, instance norm) against the same ops written with tfjs's own ops (themselves
 * checked against PyTorch in test/nn/pix2pixhd.test.ts): values and gradients, at odd sizes. The file runs
 * again without the addon, so the JavaScript loops (the browser's) are checked as well as the native ones.
 */
const cases: [string, (x: tf.Tensor4D) => tf.Tensor4D, (x: tf.Tensor4D) => tf.Tensor4D][] = [
  ['reflection pad 3', (x) => reflectionPad(x, 3), (x) => reflectionPadOps(x, 3)],
  ['reflection pad 1', (x) => reflectionPad(x, 1), (x) => reflectionPadOps(x, 1)],
  ['3x3 / 2 average pooling', downsample, downsampleOps],
  ['instance norm', (x) => instanceNorm(x), (x) => instanceNormOps(x)],
];

for (const [name, fast, reference] of cases) {
  test(`${name}: gantry's cpu kernel matches the tfjs-op form, gradient included`, () => {
    const rng = new Rng(9, name);
    for (const shape of [[2, 7, 9, 5], [1, 8, 6, 16], [1, 33, 20, 12]] as [number, number, number, number][]) {
      tf.tidy(() => {
        const x = tf.tensor4d(rng.fillNormal(new Float32Array(shape.reduce((a, b) => a * b, 1))), shape);
        const y = fast(x);
        const want = reference(x);
        assert.deepEqual(y.shape, want.shape);
        assert.ok(maxAbsDiff(y.dataSync(), want.dataSync()) < 1e-5, `${name} ${shape} values`);
        const weights = tf.tensor4d(rng.fillNormal(new Float32Array(y.size)), y.shape as [number, number, number, number]);
        const loss = (f: (x: tf.Tensor4D) => tf.Tensor4D) => (t: tf.Tensor) => tf.sum(tf.mul(f(t as tf.Tensor4D), weights));
        const g = tf.grad(loss(fast))(x);
        const gWant = tf.grad(loss(reference))(x);
        assert.ok(maxAbsDiff(g.dataSync(), gWant.dataSync()) < 1e-4, `${name} ${shape} gradient`);
      });
    }
  });
}

test('the kernels leave no tensors behind', () => {
  const x = tf.randomNormal([1, 6, 6, 4]) as tf.Tensor4D;
  const before = tf.memory().numTensors;
  for (let i = 0; i < 3; i++) {
    tf.tidy(() => {
      tf.grad((t: tf.Tensor) => tf.sum(instanceNorm(downsample(reflectionPad(t as tf.Tensor4D, 2)))))(x);
    });
    instanceNorm(x).dispose();
  }
  assert.equal(tf.memory().numTensors, before);
  x.dispose();
});

testWithoutAddon(import.meta.url);
