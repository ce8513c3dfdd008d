import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { setup, tempDir, tf } from '../helpers.ts';
import { train } from '../../src/train/trainer.ts';
import { validateRunConfig } from '../../src/train/run-config.ts';
import { openRun, type OpenedRun } from '../../src/train/run.ts';
import { classConditions, conditionChoices, NONE } from '../../src/explore/conditions.ts';
import { vectorsToImages } from '../../src/explore/render.ts';
import { latentForSeed } from '../../src/explore/latent.ts';
import { checkProjectable, keepsToSphere, projectImages, projectionRamp, projectionRefusal, PROJECTION_DEFAULTS } from '../../src/explore/project.ts';
import { openDataset } from '../../src/data/index.ts';
import { LpipsVgg16, lpipsMeasure } from '../../src/metrics/lpips.ts';
import { LPIPS_W16, VGG16_W16 } from '../golden/ppl-golden.ts';
import { makeBatch } from '../../src/data/sampler.ts';

await setup();

async function trainedRun(family: string, steps: number, model: Record<string, unknown> = { ngf: 16, ndf: 16 }): Promise<OpenedRun> {
  const dir = join(tempDir(), 'run');
  const config = { seed: 1, data: 'mnist', family, model, train: { steps, batch: 32, samples: 4 } };
  await train({ outDir: dir, config: validateRunConfig(config, 'test'), quiet: true });
  return openRun(dir);
}

const norm = (v: Float32Array) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));

const dcgan = await trainedRun('dcgan', 200);
const dim = dcgan.info.latentDim;
const none = [{ name: '', condition: NONE }];

test('the image of a projected vector is far closer to the target than the closest seed of the pool, for drawn and real images', async () => {
  // Two of G's own images (seeds outside the pool) and two real digits.
  const drawn = vectorsToImages(dcgan, [latentForSeed(1000, dim), latentForSeed(1001, dim)], NONE);
  const real = makeBatch(openDataset('mnist', dcgan.info), [5, 17]);
  const targets = tf.concat([drawn, real.images], 0) as tf.Tensor4D;
  tf.dispose([drawn, real.images]);
  const before = tf.memory().numTensors;
  const steps: number[] = [];
  const found = await projectImages(dcgan, targets, none, { ...PROJECTION_DEFAULTS, steps: 80 }, { progress: (done, total) => { steps.push(done / total); } });
  assert.equal(tf.memory().numTensors, before, 'no tensor left behind');
  assert.equal(steps.at(-1), 1);
  for (const [i, p] of found.entries()) {
    // G's own images come back all but exactly; the real digits, which a G of 200 steps draws only roughly, come closer.
    assert.ok(p.distance < p.startDistance * (i < 2 ? 0.1 : 0.8), `image ${i}: ${p.startDistance} -> ${p.distance}`);
    // The vector stays where N(0, I)'s vectors lie.
    assert.ok(Math.abs(norm(p.latent) - Math.sqrt(dim)) < 1e-3, `image ${i}'s length ${norm(p.latent)}`);
    // The distance is that of the vector's image as sample draws it.
    const image = vectorsToImages(dcgan, [p.latent], NONE);
    const target = tf.slice(targets, [i, 0, 0, 0], [1, -1, -1, -1]);
    const mse = tf.tidy(() => tf.mean(tf.squaredDifference(image, target)).dataSync()[0]);
    tf.dispose([image, target]);
    assert.ok(Math.abs(mse - p.distance) < 1e-6, `reported ${p.distance}, drawn ${mse}`);
  }
  targets.dispose();
});

test('a stop (an aborted signal) ends the steps at once: each image keeps the closest vector so far, the next images their closest start', async () => {
  const targets = vectorsToImages(dcgan, [latentForSeed(1000, dim), latentForSeed(1001, dim)], NONE);
  const before = tf.memory().numTensors;
  const stop = new AbortController();
  const seen: number[] = [];
  // One image a chunk (more starts than half of the 256 pairs a step takes at 32x32), so the second image's
  // turn comes after the stop.
  const settings = { ...PROJECTION_DEFAULTS, steps: 200, starts: 129, pool: 129 };
  const found = await projectImages(dcgan, targets, none, settings, {
    progress: (done) => {
      seen.push(done);
      if (done === 5) stop.abort();
    },
    signal: stop.signal,
  });
  assert.equal(tf.memory().numTensors, before, 'no tensor left behind');
  assert.deepEqual(seen, [1, 2, 3, 4, 5], 'no step after the stop, and none for the second image');
  assert.ok(found[0].distance < found[0].startDistance, `5 steps: ${found[0].startDistance} -> ${found[0].distance}`);
  assert.equal(found[1].distance, found[1].startDistance, 'the second image: its closest start');
  targets.dispose();
});

