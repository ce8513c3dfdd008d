import { test } from 'node:test';
import assert from 'node:assert/strict';
import { maxAbsDiff, setup, tf } from '../helpers.ts';
import { Rng } from '../../src/engine/rng.ts';
import { Dfgan, dfganFamily, dfganSchema, dfganWidths } from '../../src/models/dfgan.ts';
import { sampleLatent } from '../../src/nn/noise.ts';
import { Affine, averagePool2x2 } from '../../src/nn/dfgan-blocks.ts';
import { ParamSet } from '../../src/nn/params.ts';
import { maGradientPenalty } from '../../src/losses/penalties.ts';

await setup();

const captions = ['a small red circle on a blue background', 'a large green square on a white background', 'a small blue diamond on a red background', 'a large red square on a green background'];
const data = { height: 32, width: 32, channels: 3, numClasses: 0, captions: captions.map((c) => [c]) };
const small = (over: Record<string, unknown> = {}) => dfganFamily.resolve(dfganSchema.parse({
  ngf: 2, ndf: 2, nz: 5, embedDim: 6, wordDim: 4, textHidden: 8, textSteps: 1, ...over,
}), data);

function images(n: number, seed = 1): tf.Tensor4D {
  return tf.tensor4d(new Rng(seed).fillNormal(new Float32Array(n * 32 * 32 * 3)), [n, 32, 32, 3]);
}

test('DF-GAN blocks: a new Affine passes x through; the 2x2 average pool is avgPool\'s; G and D shapes', () => {
  const params = new ParamSet();
  const affine = new Affine(params, 'a', 6, 4, new Rng(1));
  tf.tidy(() => {
    const x = tf.randomNormal([2, 3, 3, 4]) as tf.Tensor4D;
    const e = tf.randomNormal([2, 6]) as tf.Tensor2D;
    assert.ok(maxAbsDiff(affine.apply(x, e).dataSync(), x.dataSync()) < 1e-7);
    const y = tf.randomNormal([2, 6, 4, 3]) as tf.Tensor4D;
    assert.ok(maxAbsDiff(averagePool2x2(y).dataSync(), tf.avgPool(y, 2, 2, 'valid').dataSync()) < 1e-6);
  });
  params.dispose();
  // The official get_G_in_out_chs: min(2^i, 8) for log2(S) - 1 widths, reversed.
  assert.deepEqual([32, 64, 128, 256].map(dfganWidths), [[8, 4, 2, 1], [8, 8, 4, 2, 1], [8, 8, 8, 4, 2, 1], [8, 8, 8, 8, 4, 2, 1]]);
  for (const imageSize of [32, 64, 256]) {
    const model = new Dfgan(dfganFamily.resolve(dfganSchema.parse({ imageSize, ngf: 2, ndf: 2, nz: 5, embedDim: 6, textHidden: 8 }), { ...data, height: imageSize, width: imageSize }), 2);
    tf.tidy(() => {
      const z = tf.randomNormal([3, 5]) as tf.Tensor2D;
      const e = model.encodeText(captions.slice(0, 3));
      const x = model.G.apply(z, e);
      assert.deepEqual(x.shape, [3, imageSize, imageSize, 3]);
      const features = model.D.features(x);
      assert.deepEqual(features.shape, [3, 4, 4, 16]);
      assert.deepEqual(model.D.score(features, e).shape, [3]);
      // D reads the sentence vector from the start; G's Affines start as the identity (checked above).
      const other = model.encodeText(captions.slice(1, 4));
      assert.notDeepEqual(model.D.score(features, other).dataSync(), model.D.score(features, e).dataSync());
    });
    model.dispose();
  }
});

