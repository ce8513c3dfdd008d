import { test } from 'node:test';
import assert from 'node:assert/strict';
import { maxAbsDiff, setup, tf } from '../helpers.ts';
import { Rng } from '../../src/engine/rng.ts';
import { Cgan, cganSchema } from '../../src/models/cgan.ts';
import { Acgan, acganFamily, acganSchema } from '../../src/models/acgan.ts';
import { classWeights } from '../../src/models/conditional.ts';
import { cganFamily } from '../../src/models/cgan.ts';
import { NO_CONDITION } from '../../src/models/condition.ts';
import { balancedClasses, conditionTensor } from '../../src/explore/conditions.ts';

await setup();

const small = { channels: 1, numClasses: 3, ngf: 8, ndf: 8, nz: 6, embedDim: 4 };

function images(n: number, seed = 1): tf.Tensor4D {
  return tf.tensor4d(new Rng(seed).fillNormal(new Float32Array(n * 32 * 32)), [n, 32, 32, 1]);
}

function oneHotRows(labels: number[], k: number): tf.Tensor2D {
  return tf.tidy(() => classWeights(tf.tensor1d(labels, 'int32'), k));
}

test('projection discriminator: D(x, y) - D(x, y\') = <E_y - E_y\', sum_hw phi(x)>, and G reads the class', () => {
  const model = new Cgan(cganSchema.parse(small), 2);
  const x = images(2);
  tf.tidy(() => {
    const a = model.critic.apply(x, oneHotRows([0, 0], 3), false).arraySync();
    const b = model.critic.apply(x, oneHotRows([2, 2], 3), false).arraySync();
    const phi = tf.sum(model.critic.net.features(x, false), [1, 2]).arraySync() as number[][];
    const E = model.critic.params.get('embed.weight').arraySync() as number[][]; // [K, c]
    for (let i = 0; i < 2; i++) {
      let expected = 0;
      for (let c = 0; c < phi[i].length; c++) expected += (E[0][c] - E[2][c]) * phi[i][c];
      assert.ok(Math.abs(a[i] - b[i] - expected) < 1e-4, `image ${i}: ${a[i] - b[i]} vs ${expected}`);
    }
    // The same z as two classes gives two different images; a half/half mixture lies between in embedding space.
    const z = tf.tensor2d(new Rng(3).fillNormal(new Float32Array(2 * 6)), [2, 6]);
    const classes = (rows: tf.Tensor2D) => ({ kind: 'class' as const, weights: rows });
    const g0 = model.generate(z, classes(oneHotRows([0, 0], 3)));
    const g1 = model.generate(z, classes(oneHotRows([1, 1], 3)));
    assert.notDeepEqual(g0.dataSync(), g1.dataSync());
    // The conditions module's grid: image i is of class i % K.
    const balanced = model.generate(z, conditionTensor(balancedClasses(model.info, 2)));
    const expectedBalanced = model.generate(z, classes(oneHotRows([0, 1], 3)));
    assert.ok(maxAbsDiff(balanced.dataSync(), expectedBalanced.dataSync()) < 1e-6);
    assert.throws(() => model.generate(z, classes(oneHotRows([0, 1], 2) as tf.Tensor2D)), /class weights must be \[2, 3\]/);
    assert.throws(() => model.generate(z, NO_CONDITION), /conditioned on a class, not nothing/);
  });
  // "multiply": G's input is z * E_y, so a half/half class mixture feeds z * (E_a + E_b) / 2.
  tf.tidy(() => {
    const z = tf.tensor2d(new Rng(4).fillNormal(new Float32Array(6)), [1, 6]);
    const E = model.G.params.get('embed.weight'); // [K, nz]
    const mixed = model.generate(z, { kind: 'class', weights: tf.tensor2d([[0.5, 0.5, 0]]) });
    const direct = model.G.net.apply(tf.mul(z, tf.mul(0.5, tf.add(tf.slice(E, [0, 0], [1, 6]), tf.slice(E, [1, 0], [1, 6])))) as tf.Tensor2D, false);
    assert.ok(maxAbsDiff(mixed.dataSync(), direct.dataSync()) < 1e-6);
  });
  x.dispose();
  model.dispose();
});