test('the pool\'s search is heard as it goes and ends at a stop after the draw under way: the closest of what was measured, no steps', async () => {
  const targets = vectorsToImages(dcgan, [latentForSeed(1000, dim), latentForSeed(1001, dim)], NONE);
  const settings = { ...PROJECTION_DEFAULTS, steps: 3, starts: 2, pool: 300 };
  const heard: [number, number][] = [];
  await projectImages(dcgan, targets, none, settings, { poolProgress: (done, total) => { heard.push([done, total]); } });
  const draw = heard[0][0];
  assert.ok(draw > 2 && draw < 300, `the pool is drawn in parts (${draw} images first)`);
  assert.deepEqual(heard.map(([done]) => done), Array.from({ length: Math.ceil(300 / draw) }, (_, i) => Math.min(300, (i + 1) * draw)));
  assert.ok(heard.every(([, total]) => total === 300));
  // Stopped after the first draw: no more of the pool, no steps; the starts of that draw, as a pool of its size with no steps gives.
  const before = tf.memory().numTensors;
  const stop = new AbortController();
  const stoppedHeard: number[] = [];
  const stopped = await projectImages(dcgan, targets, none, settings, {
    poolProgress: (done) => {
      stoppedHeard.push(done);
      stop.abort();
    },
    progress: () => assert.fail('a step after the stop'),
    signal: stop.signal,
  });
  assert.equal(tf.memory().numTensors, before, 'no tensor left behind');
  assert.deepEqual(stoppedHeard, [draw]);
  const firstDraw = await projectImages(dcgan, targets, none, { ...settings, pool: draw, steps: 0 });
  assert.deepEqual(stopped.map((p) => p.latent), firstDraw.map((p) => p.latent));
  assert.deepEqual(stopped.map((p) => p.distance), stopped.map((p) => p.startDistance));
  // Stopped before it began: the same.
  const early = await projectImages(dcgan, targets, none, settings, { signal: AbortSignal.abort() });
  assert.deepEqual(early.map((p) => p.latent), firstDraw.map((p) => p.latent));
  targets.dispose();
});

test('unconstrained (--free) vectors leave the sphere; the pool\'s closest seed is the start', async () => {
  const targets = vectorsToImages(dcgan, [latentForSeed(1000, dim)], NONE);
  const [free] = await projectImages(dcgan, targets, none, { ...PROJECTION_DEFAULTS, steps: 30, sphere: false });
  assert.ok(Math.abs(norm(free.latent) - Math.sqrt(dim)) > 0.01, `length ${norm(free.latent)}`);
  // No steps at all: the closest seed's own image comes back, at its pool distance.
  const [none0] = await projectImages(dcgan, targets, none, { ...PROJECTION_DEFAULTS, steps: 0 });
  const pool = vectorsToImages(dcgan, Array.from({ length: 64 }, (_, i) => latentForSeed(i, dim)), NONE);
  const d = tf.tidy(() => tf.mean(tf.squaredDifference(pool, targets), [1, 2, 3]).dataSync());
  const closest = d.indexOf(Math.min(...d));
  assert.deepEqual(none0.latent, latentForSeed(closest, dim));
  assert.ok(Math.abs(none0.startDistance - d[closest]) < 1e-5);
  tf.dispose([targets, pool]);
});

test('images projected in several chunks get what each gets alone', async () => {
  // 128 starts of 32x32 fill a chunk with 2 images, so 3 images take two chunks.
  const targets = vectorsToImages(dcgan, [latentForSeed(2000, dim), latentForSeed(2001, dim), latentForSeed(2002, dim)], NONE);
  const settings = { ...PROJECTION_DEFAULTS, steps: 4, starts: 128, pool: 128 };
  const together = await projectImages(dcgan, targets, none, settings);
  const third = tf.slice(targets, [2, 0, 0, 0], [1, -1, -1, -1]);
  const [alone] = await projectImages(dcgan, third, none, settings);
  assert.ok(Math.max(...together[2].latent.map((x, i) => Math.abs(x - alone.latent[i]))) < 1e-4);
  assert.ok(Math.abs(together[2].distance - alone.distance) < 1e-5);
  tf.dispose([targets, third]);
});

