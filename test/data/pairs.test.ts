import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setup, tempDir, tf, withEnv } from '../helpers.ts';
import { openDataset } from '../../src/data/index.ts';
import { dataShape, readImages, subset, type InMemoryDataset } from '../../src/data/dataset.ts';
import { reshapeDataset } from '../../src/data/transform.ts';
import type { Batch } from '../../src/data/batch.ts';
import { BatchSampler, makeBatch } from '../../src/data/sampler.ts';
import { encodeIdMap, readIdMap } from '../../src/io/id-map.ts';
import { encodePng } from '../../src/io/png.ts';
import { FAMILIES } from '../../src/models/index.ts';
import { featureValues } from '../../src/data/feature-maps.ts';
import { sideBySide } from '../fixtures/picture-pairs.ts';
import { palettePng } from '../fixtures/palette-png.ts';
import { cityscapesWithFeatureMaps, fixtureFeatureLevels, pairsWithFeatureMaps } from '../fixtures/pairs-with-features.ts';

await setup();
const fixtures = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures');
const fit = { height: 32, width: 64, channels: 0 };

test('pairs:DIR reads pix2pixHD\'s layout and the Cityscapes release: ids kept exact (16-bit instances), maps fitted nearest, test split', () => {
  const own = openDataset(`pairs:${join(fixtures, 'pairs')}`, fit);
  assert.equal(own.n, 6);
  assert.deepEqual([own.height, own.width, own.channels], [32, 64, 3]);
  assert.deepEqual(new Set(own.labelMaps), new Set([0, 1, 2]), 'no blended label ids after fitting 48x24 to 64x32');
  assert.deepEqual(new Set(own.instanceMaps), new Set([0, 1, 2000, 2001]));
  assert.equal(openDataset(`pairs:${join(fixtures, 'pairs')}?split=test`, fit).n, 2);

  const city = openDataset(`pairs:${join(fixtures, 'cityscapes')}`, fit);
  assert.equal(city.n, 3);
  assert.deepEqual(new Set(city.labelMaps), new Set([7, 23, 26]));
  assert.deepEqual(new Set(city.instanceMaps), new Set([7, 23, 26000, 26001]), '16-bit instance ids as released');
  assert.ok(city.labelMaps instanceof Uint16Array && city.instanceMaps instanceof Uint16Array, 'maps held at 2 bytes a pixel');
  const shape = dataShape(city).labelMaps!;
  assert.equal(shape.maxLabel, 26);
  assert.match(shape.maxLabelAt, /aachen_00000\d_000019_gtFine_labelIds\.png$/);
  assert.equal(shape.labelNames[26], 'car');
  assert.equal(openDataset(`pairs:${join(fixtures, 'cityscapes')}?split=test`, fit).n, 2, 'the val split');
  // A car pixel of the fixture's first frame: label 26, instance 26000, and its image is red or blue, not sky.
  const area = 32 * 64;
  const p = city.labelMaps!.subarray(0, area).indexOf(26);
  assert.equal(city.instanceMaps![p], 26000);
});

