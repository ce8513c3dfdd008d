import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setup, tf, maxAbsDiff } from '../helpers.ts';
import { Rng } from '../../src/engine/rng.ts';
import { VaeGan, vaeGanFamily, vaeGanSchema } from '../../src/models/vae-gan.ts';
import { UnetVaeGan, unetVaeGanSchema } from '../../src/models/unet-vae-gan.ts';
import type { FamilyInstance } from '../../src/models/family.ts';
import { NO_CONDITION } from '../../src/models/condition.ts';
import { mnistReconstructionError } from './mnist-reconstruction.ts';

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

/**
 * Larsen et al.'s VAE/GAN routes each loss to its network: on a model's first step Adam moves every
 * weight by lr against the sign of its gradient, so each weight's move tells which loss it followed. The
 * encoder follows beta * KL + L_llike, the decoder gamma * L_llike + the non-saturating -log D(x~) -
 * log D(x_p), D its BCE of x against x~ and x_p; computed here from the same noise with tf.grads on a
 * twin model, every gradient from D as it was before the step.
 */
test('VAE/GAN (similarity "discriminator"): the encoder, decoder and D each follow their own loss; D\'s features measure the reconstruction', () => {
  const config = vaeGanSchema.parse({ channels: 1, width: 8, ndf: 8, latent: 8, similarity: 'discriminator', similarityLayer: 2, gamma: 0.05, klWeight: 0.7 });
  const model = new VaeGan(config, 4);
  const twin = new VaeGan(config, 4);
  const x = images(8, 6);
  const rng = new Rng(3, 'step', 0);
  const [eps, zPrior] = [0, 1].map(() => tf.tensor2d(rng.fillNormal(new Float32Array(8 * 8)), [8, 8]));
  // The twin's gradients, from the losses as the docs state them.
  const featureError = (m: VaeGan, recon: tf.Tensor4D) => {
    const [fr, fx] = tf.split(m.D.features(tf.concat([recon, x], 0) as tf.Tensor4D, true, undefined, 2), 2, 0);
    return tf.mul(0.5, tf.mean(tf.sum(tf.square(tf.sub(fr, fx)), [1, 2, 3]))) as tf.Scalar;
  };
  const image = (raw: tf.Tensor4D) => tf.tanh(raw);
  const nsG = (logits: tf.Tensor) => tf.mean(tf.softplus(tf.neg(logits)));
  const named = (prefix: string) => twin.params.trainableNames().filter((k) => k.startsWith(prefix));
  const expected = tf.tidy(() => {
    const encoder = tf.variableGrads(() => {
      const { mu, logVar } = twin.encoder.apply(x, true);
      const z = tf.add(mu, tf.mul(tf.exp(tf.mul(logVar, 0.5)), eps)) as tf.Tensor2D;
      const kl = tf.mean(tf.mul(-0.5, tf.sum(tf.sub(tf.add(1, logVar), tf.add(tf.square(mu), tf.exp(logVar))), 1)));
      return tf.add(tf.mul(kl, 0.7), featureError(twin, image(twin.decoder.apply(z, true)))) as tf.Scalar;
    }, named('enc.').map((k) => twin.params.get(k)));
    const z = tf.tidy(() => { const { mu, logVar } = twin.encoder.apply(x, true); return tf.add(mu, tf.mul(tf.exp(tf.mul(logVar, 0.5)), eps)) as tf.Tensor2D; });
    const decoder = tf.variableGrads(() => {
      const [recon, prior] = tf.split(image(twin.decoder.apply(tf.concat([z, zPrior], 0) as tf.Tensor2D, true)), 2, 0) as tf.Tensor4D[];
      return tf.add(tf.mul(featureError(twin, recon), 0.05), tf.add(nsG(twin.D.apply(recon, true)), nsG(twin.D.apply(prior, true)))) as tf.Scalar;
    }, named('dec.').map((k) => twin.params.get(k)));
    const fakes = tf.split(image(twin.decoder.apply(tf.concat([z, zPrior], 0) as tf.Tensor2D, true)), 2, 0) as tf.Tensor4D[];
    const D = tf.variableGrads(() => tf.add(tf.add(nsG(twin.D.apply(x, true)), tf.mean(tf.softplus(twin.D.apply(fakes[0], true)))), tf.mean(tf.softplus(twin.D.apply(fakes[1], true)))) as tf.Scalar, twin.D.params.trainable());
    return { ...encoder.grads, ...decoder.grads, ...D.grads };
  });
  const before = new Map([...model.params.named(), ...model.D.params.named()].map(([k, v]) => [k, v.dataSync().slice()]));
  const losses = model.trainStep({ images: x }, { step: 0, rng: new Rng(3, 'step', 0) });
  assert.deepEqual(Object.keys(losses).sort(), ['lossD', 'lossFeatures', 'lossG', 'lossKL', 'lossRecon']);
  tf.dispose(Object.values(losses));
  let checked = 0;
  for (const [name, v] of [...model.params.named(), ...model.D.params.named()]) {
    const g = expected[twin.params.trainableNames().includes(name) ? twin.params.get(name).name : twin.D.params.named().find(([k]) => k === name)?.[1].name ?? ''];
    if (!g) continue;
    const grad = g.dataSync();
    const moved = v.dataSync();
    const was = before.get(name)!;
    for (let i = 0; i < grad.length; i++) {
      if (Math.abs(grad[i]) < 1e-6) continue; // Adam's step is then not a clean sign
      assert.equal(Math.sign(moved[i] - was[i]), -Math.sign(grad[i]), `${name}[${i}] moved against its own loss's gradient ${grad[i]}`);
      checked++;
    }
  }
  assert.ok(checked > 1000, `${checked} weights checked`);
  const shape = { height: 32, width: 32, channels: 1, numClasses: 0 };
  assert.throws(() => vaeGanFamily.resolve(vaeGanSchema.parse({ similarity: 'discriminator', similarityLayer: 4 }), shape), /vae-gan: model\.similarityLayer 4, but D has 3 blocks at 32x32; give 1 to 3/);
  tf.dispose([x, eps, zPrior, ...Object.values(expected)]);
  model.dispose();
  twin.dispose();
});

test('VAE/GAN on MNIST: reconstructions measured in D\'s features come closer to the digits in pixels too; tensor count flat', () => {
  const model = new VaeGan(vaeGanSchema.parse({ channels: 1, width: 16, ndf: 16, latent: 16, similarity: 'discriminator' }), 1);
  const { before, after } = mnistReconstructionError(model);
  console.log(`VAE/GAN reconstruction error (pixels, not minimised) on 256 held digits: step 0 ${before.toFixed(1)}, step 150 ${after.toFixed(1)}`);
  assert.ok(after < 0.4 * before, `reconstruction error ${after} vs ${before} at step 0`);
  model.dispose();
});
