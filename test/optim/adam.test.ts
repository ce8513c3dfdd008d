import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setup, tf } from '../helpers.ts';
import { Adam } from '../../src/optim/adam.ts';
import { buildModel, FAMILIES } from '../../src/models/index.ts';

await setup();

test('Adam makes its moments at the first update (or when asked for), not when built: a model built to draw holds none', () => {
  const params = [tf.variable(tf.ones([3, 2])), tf.variable(tf.ones([4]))];
  const grads = { [params[0].name]: tf.ones([3, 2]), [params[1].name]: tf.ones([4]) };
  const start = tf.memory().numTensors;
  const adam = new Adam(params, { lr: 0.1, beta1: 0.5, beta2: 0.999 });
  adam.reset();
  assert.equal(tf.memory().numTensors, start, 'no moments before an update');
  adam.apply(grads);
  assert.equal(tf.memory().numTensors, start + 4, 'm and v for each parameter');
  assert.deepEqual(Array.from(adam.m[0].dataSync()), new Array(6).fill(0.5), 'm after one update of g = 1, beta1 0.5');
  adam.apply(grads);
  assert.equal(tf.memory().numTensors, start + 4);
  adam.reset();
  assert.deepEqual(Array.from(adam.v[1].dataSync()), [0, 0, 0, 0]);
  adam.dispose();
  assert.equal(tf.memory().numTensors, start);
  // Asked for before any update (a checkpoint of a fresh model): zeros.
  const fresh = new Adam(params, { lr: 0.1, beta1: 0.5, beta2: 0.999 });
  assert.deepEqual(Array.from(fresh.v[0].dataSync()), [0, 0, 0, 0, 0, 0]);
  fresh.dispose();
  tf.dispose([...params, ...Object.values(grads)]);

  // A pix2pixhd built (as sample, translate and the exported page build one) holds its parameters only.
  const before = tf.memory().numTensors;
  const model = buildModel({ family: 'pix2pixhd', model: FAMILIES.pix2pixhd.schema.parse({ height: 32, labelNc: 4, ngf: 4, nDown: 2, nBlocks: 1, ndf: 4, nLayers: 2 }) as Record<string, unknown>, seed: 0 });
  const parameters = Object.values(model.networks).reduce((n, p) => n + p.named().length, 0);
  assert.equal(tf.memory().numTensors - before, parameters);
  model.dispose();
  assert.equal(tf.memory().numTensors, before);
});
