import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setup, tf } from '../helpers.ts';
import { Rng } from '../../src/engine/rng.ts';
import { withR1 } from '../../src/losses/penalties.ts';

await setup();

/**
 * A critic small enough to differentiate by hand: each image's logit is sum_hwc w_c (m_hw x_hwc)^2, where the
 * mask m stands for an augmentation applied inside D's pass, so d logit / dx = 2 w m^2 x.
 */
function critic(n: number) {
  const rng = new Rng(7);
  const w = tf.variable(tf.tensor1d(rng.fillNormal(new Float32Array(3))));
  const mask = tf.tensor4d(Float32Array.from({ length: 4 * 5 }, (_, i) => 0.5 + (i % 3) * 0.4), [1, 4, 5, 1]);
  const x = tf.tensor4d(rng.fillNormal(new Float32Array(n * 4 * 5 * 3)), [n, 4, 5, 3]);
  const forward = (images: tf.Tensor4D) => {
    const seen = tf.mul(images, mask);
    const source = tf.sum(tf.mul(tf.square(seen), w), [1, 2, 3]) as tf.Tensor1D;
    return { source, seen: seen as tf.Tensor4D };
  };
  return { w, mask, x, forward, dispose: () => tf.dispose([w, mask, x]) };
}

test('withR1: gamma/2 x mean |d(sum of logits)/d(images before augmentation)|^2 added to lossD and reported; its gradient by D\'s weights against central differences; outputs alive for the losses, freed after', () => {
  const n = 3, gamma = 4;
  const c = critic(n);
  const before = tf.memory().numTensors;
  // The penalty in float64 from the gradient written out: 2 w m^2 x.
  const xv = c.x.arraySync(), mv = c.mask.arraySync()[0], wv = c.w.arraySync() as number[];
  let expected = 0;
  for (let i = 0; i < n; i++) {
    let sq = 0;
    for (let h = 0; h < 4; h++) for (let q = 0; q < 5; q++) for (let ch = 0; ch < 3; ch++) sq += (2 * wv[ch] * mv[h][q][0] ** 2 * xv[i][h][q][ch]) ** 2;
    expected += (gamma / 2) * sq / n;
  }
  const lossOf = (g: number) => withR1(c.x, g, c.forward, (outputs) => {
    assert.ok(!outputs.seen.isDisposed, 'the other outputs live while the losses are computed');
    return { lossD: tf.mean(outputs.source) as tf.Scalar, seenMean: tf.mean(outputs.seen) as tf.Scalar };
  });
  tf.tidy(() => {
    const plain = lossOf(0);
    assert.equal(plain.r1, undefined, 'gamma 0: no penalty');
    const penalised = lossOf(gamma);
    const r1 = penalised.r1.dataSync()[0];
    assert.ok(Math.abs(r1 - expected) <= 1e-5 * expected, `R1 ${r1} vs ${expected} (float64)`);
    assert.ok(Math.abs(penalised.lossD.dataSync()[0] - (plain.lossD.dataSync()[0] + r1)) < 1e-5);
    assert.equal(penalised.seenMean.dataSync()[0], plain.seenMean.dataSync()[0]);
  });
  assert.equal(tf.memory().numTensors, before, 'no tensor left behind');
  // d lossD / d w through the double backward pass, against central differences in w.
  const { grads } = tf.variableGrads(() => lossOf(gamma).lossD, [c.w]);
  const analytic = grads[c.w.name].dataSync();
  tf.dispose(grads);
  const eps = 1e-2;
  for (let k = 0; k < 3; k++) {
    const at = (delta: number) => {
      const shifted = wv.map((v, j) => (j === k ? v + delta : v));
      c.w.assign(tf.tensor1d(shifted));
      const value = tf.tidy(() => lossOf(gamma).lossD.dataSync()[0]);
      c.w.assign(tf.tensor1d(wv));
      return value;
    };
    const numeric = (at(eps) - at(-eps)) / (2 * eps);
    assert.ok(Math.abs(analytic[k] - numeric) <= 2e-3 * Math.max(1, Math.abs(numeric)), `d/dw${k}: ${analytic[k]} vs ${numeric}`);
  }
  c.dispose();
});
