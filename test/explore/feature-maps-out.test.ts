import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setup, tempDir, tf } from '../helpers.ts';
import { writeFeatureMaps } from '../../src/explore/feature-maps-out.ts';
import { openDataset } from '../../src/data/index.ts';
import { makeBatch } from '../../src/data/sampler.ts';
import { featureLevel } from '../../src/data/feature-maps.ts';
import { readImageFile } from '../../src/io/image.ts';
import { readIdMap } from '../../src/io/id-map.ts';
import { openRun } from '../../src/train/run.ts';
import { train } from '../../src/train/trainer.ts';
import { validateRunConfig } from '../../src/train/run-config.ts';

await setup();
const fixtures = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures');

/** A copy of a fixture's pairs and a small pix2pixhd run with instance features (featNum 3) trained on it. */
async function smallFeatureRun(fixture: 'pairs' | 'cityscapes', steps: number, batch: number) {
  const dir = tempDir();
  const data = join(dir, fixture);
  cpSync(join(fixtures, fixture), data, { recursive: true });
  const runDir = join(dir, 'run');
  const config = validateRunConfig({
    family: 'pix2pixhd', data: `pairs:${data}`,
    model: { height: 16, width: 32, ngf: 8, nDown: 2, nBlocks: 1, ndf: 8, nLayers: 2, featNum: 3, nef: 4, nDownE: 2, vgg: false },
    train: { steps, batch, sampleEvery: steps, checkpointEvery: steps },
  }, 'test');
  await train({ outDir: runDir, config, quiet: true });
  return { dir, data, runDir, config };
}

/**
 * The maps `gantry features --maps-out` writes hold, over every pixel of each object in the label map's own
 * size, the levels of that object's feature as the run's E encodes it at the run's size, saved as NVIDIA's
 * tensor2im saves them ((x + 1) / 2 * 255, clipped, truncated): checked against E run here.
 */
test('feature maps written from a run are its encoder\'s object features, as 8-bit levels over each object at the label map\'s size', async () => {
  const { data, runDir, config } = await smallFeatureRun('pairs', 2, 2);
  const out = join(data, 'train_feat');
  assert.deepEqual(await writeFeatureMaps(runDir, out), { files: 6, dir: out, readFrom: out });

  const run = openRun(runDir);
  const ds = openDataset(config.data, run.info);
  const { height, width } = run.info;
  const area = height * width;
  const batch = makeBatch(ds, [0, 1, 2, 3, 4, 5]);
  const features = await run.model.encodeFeatures!(batch.images, tf.tensor3d(batch.instanceMaps!, [6, height, width], 'int32')).data();
  tf.dispose(batch.images);
  run.model.dispose();
  const level = (x: number) => Math.trunc(Math.min(255, Math.max(0, ((x + 1) / 2) * 255)));
  let compared = 0;
  for (let i = 0; i < 6; i++) {
    const name = `scene_00${i}.png`;
    const map = readImageFile(join(out, name));
    const instances = readIdMap(join(data, 'train_inst', name), 'instance map');
    assert.deepEqual([map.width, map.height], [instances.width, instances.height]);
    const featureOf = new Map<number, number[]>();
    for (let p = i * area; p < (i + 1) * area; p++) if (!featureOf.has(batch.instanceMaps![p])) featureOf.set(batch.instanceMaps![p], Array.from(features.subarray(3 * p, 3 * p + 3)));
    for (let p = 0; p < instances.ids.length; p++) {
      const feature = featureOf.get(instances.ids[p]);
      assert.ok(feature, `${name}: instance ${instances.ids[p]} is in the fitted map`);
      assert.deepEqual(Array.from(map.data.subarray(p * map.channels, p * map.channels + 3)), feature.map(level), `${name} pixel ${p}`);
      compared++;
    }
  }
  assert.equal(compared, 6 * 48 * 24);
});

/**
 * In the Cityscapes release's layout the maps go to featureMaps/train/<city>/<frame>_featureMaps.png, and
 * a loadFeatures run's data reads back, at the run's size, each object's levels as E encoded them.
 */
test('feature maps of Cityscapes-layout data are written a folder a city, named by frame, and read back by pairs:DIR as E\'s levels', async () => {
  const { dir, data, runDir, config } = await smallFeatureRun('cityscapes', 1, 3);
  const out = join(data, 'featureMaps', 'train');
  // A PNG already in a city folder is refused, as in the folder itself.
  const stale = join(dir, 'stale');
  cpSync(join(fixtures, 'cityscapes', 'leftImg8bit', 'train'), stale, { recursive: true });
  await assert.rejects(writeFeatureMaps(runDir, stale), /--maps-out .*stale already holds 3 PNG files \(aachen\/aachen_000000_000019_leftImg8bit\.png, \.\.\.\)/);
  assert.deepEqual(await writeFeatureMaps(runDir, out), { files: 3, dir: out, readFrom: out });
  assert.deepEqual(readdirSync(join(out, 'aachen')), ['aachen_000000_000019_featureMaps.png', 'aachen_000001_000019_featureMaps.png', 'aachen_000002_000019_featureMaps.png']);

  const run = openRun(runDir);
  const ds = openDataset(config.data, { ...run.info, readFeatureMaps: true });
  const { height, width } = run.info;
  const batch = makeBatch(ds, [0, 1, 2]);
  const features = await run.model.encodeFeatures!(batch.images, tf.tensor3d(batch.instanceMaps!, [3, height, width], 'int32')).data();
  tf.dispose(batch.images);
  run.model.dispose();
  for (let p = 0; p < 3 * height * width; p++) {
    const levels = Array.from(features.subarray(3 * p, 3 * p + 3), featureLevel);
    assert.equal(batch.featureMaps![p], (levels[0] << 16) | (levels[1] << 8) | levels[2], `pixel ${p}`);
  }
});
