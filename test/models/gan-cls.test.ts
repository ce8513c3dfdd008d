import { test } from 'node:test';
import assert from 'node:assert/strict';
import { maxAbsDiff, setup, tf } from '../helpers.ts';
import { Rng } from '../../src/engine/rng.ts';
import { GanCls, ganClsFamily, ganClsSchema, matchingAwareLossD } from '../../src/models/gan-cls.ts';
import { conditionTensor, gridConditions } from '../../src/explore/conditions.ts';
import { batchDefaults } from '../../src/models/condition.ts';

await setup();

const captions = ['a small red circle on a blue background', 'a large green square on a white background', 'a small blue diamond on a red background', 'a large red square on a green background'];
const data = { height: 32, width: 32, channels: 3, numClasses: 0, captions: captions.map((c) => [c]) };
const small = (over: Record<string, unknown> = {}) => ganClsFamily.resolve(ganClsSchema.parse({
  ngf: 8, ndf: 8, nz: 6, projectionDim: 5, embedDim: 7, wordDim: 4, textHidden: 8, textSteps: 2, ...over,
}), data);

function images(n: number, seed = 1): tf.Tensor4D {
  return tf.tensor4d(new Rng(seed).fillNormal(new Float32Array(n * 32 * 32 * 3)), [n, 32, 32, 3]);
}

const snapshot = (model: GanCls, net: string) => model.networks[net].named().map(([, v]) => v.dataSync().slice());
const changed = (a: ArrayLike<number>[], b: ArrayLike<number>[]) => a.some((x, i) => maxAbsDiff(x, b[i]) > 0);

test('gan-cls config: vocabulary and sample captions come from the data; data without captions is named', () => {
  const config = small();
  assert.deepEqual(config.vocabulary.slice(0, 3), ['a', 'background', 'on']);
  assert.ok(config.vocabulary.includes('diamond'));
  assert.deepEqual(config.sampleCaptions, captions);
  assert.equal(config.channels, 3);
  assert.throws(() => ganClsFamily.resolve(ganClsSchema.parse({}), { ...data, captions: undefined }), /the data has no captions; use captions:DIR/);
  assert.throws(() => ganClsSchema.parse({ textStep: 3 }), /textStep/);
});

test('GAN-CLS D loss is log D(x,h) + (log(1 - D(x,ĥ)) + log(1 - D(x̂,h))) / 2 on logits, checked in float64', () => {
  const r = [1.5, -0.3], w = [0.2, 2.0], f = [-1.0, 0.7];
  const softplus = (v: number) => Math.log1p(Math.exp(-Math.abs(v))) + Math.max(v, 0);
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const expected = mean(r.map((v) => softplus(-v))) + 0.5 * (mean(w.map(softplus)) + mean(f.map(softplus)));
  const loss = matchingAwareLossD(tf.tensor1d(r), tf.tensor1d(w), tf.tensor1d(f));
  assert.ok(Math.abs(loss.dataSync()[0] - expected) < 1e-6);
  loss.dispose();
});

test('G and D read the text: other captions give other images and scores; the grid default is the sample captions', async () => {
  const model = new GanCls(small(), 3);
  const gridRows = await gridConditions({ info: model.info, model }, 2);
  tf.tidy(() => {
    const z = tf.tensor2d(new Rng(2).fillNormal(new Float32Array(2 * 6)), [2, 6]);
    const a = model.encodeText([captions[0], captions[0]]);
    const b = model.encodeText([captions[1], captions[1]]);
    const text = (vectors: tf.Tensor2D) => ({ kind: 'text' as const, vectors });
    assert.notDeepEqual(model.generate(z, text(a)).dataSync(), model.generate(z, text(b)).dataSync());
    assert.deepEqual(model.generate(z, text(a)).shape, [2, 32, 32, 3]);
    const x = images(2);
    assert.notDeepEqual(model.D.apply(x, a, false).dataSync(), model.D.apply(x, b, false).dataSync());
    const own = model.generate(z, conditionTensor(gridRows));
    const expected = model.generate(z, text(model.encodeText(captions.slice(0, 2))));
    assert.ok(maxAbsDiff(own.dataSync(), expected.dataSync()) < 1e-6);
    assert.throws(() => model.generate(z, text(tf.zeros([2, 3]) as tf.Tensor2D)), /sentence vectors must be \[2, 7\]/);
    assert.deepEqual(model.inferLatent(x).shape, [2, 6]);
  });
  model.dispose();
});

