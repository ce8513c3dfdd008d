import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setup, tf } from '../helpers.ts';
import { Rng } from '../../src/engine/rng.ts';
import { Dcgan, dcganFamily, dcganSchema } from '../../src/models/dcgan.ts';
import { validateRunConfig } from '../../src/train/run-config.ts';

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

for (const extra of [{}, { r1: 10, augment: ['translation'] }, { r1: 10, r1Every: 2, augment: ['translation'] }, { loss: 'wgan-gp', dNorm: 'layer', augment: ['translation'] }]) {
  const lazy = 'r1Every' in extra;
  const wgan = 'loss' in extra;
  test(`train steps keep the tensor count flat and change both networks${'r1' in extra ? ` (R1${lazy ? ' every 2 steps' : ''} with augmentation: reported, positive)` : ''}${wgan ? ' (WGAN-GP, a layer-normed critic, augmentation: its penalty reported, positive)' : ''}`, () => {
    const model = new Dcgan(dcganSchema.parse({ channels: 1, ngf: 8, ndf: 8, ...extra }), 1);
    const images = tf.tensor4d(new Rng(1).fillNormal(new Float32Array(8 * 32 * 32)), [8, 32, 32, 1]);
    const g0 = model.G.params.get('main.0.weight').dataSync().slice();
    const d0 = model.D.params.get('main.0.weight').dataSync().slice();
    const counts: number[] = [];
    for (let step = 0; step < 5; step++) {
      const losses = model.trainStep({ images }, { step, rng: new Rng(1, 'step', step) });
      if ('r1' in extra && (!lazy || step % 2 === 0)) assert.ok(losses.r1.dataSync()[0] > 0, 'R1 reported');
      else assert.equal(losses.r1, undefined);
      if (wgan) assert.ok(losses.gp.dataSync()[0] > 0, 'gp reported');
      else assert.equal(losses.gp, undefined);
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

/**
 * A batch of 6 real images and latent vectors, G's images of them, and D's training-mode scores of both (which
 * depend on the batch alone, not on the running statistics they move).
 */
function scoredBatch(model: Dcgan) {
  const images = tf.tensor4d(new Rng(3).fillNormal(new Float32Array(6 * 32 * 32)), [6, 32, 32, 1]);
  const z = tf.tensor2d(new Rng(4).fillNormal(new Float32Array(6 * 100)), [6, 100]);
  const drawn = tf.tidy(() => model.G.apply(z, true));
  const [real, fake] = tf.tidy(() => [model.D.apply(images, true), model.D.apply(drawn, true)].map((t) => Array.from(t.dataSync())));
  return { images, z, drawn, real, fake };
}

const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;

/** D's loss is `expectedD`; G's is -E[D(fake)] of the same images (G before its update) through D after its update. Frees it all. */
function checkStepLosses(model: Dcgan, batch: ReturnType<typeof scoredBatch>, losses: Record<string, tf.Scalar>, expectedD: number): void {
  assert.ok(Math.abs(losses.lossD.dataSync()[0] - expectedD) < 1e-5, `${losses.lossD.dataSync()[0]} vs ${expectedD}`);
  const judged = tf.tidy(() => Array.from(model.D.apply(batch.drawn, true).dataSync()));
  assert.ok(Math.abs(losses.lossG.dataSync()[0] + mean(judged)) < 1e-5, `${losses.lossG.dataSync()[0]} vs ${-mean(judged)}`);
  tf.dispose([batch.images, batch.z, batch.drawn, ...Object.values(losses)]);
  model.dispose();
}

test('loss "hinge": D\'s loss is E[relu(1 - D(real))] + E[relu(1 + D(fake))] of its logits, checked in float64; G\'s is -E[D(fake)]', () => {
  const model = new Dcgan(dcganSchema.parse({ channels: 1, ngf: 8, ndf: 8, loss: 'hinge' }), 2);
  const batch = scoredBatch(model);
  const relu = (v: number) => Math.max(v, 0);
  const expected = mean(batch.real.map((v) => relu(1 - v))) + mean(batch.fake.map((v) => relu(1 + v)));
  checkStepLosses(model, batch, model.trainStepWithNoise({ images: batch.images }, batch.z), expected);
});

test('loss "wgan-gp": D is a critic without batch norm (biases instead), its loss E[D(fake)] - E[D(real)] + gp, the penalty as central differences give it; G\'s is -E[D(fake)]', () => {
  const model = new Dcgan(dcganSchema.parse({ channels: 1, ngf: 8, ndf: 8, loss: 'wgan-gp', gp: 5 }), 2);
  const names = model.D.params.named().map(([k]) => k);
  assert.deepEqual(names, ['main.0.weight', 'main.0.bias', 'main.2.weight', 'main.2.bias', 'main.5.weight', 'main.5.bias', 'main.8.weight', 'main.8.bias']);
  // D's weights x 5: the gradients at the interpolates then have norms near 1, where the penalty tells them apart.
  for (const [k, v] of model.D.params.named()) if (k.endsWith('weight')) tf.tidy(() => v.assign(tf.mul(v, 5)));
  const batch = scoredBatch(model);
  // The penalty at the step's own interpolates (ε: the first uniform draws of its stream), each image's gradient by
  // central differences of D, one pixel a pair of passes: D has no batch norm, so an image's score is its own.
  const eps = Array.from({ length: 6 }, ((r) => () => r.uniform())(new Rng(9, 'step', 0)));
  const [x, g] = [batch.images.dataSync(), batch.drawn.dataSync()];
  const size = 32 * 32;
  const h = 1e-2;
  const norms: number[] = [];
  for (let i = 0; i < 6; i++) {
    const perturbed = new Float32Array(2 * size * size);
    for (let p = 0; p < size; p++) {
      for (let q = 0; q < size; q++) perturbed[p * size + q] = perturbed[(size + p) * size + q] = eps[i] * x[i * size + q] + (1 - eps[i]) * g[i * size + q];
      perturbed[p * size + p] += h;
      perturbed[(size + p) * size + p] -= h;
    }
    const scores = tf.tidy(() => model.D.apply(tf.tensor4d(perturbed, [2 * size, 32, 32, 1]), true).dataSync());
    let squared = 0;
    for (let p = 0; p < size; p++) squared += ((scores[p] - scores[size + p]) / (2 * h)) ** 2;
    norms.push(Math.sqrt(squared));
  }
  const penalty = norms.reduce((sum, n) => sum + (n - 1) ** 2, 0) / 6;
  assert.ok(norms.every((n) => n > 0.2 && n < 5), `gradient norms ${norms}`);
  const losses = model.trainStepWithNoise({ images: batch.images }, batch.z, true, { step: 0, rng: new Rng(9, 'step', 0) });
  const gp = losses.gp.dataSync()[0];
  assert.ok(Math.abs(gp - 5 * penalty) < 2e-3 * 5 * penalty, `gp ${gp} vs ${5 * penalty} by finite differences`);
  checkStepLosses(model, batch, losses, mean(batch.fake) - mean(batch.real) + gp);
});

test('WGAN-GP\'s fields are checked together (gp needs the wgan-gp loss; R1 or a batch-normed critic beside it are refused), and model.dNorm gives D its normalisation', () => {
  const data = { height: 32, width: 32, channels: 1, numClasses: 10 };
  assert.throws(() => dcganFamily.resolve(dcganSchema.parse({ gp: 10 }), data), /model\.gp weighs WGAN-GP's gradient penalty, but model\.loss is "bce"; set "loss": "wgan-gp"/);
  assert.throws(() => dcganFamily.resolve(dcganSchema.parse({ loss: 'wgan-gp', r1: 1 }), data), /model\.r1 with "loss": "wgan-gp"/);
  assert.throws(() => validateRunConfig({ family: 'dcgan', model: { loss: 'wgan' } }, 'c.json'), /^GantryError: c\.json: model\.loss: expected "bce", "hinge" or "wgan-gp"$/);
  assert.throws(() => validateRunConfig({ family: 'dcgan', model: { loss: 'wgan-gp', gp: 0 } }, 'c.json'), /c\.json: model\.gp: Too small/);
  assert.equal(dcganFamily.resolve(dcganSchema.parse({ loss: 'wgan-gp' }), data).channels, 1);
  assert.throws(() => dcganFamily.resolve(dcganSchema.parse({ loss: 'wgan-gp', dNorm: 'batch' }), data), /model\.dNorm "batch" with "loss": "wgan-gp": .*use "layer" \(the paper's advice\) or "none"/);
  assert.throws(() => validateRunConfig({ family: 'dcgan', model: { dNorm: 'instance' } }, 'c.json'), /c\.json: model\.dNorm: expected "batch", "layer" or "none"/);
  // D's parameters by model.dNorm: batch norm (the hinge loss keeps it), layer norm (a scale and shift per channel, no running statistics), none; biases without batch norm.
  const dParams = (model: Record<string, unknown>) => {
    const m = new Dcgan(dcganSchema.parse({ channels: 1, ngf: 8, ndf: 8, ...model }), 1);
    const names = m.D.params.named().filter(([k]) => k.startsWith('main.2.') || k.startsWith('main.3.')).map(([k]) => k);
    m.dispose();
    return names;
  };
  assert.deepEqual(dParams({ loss: 'hinge' }), ['main.2.weight', 'main.3.weight', 'main.3.bias', 'main.3.running_mean', 'main.3.running_var']);
  assert.deepEqual(dParams({ loss: 'wgan-gp', dNorm: 'layer' }), ['main.2.weight', 'main.2.bias', 'main.3.weight', 'main.3.bias']);
  assert.deepEqual(dParams({ dNorm: 'none' }), ['main.2.weight', 'main.2.bias']);
});