test('acgan: D loss = BCE(real, fake) + w x (CE(real classes) + CE(fake classes)), checked in float64', () => {
  const model = new Acgan(acganSchema.parse({ ...small, classWeight: 0.5 }), 4);
  const real = { images: images(3, 5), labels: tf.tensor1d([0, 2, 1], 'int32'), weights: oneHotRows([0, 2, 1], 3) };
  const fake = { images: images(3, 6), labels: tf.tensor1d([1, 1, 0], 'int32'), weights: oneHotRows([1, 1, 0], 3) };
  const r = model.critic.apply(real.images, true);
  const f = model.critic.apply(fake.images, true);
  const softplus = (v: number) => Math.log1p(Math.exp(-Math.abs(v))) + Math.max(v, 0);
  const ce = (logits: number[][], labels: number[]) =>
    logits.reduce((s, row, i) => {
      const m = Math.max(...row);
      return s + (Math.log(row.reduce((t, v) => t + Math.exp(v - m), 0)) + m - row[labels[i]]);
    }, 0) / logits.length;
  const rs = r.source.arraySync(), fs = f.source.arraySync();
  const bce = rs.reduce((s, v) => s + softplus(-v), 0) / 3 + fs.reduce((s, v) => s + softplus(v), 0) / 3;
  const expected = bce + 0.5 * (ce(r.classes.arraySync(), [0, 2, 1]) + ce(f.classes.arraySync(), [1, 1, 0]));
  const losses = model.critic.lossD(r, f, { real, fake });
  assert.ok(Math.abs(losses.lossD.dataSync()[0] - expected) < 1e-4, `${losses.lossD.dataSync()[0]} vs ${expected}`);
  assert.ok(Math.abs(losses.classReal.dataSync()[0] - ce(r.classes.arraySync(), [0, 2, 1])) < 1e-4);
  tf.dispose([real.images, real.labels, real.weights, fake.images, fake.labels, fake.weights, r.source, r.classes, f.source, f.classes, losses.lossD, losses.classReal]);
  model.dispose();
});

test('conditional train steps keep the tensor count flat and change G, its class embedding and D (with R1 and WGAN-GP too)', () => {
  const models = [
    new Cgan(cganSchema.parse(small), 1), new Acgan(acganSchema.parse(small), 1), new Cgan(cganSchema.parse({ ...small, conditioning: 'concat', loss: 'hinge' }), 1),
    // R1 keeps AC-GAN's class logits past the penalty's gradient; augmented, the gradient is by the images before it.
    new Acgan(acganSchema.parse({ ...small, r1: 10, augment: ['color', 'cutout'] }), 1), new Cgan(cganSchema.parse({ ...small, r1: 1, loss: 'hinge', spectralNorm: true }), 1),
    // A lazy R1: steps 0 and 2 take an update of D's own on it.
    new Acgan(acganSchema.parse({ ...small, r1: 10, r1Every: 2, augment: ['translation'] }), 1),
    // WGAN-GP: the penalty's pass of D at the interpolates (acgan's class logits there unused).
    new Cgan(cganSchema.parse({ ...small, loss: 'wgan-gp' }), 1), new Acgan(acganSchema.parse({ ...small, loss: 'wgan-gp', augment: ['color'] }), 1),
  ];
  assert.deepEqual(models[2].G.params.get('embed.weight').shape, [3, 4]); // concat: [K, embedDim]
  assert.equal(models[2].G.params.get('main.0.weight').shape[3], 6 + 4); // [k, k, out, in]: z and the embedding in
  for (const model of models) {
    const x = images(6);
    const labels = tf.tensor1d([0, 1, 2, 0, 1, 2], 'int32');
    const before = ['embed.weight', 'main.0.weight'].map((n) => model.G.params.get(n).dataSync().slice());
    const d0 = model.critic.params.get('main.0.weight').dataSync().slice();
    const counts: number[] = [];
    for (let step = 0; step < 4; step++) {
      const losses = model.trainStep({ images: x, labels }, { step, rng: new Rng(1, 'step', step) });
      for (const v of Object.values(losses)) assert.ok(Number.isFinite(v.dataSync()[0]));
      tf.dispose(Object.values(losses));
      counts.push(tf.memory().numTensors);
    }
    assert.ok(counts.every((c) => c === counts[0]), `tensor counts ${counts}`);
    ['embed.weight', 'main.0.weight'].forEach((n, i) => assert.notDeepEqual(model.G.params.get(n).dataSync(), before[i], n));
    assert.notDeepEqual(model.critic.params.get('main.0.weight').dataSync(), d0);
    assert.throws(() => model.trainStep({ images: x }, { step: 9, rng: new Rng(1) }), /needs labelled batches/);
    tf.dispose([x, labels]);
    model.dispose();
  }
});

test('conditional configs: classes come from the data, a mismatch or unlabelled data is named', () => {
  const data = { height: 32, width: 32, channels: 3, numClasses: 4, classNames: ['a', 'b', 'c', 'd'] };
  const resolved = cganFamily.resolve(cganSchema.parse({}), data);
  assert.equal(resolved.numClasses, 4);
  assert.equal(resolved.channels, 3);
  assert.deepEqual(resolved.classNames, ['a', 'b', 'c', 'd']);
  assert.throws(() => cganFamily.resolve(cganSchema.parse({ numClasses: 10 }), data), /model.numClasses is 10 but the data has 4 classes/);
  assert.throws(() => cganFamily.resolve(cganSchema.parse({}), { ...data, numClasses: 0 }), /no class labels/);
  assert.throws(() => acganFamily.resolve(acganSchema.parse({}), { ...data, numClasses: 1, classNames: ['b'] }), /^GantryError: acgan: the data has one class \(b\), and acgan learns to tell classes apart; give it two or more \(\?classes=a,b\), or train dcgan on one class$/);
  assert.throws(() => cganSchema.parse({ clases: 3 }), /clases/);
  assert.throws(() => acganFamily.resolve(acganSchema.parse({ gp: 1 }), data), /^GantryError: acgan: model\.gp weighs WGAN-GP's gradient penalty/);
});
