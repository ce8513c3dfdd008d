import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setup, tf } from '../helpers.ts';
import { Rng } from '../../src/engine/rng.ts';
import { openDataset } from '../../src/data/index.ts';
import { BatchSampler, makeBatch } from '../../src/data/sampler.ts';
import { join } from 'node:path';
import type { Pix2PixHD } from '../../src/models/pix2pixhd.ts';
import { writePicturePairs } from '../fixtures/picture-pairs.ts';
import { FAMILIES } from '../../src/models/index.ts';
import { dataShape } from '../../src/data/dataset.ts';
import { conditionTensor, dataMaps } from '../../src/explore/conditions.ts';

await setup();

/**
 * The pix2pixhd family's step on real batches (label and instance maps, flips), with every part on: the
 * local enhancer around G1 through the fixed-global switch, the feature encoder, two scales of D. The
 * tensor count stays flat, every network's weights move once it trains, and generate refuses a condition
 * without the features it reads.
 */
test('pix2pixhd steps (local enhancer, encoder, switch at step 2): tensor count flat, each network trains when it should', () => {
  const data = openDataset('shapes:16?colours=by-shape', { height: 32, width: 32, channels: 3 });
  const family = FAMILIES.pix2pixhd;
  const config = family.resolve(family.schema.parse({ height: 32, netG: 'local', ngf: 4, nDown: 1, nBlocks: 1, nBlocksLocal: 1, ndf: 4, nLayers: 2, featNum: 2, nef: 4, nDownE: 2, fixGlobalSteps: 2 }), dataShape(data));
  const model = family.create(config, 0);
  const sampler = new BatchSampler(data, 4, 0, true);
  const snapshot = (): Record<string, Float32Array[]> => Object.fromEntries(Object.entries(model.networks).map(([k, p]) => [k, p.trainable().map((v) => Float32Array.from(v.dataSync()))]));
  const moved = (a: Record<string, Float32Array[]>, b: Record<string, Float32Array[]>, net: string) => a[net].some((t, i) => t.some((v, j) => v !== b[net][i][j]));
  const counts: number[] = [];
  let before = snapshot();
  for (let step = 0; step < 5; step++) {
    const batch = sampler.batchAt(step);
    tf.dispose(Object.values(model.trainStep(batch, { step, rng: new Rng(0, 'step', step) })));
    tf.dispose([batch.images, batch.labels ?? []]);
    const after = snapshot();
    // G1 (network G) is fixed for the first two steps; G2, E and D train from the first.
    assert.equal(moved(after, before, 'G'), step >= 2, `G1 at step ${step}`);
    for (const net of ['G2', 'E', 'D']) assert.ok(moved(after, before, net), `${net} at step ${step}`);
    before = after;
    if (step >= 1) counts.push(tf.memory().numTensors);
  }
  // G1's Adam makes its two moments per parameter at its first update, the switch; nothing else is kept.
  const moments = 2 * model.networks.G.trainable().length;
  assert.ok(counts[1] === counts[0] + moments && counts.slice(1).every((c) => c === counts[1]), `tensor counts ${counts} (G1's moments: ${moments})`);
  const maps = dataMaps(data, [0, 1]);
  tf.tidy(() => {
    assert.throws(() => model.generate!(tf.zeros([2, 0]) as tf.Tensor2D, conditionTensor(maps)), /reads instance features/);
    assert.throws(() => model.generate!(tf.zeros([2, 0]) as tf.Tensor2D, { kind: 'none' }), /turns label maps into images; it is conditioned on a label map, not nothing/);
  });
  model.dispose();
});

/** The VGG notice is for a perceptual loss the run wanted but has no weights for, not for one the user turned off. */
test('pix2pixhd notices: missing VGG weights are reported; vgg false is not', () => {
  const data = openDataset('shapes:4', { height: 16, width: 16, channels: 3 });
  const family = FAMILIES.pix2pixhd;
  const saved = process.env.GANTRY_VGG_WEIGHTS;
  delete process.env.GANTRY_VGG_WEIGHTS;
  try {
    const notices = (model: Record<string, unknown>) => {
      const requested = family.schema.parse({ height: 16, nDown: 1, ...model });
      return family.notices!(family.resolve(requested, dataShape(data)), dataShape(data), requested).filter((line) => /VGG/.test(line));
    };
    assert.equal(notices({}).length, 1);
    assert.match(notices({})[0], /^no VGG19 perceptual loss: it needs torchvision's VGG19 weights/);
    assert.deepEqual(notices({ vgg: false }), []);
  } finally {
    if (saved !== undefined) process.env.GANTRY_VGG_WEIGHTS = saved;
  }
});

/**
 * Pictures as inputs (the official --label_nc 0): G reads the picture's three channels, each level the
 * value the same picture has as an image, and D the picture beside the image, 6 channels; steps keep the
 * tensor count flat and move G and D.
 */
test('pix2pixhd on pictures: the input is the picture as an image reads, D sees 3 + 3 channels, tensor count flat', () => {
  const dir = writePicturePairs({ train: 8, test: 0, size: 16 });
  const data = openDataset(`pairs:${dir}`, { height: 16, width: 16, channels: 3 });
  const family = FAMILIES.pix2pixhd;
  const config = family.resolve(family.schema.parse({ height: 16, ngf: 4, nDown: 2, nBlocks: 1, ndf: 4, nLayers: 2, numD: 1, vgg: false }), dataShape(data));
  const model = family.create(config, 0) as Pix2PixHD;
  assert.equal(model.inputChannels, 3);
  const inputsAsImages = openDataset(`folder:${join(dir, 'train_A')}`, { height: 16, width: 16, channels: 3 });
  const sampler = new BatchSampler(data, 4, 0, true);
  const counts: number[] = [];
  for (let step = 0; step < 4; step++) {
    const batch = sampler.batchAt(step);
    const asImage = makeBatch(inputsAsImages, sampler.indicesAt(step));
    if (step === 0) {
      // Unflipped: the sampler's flips are drawn per image, so compare an unflipped batch of the same pictures.
      const whole = makeBatch(data, sampler.indicesAt(step));
      const input = tf.tidy(() => model.labelInput(tf.tensor3d(whole.labelMaps!, [4, 16, 16], 'int32'), null));
      assert.deepEqual(input.shape, [4, 16, 16, 3]);
      assert.deepEqual(input.dataSync(), asImage.images.dataSync());
      tf.dispose([input, whole.images]);
    }
    tf.dispose(Object.values(model.trainStep(batch, { step, rng: new Rng(0, 'step', step) })));
    tf.dispose([batch.images, asImage.images]);
    if (step >= 1) counts.push(tf.memory().numTensors);
  }
  assert.ok(counts.every((c) => c === counts[0]), `tensor counts ${counts}`);
  const judge = (channels: number) => tf.tidy(() => {
    model.D.apply(tf.zeros([1, 16, 16, channels]) as tf.Tensor4D);
  });
  judge(6);
  assert.throws(() => judge(5), 'D reads the picture and the image, 6 channels');
  model.dispose();
});
