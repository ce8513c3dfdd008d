import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setup, tf } from '../helpers.ts';
import { Rng } from '../../src/engine/rng.ts';
import { BatchNorm2d, Conv2d } from '../../src/nn/layers.ts';
import { withPlaceholderWeights } from '../../src/nn/init.ts';
import { ParamSet } from '../../src/nn/params.ts';

await setup();

/** Per channel of NHWC values: mean and biased variance in float64. */
function channelMoments(x: Float32Array, c: number): { mean: number[]; variance: number[] } {
  const rows = x.length / c;
  const mean = Array.from({ length: c }, (_, k) => { let s = 0; for (let r = 0; r < rows; r++) s += x[r * c + k]; return s / rows; });
  const variance = mean.map((m, k) => { let s = 0; for (let r = 0; r < rows; r++) s += (x[r * c + k] - m) ** 2; return s / rows; });
  return { mean, variance };
}

function assertNear(got: ArrayLike<number>, want: ArrayLike<number>, what: string, tol = 1e-5): void {
  assert.equal(got.length, want.length, what);
  for (let i = 0; i < want.length; i++) {
    if (!(Math.abs(got[i] - want[i]) <= tol * Math.max(1, Math.abs(want[i])))) assert.fail(`${what}: element ${i} is ${got[i]}, float64 gives ${want[i]}`);
  }
}

test('BatchNorm2d as PyTorch: batch statistics and running estimates (momentum 0.1, unbiased) over two training batches, then evaluation from the running ones', () => {
  const rng = new Rng(5, 'batch-norm');
  const [n, h, w, c] = [4, 3, 5, 6];
  const params = new ParamSet();
  const bn = new BatchNorm2d(params, 'bn', { channels: c, gammaInit: { kind: 'normal', mean: 1, std: 0.3 } }, rng);
  bn.beta.assign(tf.tensor1d(rng.fillNormal(new Float32Array(c))));
  const gamma = bn.gamma.dataSync();
  const beta = bn.beta.dataSync();
  const runningMean = new Array<number>(c).fill(0);
  const runningVar = new Array<number>(c).fill(1);
  const rows = n * h * w;
  for (let step = 0; step < 2; step++) {
    const xs = rng.fillNormal(new Float32Array(n * h * w * c), 0.5 * step - 0.3, 1 + step);
    const y = tf.tidy(() => bn.apply(tf.tensor4d(xs, [n, h, w, c]), true).dataSync());
    const { mean, variance } = channelMoments(xs, c);
    const want = Array.from(xs, (v, i) => gamma[i % c] * (v - mean[i % c]) / Math.sqrt(variance[i % c] + 1e-5) + beta[i % c]);
    assertNear(y, want, `training output, batch ${step}`, 1e-4);
    for (let k = 0; k < c; k++) {
      runningMean[k] = 0.9 * runningMean[k] + 0.1 * mean[k];
      runningVar[k] = 0.9 * runningVar[k] + 0.1 * variance[k] * rows / (rows - 1);
    }
    assertNear(bn.runningMean.dataSync(), runningMean, `running mean after batch ${step}`);
    assertNear(bn.runningVar.dataSync(), runningVar, `running variance after batch ${step}`);
  }
  const xs = rng.fillNormal(new Float32Array(2 * h * w * c));
  const before = tf.memory().numTensors;
  const y = tf.tidy(() => bn.apply(tf.tensor4d(xs, [2, h, w, c]), false).dataSync());
  assert.equal(tf.memory().numTensors, before, 'evaluation leaves no tensor behind');
  assertNear(y, Array.from(xs, (v, i) => gamma[i % c] * (v - runningMean[i % c]) / Math.sqrt(runningVar[i % c] + 1e-5) + beta[i % c]), 'evaluation output', 1e-4);
  // Under a gradient pass (projecting into z): d sum(y * u) / dx = u * gamma / sqrt(running variance + eps).
  const u = rng.fillNormal(new Float32Array(xs.length));
  const dx = tf.tidy(() => tf.grad((x: tf.Tensor) => tf.sum(tf.mul(bn.apply(x as tf.Tensor4D, false), tf.tensor(u, x.shape))))(tf.tensor4d(xs, [2, h, w, c])).dataSync());
  assertNear(dx, Array.from(u, (v, i) => (v * gamma[i % c]) / Math.sqrt(runningVar[i % c] + 1e-5)), 'evaluation gradient', 1e-4);
  assert.equal(tf.memory().numTensors, before, 'the gradient pass leaves no tensor behind');
  params.dispose();
});

test('networks built with placeholder weights (to be read from a file) draw nothing: zeros, the seeded stream untouched, and normal drawing after', () => {
  const params = new ParamSet();
  const rng = new Rng(5);
  const conv = (name: string) => new Conv2d(params, name, { inChannels: 3, outChannels: 4, kernel: 3, stride: 1, padding: 1, bias: true, init: { kind: 'normal', std: 0.02 } }, rng);
  withPlaceholderWeights(() => conv('a'));
  assert.ok(params.named().every(([, v]) => v.dataSync().every((x) => x === 0)), 'placeholders are zeros');
  assert.equal(rng.nextU32(), new Rng(5).nextU32(), 'no numbers drawn');
  assert.throws(() => withPlaceholderWeights(() => {
    throw new Error('a failed build');
  }), /a failed build/);
  conv('b');
  assert.ok(params.get('b.weight').dataSync().some((x) => x !== 0), 'drawn again once the build is over, even after a failed one');
  params.dispose();
});
