import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setup, tf } from '../helpers.ts';
import { Rng } from '../../src/engine/rng.ts';
import { Dcgan, dcganSchema } from '../../src/models/dcgan.ts';

await setup();

function shapes(model: Dcgan, batch: number): { G: Record<string, number[]>; D: Record<string, number[]> } {
  const G: Record<string, number[]> = {};
  const D: Record<string, number[]> = {};
  tf.tidy(() => {
    const z = tf.randomNormal([batch, model.config.nz]) as tf.Tensor2D;
    const img = model.G.apply(z, true, (n, t) => (G[n] = t.shape));
    model.D.apply(img, true, (n, t) => (D[n] = t.shape));
  });
  return { G, D };
}

test('dcgan32 layer shapes follow DESIGN.md, and parameter counts equal the PyTorch peer\'s', () => {
  const model = new Dcgan(dcganSchema.parse({ imageSize: 32, channels: 1 }), 0);
  const s = shapes(model, 2);
  assert.deepEqual(s.G, { block0: [2, 4, 4, 256], block1: [2, 8, 8, 128], block2: [2, 16, 16, 64], out: [2, 32, 32, 1] });
  assert.deepEqual(s.D, { block0: [2, 16, 16, 64], block1: [2, 8, 8, 128], block2: [2, 4, 4, 256], out: [2, 1, 1, 1] });
  // ../shared/peers/dcgan_torch.py --size 32 prints params_G 1066880, params_D 661248
  assert.equal(model.G.params.countTrainable(), 1066880);
  assert.equal(model.D.params.countTrainable(), 661248);
  model.dispose();
});

test('dcgan64 has one more block and 3 channels; counts equal the peer\'s', () => {
  const model = new Dcgan(dcganSchema.parse({ imageSize: 64, channels: 3 }), 0);
  const s = shapes(model, 1);
  assert.deepEqual(s.G.block0, [1, 4, 4, 512]);
  assert.deepEqual(s.G.out, [1, 64, 64, 3]);
  assert.deepEqual(s.D.block3, [1, 4, 4, 512]);
  assert.equal(model.G.params.countTrainable(), 3576704);
  assert.equal(model.D.params.countTrainable(), 2765568);
  model.dispose();
});

test('dcgan128 adds a stage beyond the paper\'s (ngf * 16 at 4x4, ndf * 16 before the head); counts equal those of the same nn.Sequential in PyTorch', () => {
  const model = new Dcgan(dcganSchema.parse({ imageSize: 128, channels: 3 }), 0);
  const s = shapes(model, 1);
  assert.deepEqual([s.G.block0, s.G.block4, s.G.out], [[1, 4, 4, 1024], [1, 64, 64, 64], [1, 128, 128, 3]]);
  assert.deepEqual([s.D.block0, s.D.block4], [[1, 64, 64, 64], [1, 4, 4, 1024]]);
  // pytorch/examples' dcgan with one more block on each side: sum(p.numel()) of G and D.
  assert.equal(model.G.params.countTrainable(), 12786560);
  assert.equal(model.D.params.countTrainable(), 11164416);
  model.dispose();
});

test('weights are initialised N(0, 0.02), batch-norm scales N(1, 0.02), and a seed fixes them', () => {
  const a = new Dcgan(dcganSchema.parse({ channels: 1, ngf: 16, ndf: 16 }), 5);
  const b = new Dcgan(dcganSchema.parse({ channels: 1, ngf: 16, ndf: 16 }), 5);
  const w = a.G.params.get('main.3.weight').dataSync() as Float32Array;
  const mean = w.reduce((s, x) => s + x, 0) / w.length;
  const std = Math.sqrt(w.reduce((s, x) => s + (x - mean) ** 2, 0) / w.length);
  assert.ok(Math.abs(mean) < 0.002 && Math.abs(std - 0.02) < 0.002, `mean ${mean} std ${std}`);
  const gamma = a.G.params.get('main.1.weight').dataSync() as Float32Array;
  assert.ok(Math.abs(gamma.reduce((s, x) => s + x, 0) / gamma.length - 1) < 0.01);
  assert.deepEqual(w, b.G.params.get('main.3.weight').dataSync());
  a.dispose();
  b.dispose();
});

