import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { relError, setup, tf } from '../helpers.ts';
import { Rng } from '../../src/engine/rng.ts';
import { readTorchStateDict } from '../../src/io/torch.ts';
import { ParamSet } from '../../src/nn/params.ts';
import { downsample, FeatureEncoder, GlobalGenerator, instanceNorm, LocalEnhancer, MultiscaleDiscriminator, reflectionPad } from '../../src/nn/pix2pixhd.ts';
import { loadTorchWeights } from '../../src/nn/torch-weights.ts';
import { featureMatchingLoss, lsganLoss } from '../../src/losses/pix2pixhd.ts';
import { instanceEdges, labelMapInput, mapTensor } from '../../src/data/label-maps.ts';

await setup();
const golden = join(dirname(fileURLToPath(import.meta.url)), '..', 'golden');
const g = JSON.parse(readFileSync(join(golden, 'pix2pixhd_golden.json'), 'utf8'));
const [n, h, w] = g.size as [number, number, number];
const c = g.config;

/**
 * NVIDIA's pix2pixHD networks at a small size with seeded weights (test/golden/make_pix2pixhd.py): the
 * instance boundary map, G1's output, every block of the two-scale discriminator for real and fake
 * pairs, the LSGAN and feature-matching losses, all against PyTorch, weights loaded from its .pth by the
 * official parameter names.
 */
test('pix2pixHD G1, multi-scale D, LSGAN and feature matching match PyTorch (official parameter names)', () => {
  const labels = Int32Array.from(g.labels);
  const instances = Int32Array.from(g.instances);
  tf.tidy(() => assert.deepEqual(Array.from(instanceEdges(mapTensor(instances, n, h, w)).dataSync()), g.edges));
  const G = new ParamSet();
  const D = new ParamSet();
  const gen = new GlobalGenerator(G, 'model', { inputChannels: c.labelNc + 1, outputChannels: 3, ngf: c.ngf, nDown: c.nDown, nBlocks: c.nBlocks }, new Rng(0));
  const disc = new MultiscaleDiscriminator(D, { inputChannels: c.labelNc + 1 + 3, ndf: c.ndf, nLayers: c.nLayers, numD: c.numD }, new Rng(1));
  loadTorchWeights(G, readTorchStateDict(join(golden, 'pix2pixhd_G.pth')), 'pix2pixhd_G.pth');
  loadTorchWeights(D, readTorchStateDict(join(golden, 'pix2pixhd_D.pth')), 'pix2pixhd_D.pth');
  const before = tf.memory().numTensors;
  tf.tidy(() => {
    const x = labelMapInput(mapTensor(labels, n, h, w), mapTensor(instances, n, h, w), c.labelNc);
    assert.ok(relError(x.dataSync(), g.input) === 0, 'one-hot labels + edges');
    const fake = gen.apply(x);
    assert.deepEqual(fake.shape, g.fake.shape);
    const eFake = relError(fake.dataSync(), g.fake.data);
    assert.ok(eFake < 1e-4, `G output off by ${eFake}`);
    const real = tf.tensor4d(g.real, [n, h, w, 3]);
    const predFake = disc.apply(tf.concat([x, fake], 3) as tf.Tensor4D);
    const predReal = disc.apply(tf.concat([x, real], 3) as tf.Tensor4D);
    for (const [pred, want, what] of [[predFake, g.dFake, 'fake'], [predReal, g.dReal, 'real']] as const) {
      pred.forEach((blocks, i) => blocks.forEach((t, j) => {
        assert.deepEqual(t.shape, want[i][j].shape, `D ${what} scale ${i} block ${j} shape`);
        const e = relError(t.dataSync(), want[i][j].data);
        assert.ok(e < 1e-4, `D ${what} scale ${i} block ${j} off by ${e}`);
      }));
    }
    const close = (got: tf.Scalar, want: number, what: string) => assert.ok(Math.abs(got.dataSync()[0] - want) < 1e-4 * Math.max(1, Math.abs(want)), `${what}: ${got.dataSync()[0]} vs ${want}`);
    close(lsganLoss(predFake, false), g.lossGanFake, 'LSGAN fake as fake');
    close(lsganLoss(predReal, true), g.lossGanReal, 'LSGAN real as real');
    close(lsganLoss(predFake, true), g.lossGanFakeAsReal, 'LSGAN fake as real');
    close(featureMatchingLoss(predFake, predReal, 10), g.lossFeat, 'feature matching');
  });
  assert.equal(tf.memory().numTensors, before, 'tensors left behind');
  G.dispose();
  D.dispose();
});