test('gan-cls steps: the text encoder alone trains first, then G, D and S with T fixed; the tensor count stays flat', () => {
  for (const over of [{}, { interpolation: false, matchingAware: false, styleEncoder: false }]) {
    const model = new GanCls(small(over), 1);
    const x = images(4);
    const batch = { images: x, captions };
    let before = { G: snapshot(model, 'G'), D: snapshot(model, 'D'), T: snapshot(model, 'T') };
    const counts: number[] = [];
    for (let step = 0; step < 5; step++) {
      const losses = model.trainStep(batch, { step, rng: new Rng(1, 'step', step) });
      const names = Object.keys(losses).sort();
      const text = step < 2;
      assert.deepEqual(names, text ? ['lossText', 'textTop1'] : ['lossD', 'lossG', ...('styleEncoder' in over ? [] : ['lossStyle'])]);
      for (const v of Object.values(losses)) assert.ok(Number.isFinite(v.dataSync()[0]));
      tf.dispose(Object.values(losses));
      const after = { G: snapshot(model, 'G'), D: snapshot(model, 'D'), T: snapshot(model, 'T') };
      assert.equal(changed(before.T, after.T), text, `step ${step}: T ${text ? 'trains' : 'is fixed'}`);
      assert.equal(changed(before.G, after.G), !text, `step ${step}: G`);
      assert.equal(changed(before.D, after.D), !text, `step ${step}: D`);
      before = after;
      if (step >= 2) counts.push(tf.memory().numTensors);
    }
    assert.ok(counts.every((c) => c === counts[0]), `tensor counts ${counts}`);
    assert.throws(() => model.trainStep({ images: x }, { step: 9, rng: new Rng(1) }), /gan-cls needs captioned data/);
    x.dispose();
    model.dispose();
  }
});

test('the style encoder learns to invert G: on a fixed G, its squared error of z falls', () => {
  const model = new GanCls(small({ nz: 4 }), 5);
  const z = tf.tensor2d(new Rng(8).fillNormal(new Float32Array(16 * 4)), [16, 4]);
  const fake = tf.tidy(() => model.G.apply(z, model.encodeText(Array.from({ length: 16 }, (_, i) => captions[i % 4])), true)); // batch statistics, as in a step
  const losses: number[] = [];
  for (let i = 0; i < 150; i++) {
    const loss = model.styleStep(fake, z);
    losses.push(loss.dataSync()[0]);
    loss.dispose();
  }
  assert.ok(losses[149] < 0.5 * losses[0], `style loss ${losses.filter((_, i) => i % 30 === 0)} -> ${losses[149]}`);
  tf.dispose([z, fake]);
  model.dispose();
});

test('captionsPerImage: a step\'s sentence vector of an image is the mean of its drawn captions\' vectors, as Reed et al.\'s code averages them', () => {
  const config = small({ captionsPerImage: 3 });
  assert.deepEqual(batchDefaults(ganClsFamily.describe(config)), { flip: false, captionsPerImage: 3 });
  assert.equal('captionsPerImage' in ganClsFamily.describe(small()).conditioning, false, 'one caption: the model info as before');
  const model = new GanCls(config, 3);
  const draws = [captions[0], captions[1], captions[1], captions[2], captions[3], captions[0]];
  const batch = { images: images(2), captions: [draws[0], draws[3]], captionDraws: { perImage: 3, captions: draws } };
  const averaged = model.text.stepVectors(batch);
  const each = model.text.stepVectors({ images: batch.images, captions: draws }).arraySync();
  const d = each[0].length;
  const expected = [0, 1].map((i) => Array.from({ length: d }, (_, j) => (each[3 * i][j] + each[3 * i + 1][j] + each[3 * i + 2][j]) / 3));
  assert.deepEqual(averaged.shape, [2, d]);
  assert.ok(maxAbsDiff(averaged.dataSync(), expected.flat()) < 1e-6);
  assert.ok(maxAbsDiff(averaged.dataSync(), model.text.stepVectors({ images: batch.images, captions: batch.captions }).dataSync()) > 1e-3, 'not the first caption alone');
  tf.dispose([averaged, batch.images]);
  model.dispose();
});
