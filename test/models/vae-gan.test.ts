import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setup, tf, maxAbsDiff } from '../helpers.ts';
import { Rng } from '../../src/engine/rng.ts';
import { VaeGan, vaeGanSchema } from '../../src/models/vae-gan.ts';
import { UnetVaeGan, unetVaeGanSchema } from '../../src/models/unet-vae-gan.ts';
import type { FamilyInstance } from '../../src/models/family.ts';
import { NO_CONDITION } from '../../src/models/condition.ts';

await setup();

function images(n: number, seed: number): tf.Tensor4D {
  return tf.tensor4d(new Rng(seed).fillNormal(new Float32Array(n * 32 * 32)).map(Math.tanh), [n, 32, 32, 1]);
}

function stepsKeepTensorsFlat(model: FamilyInstance, batch: tf.Tensor4D): Record<string, number> {
  const counts: number[] = [];
  let last: Record<string, number> = {};
  for (let step = 0; step < 4; step++) {
    const losses = model.trainStep({ images: batch }, { step, rng: new Rng(3, 'step', step) });
    last = Object.fromEntries(Object.entries(losses).map(([k, v]) => [k, v.dataSync()[0]]));
    tf.dispose(Object.values(losses));
    counts.push(tf.memory().numTensors);
  }
  assert.ok(counts.every((c) => c === counts[0]), `tensor counts ${counts}`);
  return last;
}

test('VAE-GAN: both optimisers step, all five losses are finite, tensor count flat', () => {
  const model = new VaeGan(vaeGanSchema.parse({ channels: 1, width: 8, ndf: 8, latent: 8 }), 0);
  const d0 = model.D.params.trainable()[0].dataSync().slice();
  const losses = stepsKeepTensorsFlat(model, images(8, 1));
  assert.deepEqual(Object.keys(losses).sort(), ['lossD', 'lossG', 'lossKL', 'lossRecon', 'lossTotal']);
  assert.ok(Object.values(losses).every(Number.isFinite));
  // total = lambdaVae * (recon + KL) + lambdaGan * adversarial, as configured (1 and 0.1)
  assert.ok(Math.abs(losses.lossTotal - (losses.lossRecon + losses.lossKL + 0.1 * losses.lossG)) < 1e-3 * Math.abs(losses.lossTotal));
  assert.notDeepEqual(model.D.params.trainable()[0].dataSync(), d0);
  assert.equal(model.optimizers.VAE.step, 4);
  model.dispose();
});

test('U-Net VAE-GAN: skips modulated by alpha, or replaced by noise; references needed to sample', () => {
  const make = (over: object) => new UnetVaeGan(unetVaeGanSchema.parse({ channels: 1, width: 8, ndf: 8, latent: 8, ...over }), 0);
  const modulated = make({ alpha: 0.5 });
  stepsKeepTensorsFlat(modulated, images(8, 2));
  const z = tf.tensor2d(new Rng(5).fillNormal(new Float32Array(4 * 8)), [4, 8]);
  assert.throws(() => modulated.generate(z, NO_CONDITION), /reference images/);
  const refs = images(4, 9);
  modulated.useReferenceImages(refs);
  const a = modulated.generate(z, NO_CONDITION);
  assert.deepEqual(a.shape, [4, 32, 32, 1]);
  // alpha 0: the skips of the references pass unchanged, so samples sit closer to the reconstructions.
  const clean = make({ alpha: 0 });
  const noisy = make({ skipMode: 'noise' });
  for (const m of [clean, noisy]) m.useReferenceImages(refs);
  const rec = clean.reconstruct(refs);
  const dClean = maxAbsDiff(clean.generate(z, NO_CONDITION).dataSync(), rec.dataSync());
  const dNoise = maxAbsDiff(noisy.generate(z, NO_CONDITION).dataSync(), rec.dataSync());
  assert.ok(dNoise > dClean, `noise skips ${dNoise} vs clean skips ${dClean}`);
  tf.dispose([z, refs, a, rec]);
  for (const m of [modulated, clean, noisy]) m.dispose();
});

test('VAE-GAN and U-Net VAE-GAN warm their KL weight up (klWarmup), as the VAE does', () => {
  // total = lambdaVae * (recon + beta(step) * KL) + lambdaGan * adversarial, beta = klWeight * min(1, step / klWarmup).
  const check = (model: FamilyInstance, step: number, beta: number) => {
    const losses = model.trainStep({ images: images(8, 1) }, { step, rng: new Rng(3, 'step', step) });
    const l = Object.fromEntries(Object.entries(losses).map(([k, v]) => [k, v.dataSync()[0]]));
    tf.dispose(Object.values(losses));
    const expected = 2 * (l.lossRecon + beta * l.lossKL) + 0.1 * l.lossG;
    assert.ok(l.lossKL > 1e-3, `KL ${l.lossKL} too small to tell the weights apart`);
    assert.ok(Math.abs(l.lossTotal - expected) < 1e-4 * Math.abs(l.lossTotal), `step ${step}: total ${l.lossTotal}, expected ${expected} with beta ${beta}`);
  };
  const over = { channels: 1, width: 8, ndf: 8, latent: 8, klWeight: 0.8, klWarmup: 10, lambdaVae: 2 };
  for (const model of [new VaeGan(vaeGanSchema.parse(over), 0), new UnetVaeGan(unetVaeGanSchema.parse(over), 0)]) {
    check(model, 0, 0);
    check(model, 5, 0.4);
    check(model, 30, 0.8);
    model.dispose();
  }
});