test('the local enhancer G2 around G1 matches PyTorch, weights loaded by the official names into G1\'s and G2\'s sets', () => {
  const G1 = new ParamSet();
  const G2 = new ParamSet();
  const local = new LocalEnhancer(G1, G2, { inputChannels: c.labelNc + 1, outputChannels: 3, ngf: c.ngf, nDown: c.nDown, nBlocks: c.nBlocks, nBlocksLocal: 3 }, new Rng(0));
  const state = readTorchStateDict(join(golden, 'pix2pixhd_G_local.pth'));
  loadTorchWeights(G1, state, 'pix2pixhd_G_local.pth');
  loadTorchWeights(G2, state, 'pix2pixhd_G_local.pth');
  assert.equal(G1.named().length + G2.named().length, state.size, 'every tensor of the file has a place');
  assert.ok(G1.named().every(([name]) => name.startsWith('model.')) && G2.named().every(([name]) => name.startsWith('model1_')));
  const labels = Int32Array.from(g.labels);
  const instances = Int32Array.from(g.instances);
  tf.tidy(() => {
    const fake = local.apply(labelMapInput(mapTensor(labels, n, h, w), mapTensor(instances, n, h, w), c.labelNc));
    assert.deepEqual(fake.shape, g.fakeLocal.shape);
    const e = relError(fake.dataSync(), g.fakeLocal.data);
    assert.ok(e < 1e-4, `G2 output off by ${e}`);
  });
  G1.dispose();
  G2.dispose();
});

test('the instance feature encoder E and its instance-wise average pooling match PyTorch, gradient included', () => {
  const E = new ParamSet();
  const encoder = new FeatureEncoder(E, { inputChannels: 3, featNum: 3, nef: 4, nDown: 2 }, new Rng(0));
  loadTorchWeights(E, readTorchStateDict(join(golden, 'pix2pixhd_E.pth')), 'pix2pixhd_E.pth');
  const before = tf.memory().numTensors;
  tf.tidy(() => {
    const real = tf.tensor4d(g.real, [n, h, w, 3]);
    const instances = mapTensor(Int32Array.from(g.instances), n, h, w);
    const feat = encoder.apply(real, instances);
    assert.deepEqual(feat.shape, g.encoded.shape);
    const e = relError(feat.dataSync(), g.encoded.data);
    assert.ok(e < 1e-4, `E output off by ${e}`);
    const weights = tf.tensor4d(g.encodedWeights, feat.shape);
    const grad = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(encoder.apply(x as tf.Tensor4D, instances), weights)))(real);
    const eg = relError(grad.dataSync(), g.encodedGrad);
    assert.ok(eg < 1e-3, `E gradient off by ${eg}`);
  });
  assert.equal(tf.memory().numTensors, before, 'tensors left behind');
  E.dispose();
});

/**
 * At 512x1024 a 32-channel map is 64 MB, and a pass that kept every intermediate until the caller's tidy
 * ended held dozens (the label2city-sized G2 in a page drew a wrong image for it). Each stage's maps are
 * freed once the next stage has read them, and so is each step of a unit (pad, conv, norm, ReLU): a
 * drawing pass (under tidy, as generate runs it) peaks at about three of G2's full-size maps. Keeping every
 * intermediate peaks at 34 here; freeing whole units but not their steps, at 5 (G1 + G2) and 4.5 (E).
 */
