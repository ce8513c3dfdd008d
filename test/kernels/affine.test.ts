import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setup, testWithoutAddon, tf } from '../helpers.ts';
import { Rng } from '../../src/engine/rng.ts';
import { modulate, modulateOps } from '../../src/nn/dfgan-blocks.ts';

await setup();

/**
 * DF-GAN's Affine as gantry's cpu kernel against the broadcasting multiply and add it replaces: the same
 * bits for y and for the gradients of x, gamma and beta (the kernel rounds and sums as those ops do). The
 * file runs again without the addon, for the JavaScript loops.
 */
test('Affine: gantry\'s cpu kernel gives the broadcasting ops\' bits, gradients included, and leaks nothing', () => {
  const rng = new Rng(12);
  const rand = (shape: number[]) => tf.tensor(rng.fillNormal(new Float32Array(shape.reduce((a, b) => a * b, 1))), shape);
  for (const [n, h, w, c] of [[2, 5, 7, 3], [16, 8, 8, 64], [1, 1, 1, 1], [3, 32, 32, 16]]) {
    const x = rand([n, h, w, c]) as tf.Tensor4D;
    const gamma = rand([n, c]) as tf.Tensor2D;
    const beta = rand([n, c]) as tf.Tensor2D;
    const dy = rand([n, h, w, c]);
    const before = tf.memory().numTensors;
    const loss = (f: typeof modulate) => (a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(dy, f(a as tf.Tensor4D, g as tf.Tensor2D, b as tf.Tensor2D)));
    const ours = tf.tidy(() => [modulate(x, gamma, beta), ...tf.grads(loss(modulate))([x, gamma, beta])]);
    const theirs = tf.tidy(() => [modulateOps(x, gamma, beta), ...tf.grads(loss(modulateOps))([x, gamma, beta])]);
    ['y', 'dx', 'dgamma', 'dbeta'].forEach((what, i) => {
      assert.deepEqual(ours[i].shape, theirs[i].shape, `${what} shape, [${n},${h},${w},${c}]`);
      assert.deepEqual(ours[i].dataSync(), theirs[i].dataSync(), `${what}, [${n},${h},${w},${c}]`);
    });
    tf.dispose([...ours, ...theirs]);
    assert.equal(tf.memory().numTensors, before, 'tensors left behind');
    tf.dispose([x, gamma, beta, dy]);
  }
});

testWithoutAddon(import.meta.url);
