import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { maxAbsDiff, setup, tf } from '../helpers.ts';
import { Rng } from '../../src/engine/rng.ts';
import { colorJitter, cutoutMask, diffAugment, translate, translationRows } from '../../src/nn/diff-augment.ts';

await setup();

// PyTorch's (float64) output of the authors' DiffAugment_pytorch.py formulas with these draws: make_diff_augment.py.
const golden = JSON.parse(readFileSync(join(fileURLToPath(import.meta.url), '..', '..', 'golden', 'diff_augment.json'), 'utf8'));
const [N, H, W, C] = golden.shape_nhwc as number[];
const d = golden.draws;
const perImage = (values: number[], f: (u: number) => number) => tf.tensor4d(values.map(f), [N, 1, 1, 1]);

function policies() {
  return {
    color: (x: tf.Tensor4D) => colorJitter(x, perImage(d.brightness, (u) => u - 0.5), perImage(d.saturation, (u) => u * 2), perImage(d.contrast, (u) => u + 0.5)),
    translation: (x: tf.Tensor4D) => translate(x, tf.tensor1d(translationRows(N, H, W, d.shift_h, d.shift_w), 'int32')),
    cutout: (x: tf.Tensor4D) => tf.mul(x, tf.tensor4d(cutoutMask(N, H, W, d.centre_h, d.centre_w), [N, H, W, 1])) as tf.Tensor4D,
  };
}

test('color, translation and cutout give PyTorch\'s values for the same draws (the authors\' formulas, float64)', () => {
  const x = tf.tensor4d(golden.x, [N, H, W, C]);
  for (const [name, apply] of Object.entries(policies())) {
    const err = maxAbsDiff(tf.tidy(() => apply(x)).dataSync(), golden[name]);
    assert.ok(err < 1e-5, `${name}: off by ${err}`);
  }
  x.dispose();
});

test('the chained policies\' gradient is PyTorch\'s: G learns through them', () => {
  const x = tf.tensor4d(golden.x, [N, H, W, C]);
  const weights = tf.tensor4d(golden.weights, [N, H, W, C]);
  const p = policies();
  const grad = tf.tidy(() => tf.grad((v) => tf.sum(tf.mul(p.cutout(p.translation(p.color(v as tf.Tensor4D))), weights)))(x));
  const out = tf.tidy(() => p.cutout(p.translation(p.color(x))));
  assert.ok(maxAbsDiff(out.dataSync(), golden.chained) < 1e-5);
  const err = maxAbsDiff(grad.dataSync(), golden.grad);
  assert.ok(err < 1e-5, `gradient off by ${err}`);
  tf.dispose([x, weights, grad, out]);
});

test('each image draws its own augmentation from the step\'s stream: the same step the same images, every shift and square in range, no tensor left', () => {
  const x = tf.tidy(() => tf.add(tf.randomUniform([16, 32, 24, 3], -1, 1, 'float32', 4), 0) as tf.Tensor4D);
  const before = tf.memory().numTensors;
  const all = ['color', 'translation', 'cutout'] as const;
  const run = (step: number) => tf.tidy(() => diffAugment(x, all, { rng: new Rng(1, 'step', step) }).dataSync());
  assert.deepEqual(run(3), run(3));
  assert.ok(maxAbsDiff(run(3), run(4)) > 0.1);
  assert.equal(tf.memory().numTensors, before);
  // Draws over many images: shifts of at most 1/8 of each side, each value taken; squares of half each side, clipped.
  const rng = new Rng(2);
  const n = 400;
  const dy = Array.from({ length: n }, () => rng.int(9) - 4);
  const rows = translationRows(n, 32, 24, dy, dy.map(() => 0));
  for (let b = 0; b < n; b++) {
    // The middle row's source row, back in image coordinates.
    const padded = rows[(b * 32 + 16) * 24 + 12] - b * 34 * 26;
    assert.equal(Math.floor(padded / 26) - 1, 16 + dy[b]);
  }
  const mask = cutoutMask(n, 32, 24, dy.map((v) => v + 4), dy.map((v) => v + 8));
  for (let b = 0; b < n; b++) {
    const zeros = mask.subarray(b * 32 * 24, (b + 1) * 32 * 24).filter((v) => v === 0).length;
    // The square (16 x 12 from centre - 8, centre - 6) clipped by the top and left edges.
    const [y0, x0] = [dy[b] + 4 - 8, dy[b] + 8 - 6];
    assert.equal(zeros, (y0 + 16 - Math.max(y0, 0)) * (x0 + 12 - Math.max(x0, 0)), `image ${b}`);
  }
  x.dispose();
});
