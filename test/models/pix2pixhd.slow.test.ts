import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setup, tf } from '../helpers.ts';
import { Rng } from '../../src/engine/rng.ts';
import { generateShapes } from '../../src/data/shapes.ts';
import { labelMapInput, mapTensor } from '../../src/data/label-maps.ts';
import { Pix2PixHD, pix2pixhdSchema } from '../../src/models/pix2pixhd.ts';

await setup();

/**
 * The training step learns a label-to-image mapping from the adversarial and feature-matching terms
 * alone (no pixel loss): the shapes data's label maps (0 background, 1..4 the shape) drawn as a fixed
 * palette. Measured as the mean absolute error of G's images against the palette images on held-out maps.
 */
const PALETTE: [number, number, number][] = [[-0.8, -0.6, 0.9], [0.9, -0.8, -0.8], [-0.7, 0.8, -0.6], [0.9, 0.9, -0.7], [0.8, -0.6, 0.8]];
const size = 16;
const labelNc = 5;

function batchOf(first: number, n: number): { input: tf.Tensor4D; target: tf.Tensor4D } {
  const shapes = generateShapes(first + n, size, 3);
  const labels = Int32Array.from(shapes.labelMaps.subarray(first * size * size));
  const target = new Float32Array(n * size * size * 3);
  labels.forEach((l, i) => target.set(PALETTE[l], i * 3));
  return { input: tf.tidy(() => labelMapInput(mapTensor(labels, n, size, size), null, labelNc)), target: tf.tensor4d(target, [n, size, size, 3]) };
}

function error(model: Pix2PixHD, held: { input: tf.Tensor4D; target: tf.Tensor4D }): number {
  return tf.tidy(() => tf.mean(tf.abs(tf.sub(model.G.apply(held.input), held.target))).dataSync()[0]);
}

test('pix2pixHD\'s step (LSGAN + feature matching, two scales) learns a label-map-to-image mapping; tensor count flat; D-only steps leave G', () => {
  const model = new Pix2PixHD(pix2pixhdSchema.parse({ labelNc, instances: false, ngf: 8, nDown: 2, nBlocks: 1, ndf: 8, nLayers: 2, numD: 2 }), 1);
  const held = batchOf(1000, 16);
  const before = error(model, held);
  const counts: number[] = [];
  for (let step = 0; step < 150; step++) {
    const { input, target } = batchOf(new Rng(2, 'order', step).int(900), 8);
    const losses = model.stepOn(input, target);
    tf.dispose([input, target, ...Object.values(losses)]);
    if (step >= 1) counts.push(tf.memory().numTensors);
  }
  const after = error(model, held);
  console.log(`pix2pixHD toy mapping: mean absolute error ${before.toFixed(3)} before, ${after.toFixed(3)} after 150 steps`);
  assert.ok(after < 0.5 * before, `error ${before} -> ${after}`);
  assert.ok(counts.every((c) => c === counts[0]), `tensor counts ${counts.slice(0, 5)}...`);
  const g0 = model.networks.G.trainable()[0].dataSync().slice();
  const { input, target } = batchOf(0, 8);
  tf.dispose(Object.values(model.stepOn(input, target, false)));
  assert.deepEqual(model.networks.G.trainable()[0].dataSync(), g0);
  tf.dispose([input, target, held.input, held.target]);
  model.dispose();
});