test('a pass of G1 + G2 or E frees each stage\'s maps as it goes: the peak is a few full-size maps, not every intermediate', async () => {
  const o = { inputChannels: 8, outputChannels: 3, ngf: 8, nDown: 2, nBlocks: 3, nBlocksLocal: 3 };
  const nets = [new ParamSet(), new ParamSet(), new ParamSet()];
  const local = new LocalEnhancer(nets[0], nets[1], o, new Rng(0));
  const encoder = new FeatureEncoder(nets[2], { inputChannels: 3, featNum: 3, nef: 8, nDown: 2 }, new Rng(1));
  const [height, width] = [64, 128];
  const fullMap = height * width * o.ngf * 4; // bytes of one of G2's (and E's) full-size maps
  const x = tf.randomUniform([1, height, width, 8]) as tf.Tensor4D;
  const images = tf.randomUniform([1, height, width, 3], -1, 1) as tf.Tensor4D;
  const instances = tf.tidy(() => tf.cast(tf.floor(tf.mul(tf.randomUniform([1, height, width]), 4)), 'int32')) as tf.Tensor3D;
  const before = tf.memory().numTensors;
  const base = tf.memory().numBytes;
  const peak = async (pass: () => tf.Tensor) => ((await tf.profile(() => void tf.tidy(() => void pass()))).peakBytes - base) / fullMap;
  const peakG = await peak(() => local.apply(x));
  const peakE = await peak(() => encoder.apply(images, instances));
  assert.ok(peakG <= 3.5, `G1 + G2 held ${peakG.toFixed(1)} full-size maps at once`);
  assert.ok(peakE <= 3.5, `E held ${peakE.toFixed(1)} full-size maps at once`);
  assert.equal(tf.memory().numTensors, before, 'tensors left behind');
  tf.dispose([x, images, instances]);
  for (const net of nets) net.dispose();
});

test('the 3x3 / 2 average pooling without padded pixels matches PyTorch, gradient included', () => {
  const x = tf.tensor4d(g.input, [n, h, w, c.labelNc + 1]);
  const pooled = downsample(x);
  assert.deepEqual(pooled.shape, g.pooled.shape);
  assert.ok(relError(pooled.dataSync(), g.pooled.data) < 1e-6);
  const weights = tf.tensor4d(g.poolWeights, pooled.shape);
  const grad = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(downsample(t as tf.Tensor4D), weights)))(x);
  const e = relError(grad.dataSync(), g.poolGrad);
  assert.ok(e < 1e-6, `gradient off by ${e}`);
  tf.dispose([x, pooled, weights, grad]);
});

test('instance norm and reflection padding: values as defined, gradients by central differences', () => {
  const rng = new Rng(4);
  const x = tf.tensor4d(rng.fillNormal(new Float32Array(2 * 5 * 4 * 3), 0.5, 2), [2, 5, 4, 3]);
  // Each image's channel: mean 0, biased variance 1 (up to eps).
  const normed = instanceNorm(x);
  const { mean, variance } = tf.moments(normed, [1, 2]);
  assert.ok(Math.max(...Array.from(mean.dataSync(), Math.abs)) < 1e-5);
  assert.ok(Math.max(...Array.from(variance.dataSync(), (v) => Math.abs(v - 1))) < 1e-4);
  // Reflection: row -1 is row 1, column w is column w - 2.
  const padded = reflectionPad(x, 2).arraySync() as number[][][][];
  const xs = x.arraySync() as number[][][][];
  assert.deepEqual(padded[0][1][2], xs[0][1][0]);
  assert.deepEqual(padded[1][2][6], xs[1][0][2]);
  const weights = tf.tensor4d(rng.fillNormal(new Float32Array(2 * 9 * 8 * 3)), [2, 9, 8, 3]);
  const f = (t: tf.Tensor) => tf.sum(tf.mul(reflectionPad(instanceNorm(t as tf.Tensor4D), 2), weights)) as tf.Scalar;
  const analytic = tf.grad(f)(x).dataSync();
  const values = x.dataSync();
  const eps = 1e-2;
  let worst = 0;
  for (const i of [0, 7, 31, 64, 119]) {
    const at = (delta: number) => tf.tidy(() => {
      const v = values.slice();
      v[i] += delta;
      return f(tf.tensor4d(v, x.shape)).dataSync()[0];
    });
    const numeric = (at(eps) - at(-eps)) / (2 * eps);
    worst = Math.max(worst, Math.abs(numeric - analytic[i]) / Math.max(1e-2, Math.abs(numeric)));
  }
  assert.ok(worst < 2e-2, `worst relative error ${worst}`);
  tf.dispose([x, normed, mean, variance, weights]);
});