test('a class-conditional run finds a class and a vector among every class', async () => {
  const cgan = await trainedRun('cgan', 30);
  const choices = await conditionChoices(cgan, {});
  assert.deepEqual(choices.map((c) => c.name), ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
  assert.deepEqual((await conditionChoices(cgan, { class: '7' })).map((c) => c.name), ['7']);
  const targets = vectorsToImages(cgan, [latentForSeed(1000, cgan.info.latentDim)], classConditions(cgan.info, [3]));
  const [p] = await projectImages(cgan, targets, choices, { ...PROJECTION_DEFAULTS, steps: 40 });
  assert.ok(p.distance < p.startDistance / 2, `${p.startDistance} -> ${p.distance}`);
  const again = vectorsToImages(cgan, [p.latent], classConditions(cgan.info, [p.choice]));
  const mse = tf.tidy(() => tf.mean(tf.squaredDifference(again, targets)).dataSync()[0]);
  assert.ok(Math.abs(mse - p.distance) < 1e-6);
  tf.dispose([targets, again]);
  cgan.model.dispose();
});

test('an auto-encoder\'s vectors start from its encoder\'s and are not held to the sphere', async () => {
  const vae = await trainedRun('vae', 150, {});
  assert.equal(keepsToSphere(vae, PROJECTION_DEFAULTS), false);
  assert.equal(keepsToSphere(vae, { ...PROJECTION_DEFAULTS, sphere: true }), true);
  assert.equal(keepsToSphere(dcgan, PROJECTION_DEFAULTS), true);
  const real = makeBatch(openDataset('mnist', vae.info), [5, 17]);
  // The encoder's vector is the closest start here: no seed of the pool is nearer a real digit.
  const [startOnly] = await projectImages(vae, real.images, none, { ...PROJECTION_DEFAULTS, steps: 0 });
  const encoded = vae.model.inferLatent!(tf.slice(real.images, [0, 0, 0, 0], [1, -1, -1, -1]));
  assert.deepEqual(startOnly.latent, encoded.dataSync());
  encoded.dispose();
  const found = await projectImages(vae, real.images, none, { ...PROJECTION_DEFAULTS, steps: 60 });
  for (const p of found) {
    assert.ok(p.distance < p.startDistance * 0.9, `${p.startDistance} -> ${p.distance}`);
    assert.ok(Math.abs(norm(p.latent) - Math.sqrt(vae.info.latentDim)) > 0.01);
  }
  real.images.dispose();
  vae.model.dispose();
});

test('projection by LPIPS lowers the LPIPS distance, reported as LPIPS measures the drawn image', async () => {
  const lpips = LpipsVgg16.load(VGG16_W16, LPIPS_W16);
  const measure = lpipsMeasure(lpips);
  // Small images go to LPIPS at 64x64, large ones at 256x256; fewer pairs a step the larger they are there.
  assert.deepEqual([measure.pairsAtOnce(32, 32), measure.pairsAtOnce(128, 128), measure.pairsAtOnce(64, 256), measure.pairsAtOnce(512, 512)], [16, 4, 4, 1]);
  const targets = vectorsToImages(dcgan, [latentForSeed(1000, dim), latentForSeed(1001, dim)], NONE);
  const before = tf.memory().numTensors;
  const found = await projectImages(dcgan, targets, none, { ...PROJECTION_DEFAULTS, steps: 40 }, { measure });
  assert.equal(tf.memory().numTensors, before);
  for (const [i, p] of found.entries()) {
    assert.ok(p.distance < p.startDistance / 2, `image ${i}: ${p.startDistance} -> ${p.distance}`);
    const image = vectorsToImages(dcgan, [p.latent], NONE);
    const d = tf.tidy(() => measure.pairs(image, tf.slice(targets, [i, 0, 0, 0], [1, -1, -1, -1])).dataSync()[0]);
    image.dispose();
    assert.ok(Math.abs(d - p.distance) < 1e-6, `reported ${p.distance}, measured ${d}`);
  }
  targets.dispose();
  lpips.dispose();
});

test('runs without a latent space of their own are refused in words', async () => {
  const pix = { info: { ...dcgan.info, family: 'pix2pixhd' as const, latentDim: 0, conditioning: { kind: 'labelMap' as const, labelCount: 3, instances: false, labelNames: [], featNum: 0, labelFeat: false } }, model: dcgan.model };
  assert.equal(projectionRefusal(dcgan), null);
  assert.throws(() => checkProjectable(pix), /a pix2pixhd run has no latent space to project into/);
  const unet = { info: { ...dcgan.info, family: 'unet-vae-gan' as const }, model: { ...dcgan.model, generate: dcgan.model.generate, useReferenceImages: () => undefined } };
  assert.throws(() => checkProjectable(unet), /reference images' skip connections.*gantry reconstruct/);
  const wrong = tf.zeros([1, 16, 16, 1]) as tf.Tensor4D;
  await assert.rejects(projectImages(dcgan, wrong, none, PROJECTION_DEFAULTS), /images of 16x16x1 cannot be projected into a run that draws 32x32x1/);
  wrong.dispose();
  const image = tf.zeros([1, 32, 32, 1]) as tf.Tensor4D;
  await assert.rejects(projectImages(dcgan, image, none, { ...PROJECTION_DEFAULTS, starts: 1025, pool: 1025 }), /1025 starts of 32x32 images are more than one optimisation holds \(measured by mse\); give at most 1024/);
  image.dispose();
});

test('the step size holds, then ramps down to 0 over the last quarter', () => {
  assert.equal(projectionRamp(0, 100), 1);
  assert.equal(projectionRamp(75, 100), 1);
  assert.ok(Math.abs(projectionRamp(87.5, 100) - 0.5) < 1e-12);
  assert.ok(projectionRamp(99, 100) < 0.01);
});
