import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { setup, tempDir, tf } from '../helpers.ts';
import { train } from '../../src/train/trainer.ts';
import { validateRunConfig } from '../../src/train/run-config.ts';
import { openRun } from '../../src/train/run.ts';
import { conditionTensor, dataMaps } from '../../src/explore/conditions.ts';
import { drawChunk, vectorsToImages } from '../../src/explore/render.ts';
import { generateImages } from '../../src/models/step-runner.ts';
import { openDataset } from '../../src/data/index.ts';

await setup();

test('images are drawn fewer at a time the larger they are', () => {
  assert.equal(drawChunk({ height: 32, width: 32 }), 64);
  assert.equal(drawChunk({ height: 64, width: 64 }), 64);
  assert.equal(drawChunk({ height: 128, width: 128 }), 16);
  assert.equal(drawChunk({ height: 256, width: 512 }), 2);
  assert.equal(drawChunk({ height: 1024, width: 2048 }), 1);
});

test('a large run\'s images drawn a chunk at a time are the images of one whole-batch draw, bit for bit', async () => {
  const dir = join(tempDir(), 'run');
  const config = { seed: 1, data: 'shapes:24', family: 'pix2pixhd', model: { height: 128, ngf: 4, ndf: 4, nBlocks: 1 }, train: { steps: 1, batch: 2, samples: 1 } };
  await train({ outDir: dir, config: validateRunConfig(config, 'test'), quiet: true });
  const run = openRun(dir);
  const data = openDataset('shapes:24', { height: 128, width: 128, channels: 3 });
  const n = 20; // two chunks of 16 and 4
  const maps = dataMaps(data, Array.from({ length: n }, (_, i) => i));
  const vectors = Array.from({ length: n }, () => new Float32Array(run.info.latentDim));
  const before = tf.memory().numTensors;
  const chunked = vectorsToImages(run, vectors, maps);
  const whole = tf.tidy(() => generateImages(run.model, tf.zeros([n, run.info.latentDim]), conditionTensor(maps)));
  assert.deepEqual(chunked.shape, [n, 128, 128, 3]);
  assert.deepEqual(chunked.dataSync(), whole.dataSync());
  tf.dispose([chunked, whole]);
  assert.equal(tf.memory().numTensors, before);
  run.model.dispose();
});
