import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setup, tf } from '../helpers.ts';
import { ParamSet } from '../../src/nn/params.ts';
import { Rng } from '../../src/engine/rng.ts';
import { averageDecay, averagedNetworks, WeightAverage } from '../../src/optim/weight-average.ts';

await setup();

function network(rng: Rng, shapes: Record<string, number[]>): ParamSet {
  const params = new ParamSet();
  for (const [name, shape] of Object.entries(shapes)) {
    const size = shape.reduce((a, b) => a * b, 1);
    params.add(name, tf.tensor(rng.fillNormal(new Float32Array(size)), shape), !name.startsWith('running'));
  }
  return params;
}

test('the decay ramps up as TensorFlow\'s ExponentialMovingAverage with num_updates, then holds', () => {
  assert.equal(averageDecay(0.999, 0), 0.1);
  assert.equal(averageDecay(0.999, 10), 11 / 20);
  assert.equal(averageDecay(0.999, 100000), 0.999);
  assert.equal(averageDecay(0.5, 20), 0.5);
});

test('the average follows a <- d a + (1 - d) w over every tensor of the averaged networks (float64 reference), not D\'s or T\'s', () => {
  const rng = new Rng(5);
  const networks = {
    G: network(rng, { 'conv.weight': [3, 3, 2, 4], 'bn.weight': [4], running_mean: [4] }),
    D: network(rng, { 'conv.weight': [4, 4, 1, 2] }),
    T: network(rng, { embed: [7, 3] }),
  };
  assert.deepEqual(averagedNetworks(networks).map(([n]) => n), ['G']);
  const average = new WeightAverage(networks, 0.9);
  assert.deepEqual(average.named().map(([n]) => n), ['ema/G/conv.weight', 'ema/G/bn.weight', 'ema/G/running_mean']);
  const expected = networks.G.named().map(([, v]) => Float64Array.from(v.dataSync()));
  for (let t = 0; t < 30; t++) {
    // The weights move (as a step moves them), then the average follows.
    for (const [, v] of networks.G.named()) v.assign(tf.tidy(() => tf.add(v, tf.mul(tf.randomNormal(v.shape, 0, 1, 'float32', 100 + t), 0.3))));
    average.update();
    const d = averageDecay(0.9, t);
    networks.G.named().forEach(([, v], i) => {
      const w = v.dataSync();
      expected[i] = expected[i].map((a, j) => d * a + (1 - d) * w[j]);
    });
  }
  assert.equal(average.count, 30);
  average.named().forEach(([name, a], i) => {
    const got = a.dataSync();
    const err = Math.max(...expected[i].map((e, j) => Math.abs(e - got[j])));
    assert.ok(err < 1e-5, `${name}: off by ${err}`);
  });
  average.dispose();
  for (const p of Object.values(networks)) p.dispose();
});

test('swap puts the averages in the networks and back, and neither update nor swap leaks a tensor', async () => {
  const rng = new Rng(6);
  const networks = { G: network(rng, { w: [5, 3] }) };
  const w = networks.G.get('w');
  const average = new WeightAverage(networks, 0.5);
  w.assign(tf.zeros([5, 3]));
  average.update();
  const weights = Array.from(w.dataSync());
  const averages = Array.from(average.named()[0][1].dataSync());
  assert.notDeepEqual(weights, averages);
  const before = tf.memory().numTensors;
  for (let i = 0; i < 3; i++) average.update();
  const averagesNow = Array.from(average.named()[0][1].dataSync());
  const drawn = await average.withAverages(async () => Array.from(w.dataSync()));
  assert.deepEqual(drawn, averagesNow, 'drawn with the averages');
  assert.deepEqual(Array.from(w.dataSync()), weights, 'the weights are back');
  await assert.rejects(average.withAverages(async () => {
    throw new Error('a draw that fails');
  }), /a draw that fails/);
  assert.deepEqual(Array.from(w.dataSync()), weights, 'and back after a failed draw');
  assert.equal(tf.memory().numTensors, before);
  average.dispose();
  networks.G.dispose();
});