test('label maps are read as ids from grey 8/16-bit and palette PNGs; colour PNGs and corrupt files are one clear error', () => {
  const dir = tempDir();
  const ids = [0, 3, 3, 1, 2, 0];
  writeFileSync(join(dir, 'grey.png'), encodeIdMap({ width: 3, height: 2, ids }));
  writeFileSync(join(dir, 'deep.png'), encodeIdMap({ width: 3, height: 2, ids: ids.map((i) => i * 1000 + 7) }, 16));
  // Palette entries may share a colour (Cityscapes' ids 0..4 are all black): ids are the indices.
  writeFileSync(join(dir, 'palette.png'), palettePng(3, 2, ids, [[0, 0, 0], [128, 0, 0], [0, 0, 0], [128, 0, 0]]));
  assert.deepEqual(Array.from(readIdMap(join(dir, 'grey.png')).ids), ids);
  const deep = readIdMap(join(dir, 'deep.png'));
  assert.equal(deep.bitDepth, 16);
  assert.deepEqual(Array.from(deep.ids), ids.map((i) => i * 1000 + 7));
  assert.deepEqual(Array.from(readIdMap(join(dir, 'palette.png')).ids), ids);
  writeFileSync(join(dir, 'colour.png'), encodePng({ width: 2, height: 1, channels: 3, data: Uint8Array.from([10, 10, 10, 200, 30, 30]) }));
  assert.throws(() => readIdMap(join(dir, 'colour.png')), /colour\.png is a colour PNG \(pixel 1,0 is 200,30,30\); save the ids as a grey or palette PNG/);
  writeFileSync(join(dir, 'cut.png'), readFileSync(join(dir, 'deep.png')).subarray(0, 40));
  assert.throws(() => readIdMap(join(dir, 'cut.png')), /label map .*cut\.png is corrupt or truncated \(the file ends before the image does\); re-export it$/);
});