for (const extra of [{}, { r1: 10, augment: ['translation'] }, { r1: 10, r1Every: 2, augment: ['translation'] }]) {
  const lazy = 'r1Every' in extra;
  test(`train steps keep the tensor count flat and change both networks${'r1' in extra ? ` (R1${lazy ? ' every 2 steps' : ''} with augmentation: reported, positive)` : ''}`, () => {
    const model = new Dcgan(dcganSchema.parse({ channels: 1, ngf: 8, ndf: 8, ...extra }), 1);
    const images = tf.tensor4d(new Rng(1).fillNormal(new Float32Array(8 * 32 * 32)), [8, 32, 32, 1]);
    const g0 = model.G.params.get('main.0.weight').dataSync().slice();
    const d0 = model.D.params.get('main.0.weight').dataSync().slice();
    const counts: number[] = [];
    for (let step = 0; step < 5; step++) {
      const losses = model.trainStep({ images }, { step, rng: new Rng(1, 'step', step) });
      if ('r1' in extra && (!lazy || step % 2 === 0)) assert.ok(losses.r1.dataSync()[0] > 0, 'R1 reported');
      else assert.equal(losses.r1, undefined);
      tf.dispose(Object.values(losses));
      counts.push(tf.memory().numTensors);
    }
    assert.ok(counts.every((c) => c === counts[0]), `tensor counts ${counts}`);
    assert.notDeepEqual(model.G.params.get('main.0.weight').dataSync(), g0);
    assert.notDeepEqual(model.D.params.get('main.0.weight').dataSync(), d0);
    images.dispose();
    model.dispose();
  });
}

test('lrD: D\'s Adam steps at its own rate (the two time-scale rule), G\'s at lr; absent, both at lr', () => {
  // Adam's first step moves each weight by lr x g / (|g| + eps): about lr wherever the gradient is not tiny.
  const largestMove = (config: Record<string, unknown>) => {
    const model = new Dcgan(dcganSchema.parse({ channels: 1, ngf: 8, ndf: 8, lr: 1e-4, ...config }), 1);
    const images = tf.tensor4d(new Rng(1).fillNormal(new Float32Array(8 * 32 * 32)), [8, 32, 32, 1]);
    const before = { G: model.G.params.get('main.0.weight').dataSync().slice(), D: model.D.params.get('main.0.weight').dataSync().slice() };
    tf.dispose(Object.values(model.trainStep({ images }, { step: 0, rng: new Rng(1, 'step', 0) })));
    const move = (net: 'G' | 'D') => {
      const after = Array.from((net === 'G' ? model.G : model.D).params.get('main.0.weight').dataSync());
      return after.reduce((m, v, i) => Math.max(m, Math.abs(v - before[net][i])), 0);
    };
    const moves = { G: move('G'), D: move('D') };
    images.dispose();
    model.dispose();
    return moves;
  };
  const near = (got: number, lr: number) => got > 0.9 * lr && got <= lr * 1.0001;
  const ttur = largestMove({ lrD: 1e-3 });
  assert.ok(near(ttur.D, 1e-3) && near(ttur.G, 1e-4), `moves ${JSON.stringify(ttur)}`);
  const same = largestMove({});
  assert.ok(near(same.D, 1e-4) && near(same.G, 1e-4), `moves ${JSON.stringify(same)}`);
});

test('loss "hinge": D\'s loss is E[relu(1 - D(real))] + E[relu(1 + D(fake))] of its logits, checked in float64; G\'s is -E[D(fake)]', () => {
  const model = new Dcgan(dcganSchema.parse({ channels: 1, ngf: 8, ndf: 8, loss: 'hinge' }), 2);
  const images = tf.tensor4d(new Rng(3).fillNormal(new Float32Array(6 * 32 * 32)), [6, 32, 32, 1]);
  const z = tf.tensor2d(new Rng(4).fillNormal(new Float32Array(6 * 100)), [6, 100]);
  // Training-mode passes depend on the batch alone, not on the running statistics they move.
  const drawn = tf.tidy(() => model.G.apply(z, true));
  const [real, fake] = tf.tidy(() => [model.D.apply(images, true), model.D.apply(drawn, true)].map((t) => Array.from(t.dataSync())));
  const relu = (v: number) => Math.max(v, 0);
  const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
  const expected = mean(real.map((v) => relu(1 - v))) + mean(fake.map((v) => relu(1 + v)));
  const losses = model.trainStepWithNoise({ images }, z);
  assert.ok(Math.abs(losses.lossD.dataSync()[0] - expected) < 1e-5, `${losses.lossD.dataSync()[0]} vs ${expected}`);
  // G's loss: the same images (G before its update) through D after its update.
  const judged = tf.tidy(() => Array.from(model.D.apply(drawn, true).dataSync()));
  assert.ok(Math.abs(losses.lossG.dataSync()[0] + mean(judged)) < 1e-5, `${losses.lossG.dataSync()[0]} vs ${-mean(judged)}`);
  drawn.dispose();
  tf.dispose([images, z, ...Object.values(losses)]);
  model.dispose();
});
