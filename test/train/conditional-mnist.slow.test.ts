import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setup, tf } from '../helpers.ts';
import { Rng } from '../../src/engine/rng.ts';
import { openDataset } from '../../src/data/index.ts';
import { subset } from '../../src/data/dataset.ts';
import { BatchSampler } from '../../src/data/sampler.ts';
import { Classifier, classifierSchema } from '../../src/models/classifier.ts';
import { Cgan, cganSchema } from '../../src/models/cgan.ts';
import { Acgan, acganSchema } from '../../src/models/acgan.ts';
import { classWeights } from '../../src/models/conditional.ts';
import { sampleLatent } from '../../src/nn/noise.ts';
import type { FamilyInstance } from '../../src/models/family.ts';

await setup();

const data = openDataset('mnist', { height: 32, width: 32, channels: 1 });
// The digits are stored sorted by class: split at random, train the judge on 9,000, measure it on 1,000.
const split = new Rng(3, 'split').permutation(data.n);

function trainSteps(model: FamilyInstance, train: typeof data, steps: number, seed: number): void {
  const sampler = new BatchSampler(train, 64, seed);
  for (let step = 0; step < steps; step++) {
    const batch = sampler.batchAt(step);
    const losses = model.trainStep(batch, { step, rng: new Rng(seed, 'step', step) });
    tf.dispose([batch.images, batch.labels ?? [], ...Object.values(losses)]);
  }
}

/** Fraction of generated images of class i % 10 that the judge classifies as i % 10. */
async function classAgreement(model: Cgan | Acgan, judge: Classifier, n = 500): Promise<number> {
  const labels = tf.tensor1d(Int32Array.from({ length: n }, (_, i) => i % 10), 'int32');
  const z = sampleLatent(new Rng(7, 'eval'), n, model.info.latentDim);
  const weights = classWeights(labels, 10);
  const images = model.generate(z, { kind: 'class', weights });
  const predicted = tf.tidy(() => tf.argMax(judge.apply(images).logits, 1));
  const p = await predicted.data();
  tf.dispose([labels, z, weights, images, predicted]);
  let agree = 0;
  for (let i = 0; i < n; i++) if (p[i] === i % 10) agree++;
  return agree / n;
}

/**
 * The test: after a short training on the real digits, samples asked for class K are judged to
 * be K (by a classifier trained on other real digits) more often than chance (10%). Measured (seed 1,
 * ngf = ndf = 32, batch 64): judge 95.6% on held-out digits; cgan 10% -> 33.8% after 600 steps, acgan
 * 10% -> 30.0% after 400. An untrained model, or one that ignores its class input, stays near 10%.
 */
test('cgan (600 steps) and acgan (400 steps) trained on MNIST draw the asked-for digit far more often than chance', async () => {
  const judge = new Classifier(classifierSchema.parse({ channels: 1, numClasses: 10, width: 32, features: 128, lrHalfLife: 150 }), 3);
  trainSteps(judge, subset(data, split.subarray(0, 9000)), 300, 3);
  const { testAccuracy } = await judge.evaluate(subset(data, split.subarray(9000)));
  assert.ok(testAccuracy > 0.9, `judge accuracy ${testAccuracy}`);
  const figures: string[] = [`judge ${(100 * testAccuracy).toFixed(1)}% on held-out digits`];
  const size = { channels: 1, numClasses: 10, ngf: 32, ndf: 32 };
  // The projection discriminator's class signal starts weaker than an auxiliary classifier's: 600 steps vs 400.
  const runs = [{ name: 'cgan', model: new Cgan(cganSchema.parse(size), 1), steps: 600 }, { name: 'acgan', model: new Acgan(acganSchema.parse(size), 1), steps: 400 }];
  for (const { name, model, steps } of runs) {
    const before = await classAgreement(model, judge);
    trainSteps(model, data, steps, 1);
    const after = await classAgreement(model, judge);
    figures.push(`${name}: samples judged their class ${(100 * before).toFixed(1)}% at step 0 -> ${(100 * after).toFixed(1)}% at step ${steps}`);
    assert.ok(after > 0.2, `${name}: only ${after} of the samples are judged to be the class asked for (chance: 0.1)`);
    model.dispose();
  }
  judge.dispose();
  console.log(figures.join('; '));
});