test('bad pairs are one line each: a missing image, pair sizes, an 8-bit instance map, label >= labelNc, no label maps', () => {
  const dir = tempDir();
  const copy = (name: string) => {
    const to = join(dir, name);
    rmSync(to, { recursive: true, force: true });
    cpSync(join(fixtures, name.replace(/-.*/, '')), to, { recursive: true });
    return to;
  };
  let root = copy('pairs-missing');
  rmSync(join(root, 'train_img', 'scene_003.png'));
  assert.throws(() => openDataset(`pairs:${root}`, fit), /6 label maps but 5 files in train_img\/; .*train_label\/scene_003\.png has no image in train_img\//);

  root = copy('pairs-size');
  writeFileSync(join(root, 'train_img', 'scene_002.png'), encodePng({ width: 40, height: 24, channels: 3, data: new Uint8Array(40 * 24 * 3) }));
  assert.throws(() => openDataset(`pairs:${root}`, fit), /label map .*scene_002\.png is 48x24 but its image .*scene_002\.png is 40x24; a pair must be the same size/);

  root = copy('pairs-8bit');
  const inst = readIdMap(join(root, 'train_inst', 'scene_001.png'));
  writeFileSync(join(root, 'train_inst', 'scene_001.png'), encodeIdMap({ ...inst, ids: inst.ids.map((id) => id % 256) }, 8));
  assert.throws(() => openDataset(`pairs:${root}`, fit), /instance map .*scene_001\.png has id (208|209) at pixel .* where the label map has 2; .* It is an 8-bit PNG: ids like 2001 need 16 bits; re-save it as a 16-bit grey PNG/);

  root = copy('cityscapes-missing');
  rmSync(join(root, 'leftImg8bit', 'train', 'aachen', 'aachen_000001_000019_leftImg8bit.png'));
  assert.throws(() => openDataset(`pairs:${root}`, fit), /aachen_000001_000019_gtFine_labelIds\.png has no image; expected .*leftImg8bit\/train\/aachen\/aachen_000001_000019_leftImg8bit\.png/);

  root = copy('cityscapes-8bit');
  const frame = join(root, 'gtFine', 'train', 'aachen', 'aachen_000000_000019_gtFine_instanceIds.png');
  writeFileSync(frame, encodeIdMap({ ...readIdMap(frame), ids: new Int32Array(64 * 32).fill(7) }, 8));
  assert.throws(() => openDataset(`pairs:${root}`, fit), /aachen_000000_000019_gtFine_instanceIds\.png is an 8-bit PNG; Cityscapes' instance ids .* need the released 16-bit file/);

  const family = FAMILIES.pix2pixhd;
  const data = dataShape(openDataset(`pairs:${join(fixtures, 'cityscapes')}`, fit));
  const config = family.schema.parse({ height: 32, width: 64, labelNc: 20 });
  assert.throws(() => family.resolve(config, data), /aachen_00000\d_000019_gtFine_labelIds\.png has label 26, but model\.labelNc is 20 \(labels 0\.\.19\); set model\.labelNc to 27 or more \(0 takes it from the data\), or fix the map/);
  assert.equal((family.resolve(family.schema.parse({ height: 32, width: 64 }), data) as { labelNc: number }).labelNc, 27);
  assert.throws(() => family.resolve(config, dataShape(openDataset('mnist', { height: 32, width: 32, channels: 0 }))), /pix2pixhd turns label maps into images; train it on label-map data: pairs:DIR/);

  assert.throws(() => openDataset(`pairs:${join(fixtures, 'folder')}`, fit), /has no train_label\/ folder; lay out the data as pix2pixHD's train_label\/ \+ train_img\/ \(\+ train_inst\/\), as the Cityscapes release/);
  // NVIDIA's layout for pictures as inputs (--label_nc 0), empty.
  const pictures = tempDir();
  for (const sub of ['train_A', 'train_B']) mkdirSync(join(pictures, sub));
  assert.throws(() => openDataset(`pairs:${pictures}`, fit), /pairs: no pictures \(PNG or JPEG\) in .*train_A$/);
  assert.throws(() => openDataset(`pairs:${join(fixtures, 'pairs')}?split=val`, fit), /split is train or test, not "val"/);
});

test('a flipped batch mirrors each chosen image with its label and instance maps', () => {
  const ds = openDataset(`pairs:${join(fixtures, 'pairs')}`, fit);
  const plain = makeBatch(ds, [0, 1]);
  const flipped = makeBatch(ds, [0, 1], undefined, { views: [{ y: 0, x: 0, flip: true }, { y: 0, x: 0, flip: false }], height: 32, width: 64 });
  const [h, w] = [32, 64];
  const a = plain.images.arraySync() as number[][][][];
  const b = flipped.images.arraySync() as number[][][][];
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
    assert.deepEqual(b[0][y][x], a[0][y][w - 1 - x]);
    assert.deepEqual(b[1][y][x], a[1][y][x]);
    assert.equal(flipped.labelMaps![y * w + x], plain.labelMaps![y * w + w - 1 - x]);
    assert.equal(flipped.instanceMaps![y * w + x], plain.instanceMaps![y * w + w - 1 - x]);
    assert.equal(flipped.labelMaps![h * w + y * w + x], plain.labelMaps![h * w + y * w + x]);
  }
  plain.images.dispose();
  flipped.images.dispose();
});

test('a cropped batch cuts each image and its maps at the drawn place, the same for a given (seed, step)', () => {
  const ds = openDataset(`pairs:${join(fixtures, 'pairs')}`, fit); // 32x64
  const [h, w] = [24, 40];
  const whole = makeBatch(ds, [0, 1, 2, 3, 4, 5]);
  const a = whole.images.arraySync() as number[][][][];
  const sampler = new BatchSampler(ds, 2, 5, true, { height: h, width: w });
  const places = new Set<string>();
  for (let step = 0; step < 12; step++) {
    const batch = sampler.batchAt(step);
    assert.deepEqual(batch.images.shape, [2, h, w, 3]);
    const b = batch.images.arraySync() as number[][][][];
    const indices = sampler.indicesAt(step);
    for (let i = 0; i < 2; i++) {
      // Find the place and mirroring this image was cut with: exactly one must reproduce it, maps included.
      const found: string[] = [];
      for (let y0 = 0; y0 <= 32 - h; y0++) for (let x0 = 0; x0 <= 64 - w; x0++) for (const flip of [false, true]) {
        let same = true;
        for (let y = 0; y < h && same; y += 3) for (let x = 0; x < w && same; x += 3) {
          const sx = x0 + (flip ? w - 1 - x : x);
          same = b[i][y][x].every((v, c) => v === a[indices[i]][y0 + y][sx][c]) && batch.labelMaps![(i * h + y) * w + x] === ds.labelMaps![(indices[i] * 32 + y0 + y) * 64 + sx]
            && batch.instanceMaps![(i * h + y) * w + x] === ds.instanceMaps![(indices[i] * 32 + y0 + y) * 64 + sx];
        }
        if (same) found.push(`${y0},${x0},${flip}`);
      }
      assert.ok(found.length >= 1, `step ${step} image ${i}: no crop of the data image matches`);
      places.add(found[0]);
    }
    const again = sampler.batchAt(step);
    assert.deepEqual(again.images.dataSync(), batch.images.dataSync(), 'a step\'s crops are a function of (seed, step)');
    tf.dispose([batch.images, again.images]);
  }
  assert.ok(places.size > 6, `crops should land in many places, got ${[...places]}`);
  whole.images.dispose();
});

/** Opens a data spec with the given environment (restored after). */
function openWith(env: Record<string, string>, spec: string, size = fit, onProgress?: (done: number) => void) {
  return withEnv(env, () => openDataset(spec, size, onProgress));
}

test('pairs over GANTRY_DATA_MEMORY_MB stream from a file fitted once: the same batches, crops, subsets and sizes as in memory', () => {
  const cache = tempDir();
  const env = { GANTRY_DATA_MEMORY_MB: '0', GANTRY_CACHE: cache };
  const data = tempDir();
  cpSync(join(fixtures, 'cityscapes'), data, { recursive: true });
  const spec = `pairs:${data}`;
  const memory = openDataset(spec, fit);
  let decoded = 0;
  const stored = openWith(env, spec, fit, () => decoded++);
  assert.equal(decoded, 3, 'each pair decoded once');
  assert.equal(stored.pixels, null, 'no image held in memory');
  assert.equal(stored.labelMaps, null);
  assert.match(stored.note!, /^fitted the 3 pairs of .* into .*\/pairs\/[0-9a-f]{20}\.bin \(\d+ kB at 32x64, more than GANTRY_DATA_MEMORY_MB\)/);
  assert.deepEqual(dataShape(stored), dataShape(memory));

  const same = (a: Batch, b: Batch, what: string) => {
    assert.deepEqual(a.images.dataSync(), b.images.dataSync(), what);
    assert.deepEqual(a.labelMaps, b.labelMaps, what);
    assert.deepEqual(a.instanceMaps, b.instanceMaps, what);
    tf.dispose([a.images, b.images]);
  };
  same(makeBatch(stored, [2, 0, 2]), makeBatch(memory, [2, 0, 2]), 'whole images, in the asked order');
  const [fromFile, inMemory] = [stored, memory].map((ds) => new BatchSampler(ds, 2, 3, true, { height: 24, width: 40 }));
  for (let step = 0; step < 4; step++) same(fromFile.batchAt(step), inMemory.batchAt(step), `step ${step}'s crops and flips`);
  const [a, b] = [subset(stored, [2, 1]), subset(memory, [2, 1])];
  assert.equal(a.stored?.n, 2);
  same(makeBatch(a, [1, 0]), makeBatch(b, [1, 0]), 'a subset');
  assert.deepEqual(dataShape(a), dataShape(b));
  const half = { height: 16, width: 32, channels: 3 };
  same(makeBatch(reshapeDataset(stored, half), [0, 1]), makeBatch(reshapeDataset(memory as InMemoryDataset, half), [0, 1]), 'refitted as read');
  assert.deepEqual(readImages(stored, [1]).pixels, readImages(memory, [1]).pixels);

  // A second open reads the file; a changed pair, or a file cut short, makes it anew.
  const again = openWith(env, spec, fit, () => decoded++);
  assert.equal(decoded, 3, 'nothing decoded the second time');
  assert.match(again.note!, /^reading the 3 pairs of /);
  const label = join(data, 'gtFine', 'train', 'aachen', 'aachen_000000_000019_gtFine_labelIds.png');
  utimesSync(label, new Date(), new Date(Date.now() + 5000));
  const changed = openWith(env, spec, fit, () => decoded++);
  assert.equal(decoded, 6, 'a touched label map makes a new file');
  const file = changed.note!.match(/into (\S+\.bin)/)![1];
  truncateSync(file, 100);
  openWith(env, spec, fit, () => decoded++);
  assert.equal(decoded, 9, 'a file cut short is made again');
  assert.equal(statSync(file).size, 3 * 32 * 64 * 7);
  same(makeBatch(openWith(env, spec), [0, 1, 2]), makeBatch(memory, [0, 1, 2]), 'the remade file');

  // Unfinished files of killed processes are removed; one of a live process is left alone.
  const dead = `${file}.tmp-999999999`;
  const live = `${file}.tmp-${process.pid}`;
  writeFileSync(dead, 'x');
  writeFileSync(live, 'x');
  openWith({ ...env, GANTRY_DATA_MEMORY_MB: '0' }, spec, { ...fit, height: 16 });
  assert.ok(!existsSync(dead) && existsSync(live));
  rmSync(file);
  assert.throws(() => makeBatch(changed, [0]), /cannot read the cache .*\/pairs\/.*\.bin \(.*\); it was removed while in use: run the command again/);
  assert.throws(() => openWith({ GANTRY_DATA_MEMORY_MB: 'lots' }, spec), /GANTRY_DATA_MEMORY_MB is "lots"; give the megabytes of fitted images to hold in memory/);
  // A bad pair is the same one line when the pairs are fitted into a file.
  writeFileSync(label, 'not a png');
  assert.throws(() => openWith(env, spec), /label map .*aachen_000000_000019_gtFine_labelIds\.png is not a PNG/);
  assert.deepEqual(readdirSync(join(cache, 'pairs')).filter((f) => f.includes('.tmp-') && !f.endsWith(`-${process.pid}`)), [], 'no unfinished file left by the failed fit');
});

test('pairs held in memory whose decoding was slow are kept fitted, and the next run reads them whole: the same dataset', () => {
  const env = { GANTRY_IMAGE_CACHE_SECONDS: '0', GANTRY_CACHE: tempDir() };
  const spec = `pairs:${join(fixtures, 'cityscapes')}`;
  const progress: number[] = [];
  const first = openWith(env, spec, fit, (done) => progress.push(done));
  const second = openWith(env, spec, fit, (done) => progress.push(done));
  assert.deepEqual(progress, [1, 2, 3, 3], 'decoded once, then read whole');
  assert.ok(second.labelMaps instanceof Uint16Array && second.instanceMaps instanceof Uint16Array);
  assert.deepEqual([second.pixels, second.labelMaps, second.instanceMaps], [first.pixels, first.labelMaps, first.instanceMaps]);
  assert.deepEqual(dataShape(second), dataShape(first));
  assert.deepEqual(openDataset(spec, fit).labelMaps, first.labelMaps, 'and the same as decoded without the cache');
});

test('pairs:DIR\'s train_feat/ (precomputed feature maps) are read with the maps where asked: fitted, flipped, cropped and stored as they are', () => {
  const data = pairsWithFeatureMaps(2);
  const withFeatures = { ...fit, readFeatureMaps: true };
  const ds = openDataset(`pairs:${data}`, withFeatures);
  assert.equal(dataShape(ds).labelMaps!.features, true);
  assert.equal(dataShape(openDataset(`pairs:${join(fixtures, 'pairs')}`, withFeatures)).labelMaps!.features, false);
  const unasked = openDataset(`pairs:${data}`, fit);
  assert.ok(!unasked.featureMaps && !dataShape(unasked).labelMaps!.features, 'a run that does not read them does not hold them');
  // Every pixel's levels are those of its instance: the maps line up with the instance maps after fitting.
  const packed = (id: number) => fixtureFeatureLevels(id).reduce((v, l) => (v << 8) | l, 0);
  for (let p = 0; p < ds.featureMaps!.length; p++) assert.equal(ds.featureMaps![p], packed(ds.instanceMaps![p]), `pixel ${p}`);
  assert.deepEqual(Array.from(featureValues([packed(2001)])), [2001 % 251, (2001 * 7) % 256, 255 - (2001 % 200)].map((l) => Math.fround(l / 127.5 - 1)));
  // Batches carry them, mirrored and cropped with the images.
  const sampler = new BatchSampler(ds, 2, 3, true, { height: 24, width: 40 });
  for (let step = 0; step < 4; step++) {
    const b = sampler.batchAt(step);
    for (let p = 0; p < b.featureMaps!.length; p++) assert.equal(b.featureMaps![p], packed(b.instanceMaps![p]));
    b.images.dispose();
  }
  // The same from a fitted store.
  const stored = openWith({ GANTRY_DATA_MEMORY_MB: '0', GANTRY_CACHE: tempDir() }, `pairs:${data}`, withFeatures);
  assert.equal(stored.featureMaps, null);
  assert.deepEqual(readImages(stored, [4, 1]).featureMaps, readImages(ds, [4, 1]).featureMaps);
  assert.deepEqual(readImages(subset(stored, [5, 0]), [0, 1]).featureMaps, readImages(ds, [5, 0]).featureMaps);
  assert.deepEqual(dataShape(stored), dataShape(ds));
});

test('feature maps of another shape than their label maps, or missing for some maps, are one line each', () => {
  const data = pairsWithFeatureMaps(1);
  const first = join(data, 'train_feat', 'scene_000.png');
  writeFileSync(first, encodePng({ width: 48, height: 48, channels: 3, data: new Uint8Array(48 * 48 * 3) }));
  assert.throws(() => openDataset(`pairs:${data}`, { ...fit, readFeatureMaps: true }), /^GantryError: pairs: feature map .*scene_000\.png is 48x48 but its label map .*scene_000\.png is 48x24; a feature map must have its label map's shape/);
  rmSync(first);
  assert.equal(openDataset(`pairs:${data}`, fit).n, 6, 'a run that does not read them is not stopped by them');
  assert.throws(() => openDataset(`pairs:${data}`, { ...fit, readFeatureMaps: true }), /pairs: 6 label maps but 5 files in train_feat\/; .*scene_000\.png has no feature map in train_feat\//);
});

test('the Cityscapes layout keeps its feature maps in featureMaps/<split>/<city>/<frame>_featureMaps.png: read like train_feat/, all or none', () => {
  const data = cityscapesWithFeatureMaps(2);
  const withFeatures = { ...fit, readFeatureMaps: true };
  const ds = openDataset(`pairs:${data}`, withFeatures);
  assert.equal(dataShape(ds).labelMaps!.features, true);
  const packed = (id: number) => fixtureFeatureLevels(id).reduce((v, l) => (v << 8) | l, 0);
  for (let p = 0; p < ds.featureMaps!.length; p++) assert.equal(ds.featureMaps![p], packed(ds.instanceMaps![p]), `pixel ${p}`);
  assert.equal(openDataset(`pairs:${data}?split=test`, withFeatures).featureMaps, null, 'val has none: none read');
  assert.equal(openDataset(`pairs:${data}`, fit).featureMaps, null, 'not asked: not read');

  const missing = join(data, 'featureMaps', 'train', 'aachen', 'aachen_000001_000019_featureMaps.png');
  rmSync(missing);
  assert.throws(() => openDataset(`pairs:${data}`, withFeatures), (err: Error) => err.message === `pairs: ${join(data, 'gtFine', 'train', 'aachen', 'aachen_000001_000019_gtFine_labelIds.png')} has no feature map (expected ${missing}), but 2 other label maps do; give every map its feature map (gantry features --maps-out ${join(data, 'featureMaps', 'train')} writes them all)`);
  assert.equal(openDataset(`pairs:${data}`, fit).n, 3, 'a run that does not read them is not stopped by them');
});

/** A picture-input pair folder: train_A/ + train_B/ of 48x40 RGB pictures whose levels are functions of (i, pixel). */
function picturePairs(n: number): string {
  const dir = tempDir();
  const [w, h] = [48, 40];
  for (const [sub, salt] of [['train_A', 0], ['train_B', 7]] as const) {
    mkdirSync(join(dir, sub));
    for (let i = 0; i < n; i++) {
      const data = Uint8Array.from({ length: w * h * 3 }, (_, k) => (k * (3 + i) + salt * 31) % 256);
      writeFileSync(join(dir, sub, `p${i}.png`), encodePng({ width: w, height: h, channels: 3, data }));
    }
  }
  return dir;
}

test('pairs:DIR with train_A/ + train_B/ (pictures as inputs): each input fitted as an image and kept packed in the label maps, flipped and cropped with its picture, stored alike', () => {
  const dir = picturePairs(3);
  const size = { height: 32, width: 32, channels: 3 };
  const ds = openDataset(`pairs:${dir}`, size);
  assert.equal(ds.pictureInputs, true);
  assert.equal(ds.instanceMaps ?? null, null);
  const shape = dataShape(ds).labelMaps!;
  assert.equal(shape.pictures, true);
  assert.equal(shape.missingInstances, undefined, 'pictures have no instance maps to miss');
  // The input, as the networks read it, is the A picture fitted as its B picture is (cover, centre crop).
  const inputsAsImages = openDataset(`folder:${join(dir, 'train_A')}`, size) as InMemoryDataset;
  const batch = makeBatch(ds, [2, 0]);
  const want = makeBatch(inputsAsImages, [2, 0]);
  assert.deepEqual(featureValues(batch.labelMaps!), want.images.dataSync());
  tf.dispose([batch.images, want.images]);

  // Mirrored and cropped with their pictures: the input's packed levels move as the picture's pixels.
  const sampler = new BatchSampler(ds, 3, 5, true, { height: 24, width: 16 });
  const asImages = new BatchSampler({ ...inputsAsImages, pictureInputs: undefined }, 3, 5, true, { height: 24, width: 16 });
  for (let step = 0; step < 3; step++) {
    const [a, b] = [sampler.batchAt(step), asImages.batchAt(step)];
    assert.deepEqual(featureValues(a.labelMaps!), b.images.dataSync(), `step ${step}`);
    tf.dispose([a.images, b.images]);
  }

  // Over GANTRY_DATA_MEMORY_MB: fitted into the cache, 3 + 4 bytes a pixel, the same batches.
  const stored = openWith({ GANTRY_DATA_MEMORY_MB: '0', GANTRY_CACHE: tempDir() }, `pairs:${dir}`, size);
  assert.equal(stored.pixels, null);
  assert.match(stored.note!, /\((\d+) kB at 32x32/);
  assert.equal(Number(stored.note!.match(/\((\d+) kB/)![1]), Math.round((3 * 32 * 32 * 7) / 1000));
  assert.deepEqual(dataShape(stored), dataShape(ds));
  const [x, y] = [makeBatch(stored, [1, 2]), makeBatch(ds, [1, 2])];
  assert.deepEqual(x.labelMaps, y.labelMaps);
  assert.deepEqual(x.images.dataSync(), y.images.dataSync());
  tf.dispose([x.images, y.images]);
});

test('pictures as inputs laid out wrong are one line each: a missing half, unequal counts, a pair of two sizes, instance maps beside them', () => {
  const only = (keep: string) => {
    const dir = picturePairs(2);
    rmSync(join(dir, keep === 'A' ? 'train_B' : 'train_A'), { recursive: true });
    return dir;
  };
  assert.throws(() => openDataset(`pairs:${only('A')}`, fit), /pairs: .* has train_A\/ but no train_B\/ with the pictures to draw from them/);
  assert.throws(() => openDataset(`pairs:${only('B')}`, fit), /pairs: .* has train_B\/ but no train_A\/ with the input pictures/);
  const uneven = picturePairs(3);
  rmSync(join(uneven, 'train_B', 'p1.png'));
  assert.throws(() => openDataset(`pairs:${uneven}`, fit), /pairs: 3 input pictures but 2 files in train_B\/; .*p1\.png has no picture in train_B\/ \(pairs are matched by sorted name: give each input picture its picture\)/);
  const sizes = picturePairs(2);
  writeFileSync(join(sizes, 'train_B', 'p1.png'), encodePng({ width: 8, height: 8, channels: 3, data: new Uint8Array(192) }));
  assert.throws(() => openDataset(`pairs:${sizes}`, fit), /pairs: input picture .*train_A\/p1\.png is 48x40 but its picture .*train_B\/p1\.png is 8x8; a pair must be the same size/);
  const inst = picturePairs(2);
  mkdirSync(join(inst, 'train_inst'));
  assert.throws(() => openDataset(`pairs:${inst}`, fit), /has train_A\/ \(pictures as inputs\) and train_inst\/; gantry reads instance maps only with label maps/);
  const none = tempDir();
  assert.throws(() => openDataset(`pairs:${none}`, fit), /no train_label\/ folder; .* or, for pictures as inputs, as train_A\/ \+ train_B\//);
});

test('pairs:DIR in pix2pix\'s aligned layout (train/ of A | B side by side): the same pairs as train_A/ + train_B/, ?direction=BtoA the other way round, val/ as the test split', () => {
  const separate = picturePairs(3);
  const aligned = sideBySide(separate, 'train');
  const size = { height: 32, width: 32, channels: 3 };
  const [a, b] = [openDataset(`pairs:${separate}`, size), openDataset(`pairs:${aligned}`, size)];
  assert.equal(b.pictureInputs, true);
  assert.deepEqual(dataShape(b).labelMaps!.pictures, true);
  assert.deepEqual([b.labelMaps, b.pixels], [a.labelMaps, a.pixels]);
  // BtoA: B is the input and A the picture to draw, as if train_A/ and train_B/ were swapped.
  const swapped = tempDir();
  cpSync(join(separate, 'train_A'), join(swapped, 'train_B'), { recursive: true });
  cpSync(join(separate, 'train_B'), join(swapped, 'train_A'), { recursive: true });
  const back = openDataset(`pairs:${aligned}?direction=BtoA`, size);
  assert.equal(back.name, `pairs:${aligned}?direction=BtoA`);
  assert.deepEqual([back.labelMaps, back.pixels], [openDataset(`pairs:${swapped}`, size).labelMaps, openDataset(`pairs:${swapped}`, size).pixels]);
  // Stored, each direction its own file.
  const env = { GANTRY_DATA_MEMORY_MB: '0', GANTRY_CACHE: tempDir() };
  const [storedAB, storedBA] = [openWith(env, `pairs:${aligned}`, size), openWith(env, `pairs:${aligned}?direction=BtoA`, size)];
  assert.notEqual(storedAB.note!.match(/\S+\.bin/)![0], storedBA.note!.match(/\S+\.bin/)![0]);
  assert.deepEqual(readImages(storedBA, [0, 2]).labelMaps, readImages(back, [0, 2]).labelMaps);
  // pix2pix's datasets without a test/ keep their held-out pictures in val/.
  const withVal = sideBySide(separate, 'train');
  cpSync(join(withVal, 'train'), join(withVal, 'val'), { recursive: true });
  assert.equal(openDataset(`pairs:${withVal}?split=test&direction=BtoA`, size).n, 3);
  assert.throws(() => openDataset(`pairs:${separate}?direction=BtoA`, size), /\?direction= picks the input half of pix2pix's side-by-side pictures .* and .* is in the train_A\/ \+ train_B\/ layout; leave \?direction= out/);
  assert.throws(() => openDataset(`pairs:${aligned}?direction=up`, size), /direction is AtoB or BtoA/);
  const narrow = tempDir();
  mkdirSync(join(narrow, 'train'));
  writeFileSync(join(narrow, 'train', 'x.png'), encodePng({ width: 1, height: 4, channels: 3, data: new Uint8Array(12) }));
  assert.throws(() => openDataset(`pairs:${narrow}`, size), /x\.png is 1x4, too narrow to be two pictures side by side/);
});