test('MA-GP: 2 · mean((|dD/dx|² + |dD/de|²)³) and its gradient with respect to D\'s weights by finite differences', () => {
  const model = new Dfgan(small(), 3);
  const x = images(2, 4);
  const e = model.encodeText(captions.slice(0, 2));
  const penalty = () => {
    const [gx, ge] = tf.grads((a: tf.Tensor, b: tf.Tensor) => model.D.score(model.D.features(a as tf.Tensor4D), b as tf.Tensor2D))([x, e]);
    return maGradientPenalty(gx as tf.Tensor4D, ge as tf.Tensor2D, 2, 6);
  };
  // The value against the gradients summed by hand in float64.
  tf.tidy(() => {
    const [gx, ge] = tf.grads((a: tf.Tensor, b: tf.Tensor) => model.D.score(model.D.features(a as tf.Tensor4D), b as tf.Tensor2D))([x, e]);
    const gxv = gx.arraySync() as number[][][][];
    const gev = ge.arraySync() as number[][];
    let expected = 0;
    for (let i = 0; i < 2; i++) {
      const sq = gxv[i].flat(2).reduce((s, v) => s + v * v, 0) + gev[i].reduce((s, v) => s + v * v, 0);
      expected += 2 * sq ** 3 / 2;
    }
    const got = penalty().dataSync()[0];
    assert.ok(Math.abs(got - expected) <= 1e-4 * Math.abs(expected) + 1e-12, `${got} vs ${expected}`);
  });
  // The penalty's gradient reaches D's weights through the double backward pass (convolutions, LeakyReLU,
  // the average pools, the replicated sentence vector): against central differences.
  const weight = model.D.params.get('block0.r1.weight');
  const scale = model.D.params.get('block0.gamma');
  scale.assign(tf.tensor1d([0.7])); // a residual branch that counts
  const { grads } = tf.variableGrads(penalty, [weight]);
  const analytic = grads[weight.name].dataSync();
  const values = weight.dataSync().slice();
  let worst = 0;
  for (const i of [0, 7, 23, 41]) {
    const at = (delta: number) => {
      const v = values.slice();
      v[i] += delta;
      weight.assign(tf.tensor(v, weight.shape));
      return tf.tidy(() => penalty().dataSync()[0]);
    };
    const h = 1e-2 * Math.max(1e-2, Math.abs(values[i]));
    const numeric = (at(h) - at(-h)) / (2 * h);
    worst = Math.max(worst, Math.abs(numeric - analytic[i]) / Math.max(1e-6, Math.abs(numeric)));
  }
  assert.ok(worst < 3e-2, `worst relative error ${worst}`);
  assert.ok(Array.from(analytic).some((v) => v !== 0));
  tf.dispose([x, e, ...Object.values(grads)]);
  model.dispose();
});

test('dfgan step: D\'s loss is hinge(real) + (hinge(mismatched) + hinge(fake)) / 2 + MA-GP; T trains first, then G and D; tensors flat', () => {
  const model = new Dfgan(small(), 1);
  const x = images(4);
  const batch = { images: x, captions };
  const text = model.trainStep(batch, { step: 0, rng: new Rng(1, 'step', 0) });
  assert.deepEqual(Object.keys(text).sort(), ['lossText', 'textTop1']);
  tf.dispose(Object.values(text));
  // The expected D loss of step 1 from the same noise, before the step changes the weights.
  const expected = tf.tidy(() => {
    const rng = new Rng(1, 'step', 1);
    const e = model.encodeText(captions);
    const z = sampleLatent(rng, 4, 5);
    const real = model.D.score(model.D.features(x), e).arraySync();
    const features = model.D.features(x);
    const mismatched = model.D.score(tf.concat([tf.slice(features, [1, 0, 0, 0], [3, -1, -1, -1]), tf.slice(features, [0, 0, 0, 0], [1, -1, -1, -1])], 0) as tf.Tensor4D, e).arraySync();
    const fake = model.D.score(model.D.features(model.G.apply(z, e)), e).arraySync();
    const [gx, ge] = tf.grads((a: tf.Tensor, b: tf.Tensor) => model.D.score(model.D.features(a as tf.Tensor4D), b as tf.Tensor2D))([x, e]);
    const gp = maGradientPenalty(gx as tf.Tensor4D, ge as tf.Tensor2D).dataSync()[0];
    const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
    const hinge = (v: number[], sign: number) => mean(v.map((s) => Math.max(0, 1 + sign * s)));
    return hinge(real, -1) + 0.5 * (hinge(mismatched, 1) + hinge(fake, 1)) + gp;
  });
  const snapshot = (net: string) => model.networks[net].named().map(([, v]) => v.dataSync().slice());
  const before = { G: snapshot('G'), D: snapshot('D'), T: snapshot('T') };
  const counts: number[] = [];
  for (let step = 1; step < 5; step++) {
    const losses = model.trainStep(batch, { step, rng: new Rng(1, 'step', step) });
    assert.deepEqual(Object.keys(losses).sort(), ['lossD', 'lossG', 'maGp']);
    if (step === 1) assert.ok(Math.abs(losses.lossD.dataSync()[0] - expected) < 1e-4 * Math.max(1, Math.abs(expected)), `lossD ${losses.lossD.dataSync()[0]} vs ${expected}`);
    tf.dispose(Object.values(losses));
    counts.push(tf.memory().numTensors);
  }
  assert.ok(counts.every((c) => c === counts[0]), `tensor counts ${counts}`);
  const changed = (net: 'G' | 'D' | 'T') => snapshot(net).some((v, i) => maxAbsDiff(v, before[net][i]) > 0);
  assert.ok(changed('G') && changed('D') && !changed('T'));
  assert.throws(() => model.trainStep({ images: x }, { step: 9, rng: new Rng(1) }), /dfgan needs captioned data/);
  assert.throws(() => dfganFamily.resolve(dfganSchema.parse({}), { ...data, captions: undefined }), /dfgan: the data has no captions/);
  x.dispose();
  model.dispose();
});
