import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateShapes, SHAPE_NAMES } from '../../src/data/shapes.ts';
import { openDataset } from '../../src/data/index.ts';
import { dataShape, readImages, subset } from '../../src/data/dataset.ts';
import { makeBatch } from '../../src/data/sampler.ts';
import { setup, tf, withEnv } from '../helpers.ts';

await setup();

test('shapes: deterministic per seed, captions and label maps agree with the pixels and labels', () => {
  const a = generateShapes(50, 24, 3);
  const b = generateShapes(50, 24, 3);
  assert.deepEqual(a.pixels, b.pixels);
  assert.notDeepEqual(generateShapes(50, 24, 4).pixels, a.pixels);
  for (let i = 0; i < a.n; i++) {
    assert.match(a.captions[i][0], new RegExp(`^a (small|large) \\w+ ${SHAPE_NAMES[a.labels![i]]} on a \\w+ background$`));
    const map = a.labelMaps.subarray(i * 576, (i + 1) * 576);
    const on = [...map].filter((v) => v > 0);
    assert.ok(on.length > 10, `image ${i} shows its shape`);
    assert.ok(on.every((v) => v === 1 + a.labels![i]));
    // every labelled pixel has one colour (the shape's), every background pixel another
    const colour = (p: number) => a.pixels.subarray((i * 576 + p) * 3, (i * 576 + p) * 3 + 3).join(',');
    const fg = new Set([...map.keys()].filter((p) => map[p] > 0).map(colour));
    const bg = new Set([...map.keys()].filter((p) => map[p] === 0).map(colour));
    assert.equal(fg.size, 1);
    assert.equal(bg.size, 1);
    assert.notDeepEqual([...fg], [...bg]);
  }
  // Coloured by shape: the same geometry, every circle red, square green, triangle blue, diamond yellow, on white.
  const byShape = generateShapes(50, 24, 3, 'by-shape');
  assert.deepEqual(byShape.labelMaps, a.labelMaps);
  const rgb = ['220,40,40', '40,180,60', '40,70,220', '235,210,40'];
  for (let i = 0; i < 50; i++) {
    const p = byShape.labelMaps.subarray(i * 576, (i + 1) * 576).findIndex((v) => v > 0);
    assert.equal(byShape.pixels.subarray((i * 576 + p) * 3, (i * 576 + p) * 3 + 3).join(','), rgb[byShape.labels![i]]);
    assert.match(byShape.captions[i][0], / on a white background$/);
  }
  assert.equal(openDataset('shapes:5?colours=by-shape', { height: 24, width: 24, channels: 3 }).pixels!.length, 5 * 576 * 3);
  assert.throws(() => openDataset('shapes:5?colours=pink', { height: 24, width: 24, channels: 3 }), /colours is random or by-shape, not "pink"/);
  const ds = openDataset('shapes:20?seed=3', { height: 32, width: 32, channels: 1 });
  assert.deepEqual([ds.n, ds.height, ds.channels], [20, 32, 1]);
  assert.throws(() => openDataset('shapes:lots', { height: 32, width: 32, channels: 0 }), /shapes takes a count/);
});

test('label and instance maps follow their images through fitting (nearest, never blended), subsets and batches', () => {
  // Drawn at 64 and fitted to 32 high x 64 wide: the maps are cropped and scaled as the pixels are.
  const ds = openDataset('shapes:12?seed=5', { height: 32, width: 64, channels: 3 });
  assert.deepEqual([ds.height, ds.width, ds.labelMaps!.length, ds.instanceMaps!.length], [32, 64, 12 * 32 * 64, 12 * 32 * 64]);
  const area = 32 * 64;
  for (let i = 0; i < ds.n; i++) {
    const map = ds.labelMaps!.subarray(i * area, (i + 1) * area);
    assert.ok(map.every((v) => v === 0 || v === 1 + ds.labels![i]), `image ${i}: label ids only, no blends`);
    assert.ok(ds.instanceMaps!.subarray(i * area, (i + 1) * area).every((v, p) => v === map[p] * 1000), `image ${i}: instances (label * 1000)`);
    // Away from the outline (a pixel whose 3x3 neighbourhood has one label) the colour is the label's.
    const colours = new Map<number, Set<string>>();
    for (let y = 1; y < 31; y++) for (let x = 1; x < 63; x++) {
      const l = map[y * 64 + x];
      let uniform = true;
      for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) if (map[(y + dy) * 64 + x + dx] !== l) uniform = false;
      if (!uniform) continue;
      const p = (i * area + y * 64 + x) * 3;
      const set = colours.get(l) ?? new Set();
      set.add(Array.from(ds.pixels!.subarray(p, p + 3), (v) => Math.round(v / 16)).join(','));
      colours.set(l, set);
    }
    for (const [l, set] of colours) assert.equal(set.size, 1, `image ${i} label ${l}: ${set.size} colours inside one region`);
  }
  const part = subset(ds, [7, 2]);
  assert.deepEqual(part.labelMaps!.subarray(0, area), ds.labelMaps!.subarray(7 * area, 8 * area));
  const batch = makeBatch(ds, [3, 9]);
  assert.deepEqual(batch.instanceMaps!.subarray(area), ds.instanceMaps!.subarray(9 * area, 10 * area));
  batch.images.dispose();
  batch.labels?.dispose();
});

test('a shapes set larger than GANTRY_DATA_MEMORY_MB is drawn as it is read: the same images, maps, labels and captions, fitted, subset and batched alike', () => {
  const spec = 'shapes:9?seed=4&colours=by-shape';
  for (const fit of [{ height: 24, width: 24, channels: 3 }, { height: 32, width: 64, channels: 3 }, { height: 20, width: 20, channels: 1 }]) {
    const held = openDataset(spec, fit);
    const drawn = withEnv({ GANTRY_DATA_MEMORY_MB: '0' }, () => openDataset(spec, fit));
    const what = `${fit.height}x${fit.width}x${fit.channels}`;
    assert.equal(drawn.pixels, null, `${what}: nothing held`);
    assert.ok(held.pixels, `${what}: a small set is held`);
    assert.deepEqual([drawn.labels, drawn.captions, drawn.labelNames, dataShape(drawn)], [held.labels, held.captions, held.labelNames, dataShape(held)], what);
    const all = Array.from({ length: 9 }, (_, i) => i);
    const [a, b] = [readImages(held, all), readImages(drawn, all)];
    assert.deepEqual([b.pixels, b.labelMaps, b.instanceMaps], [a.pixels, a.labelMaps, a.instanceMaps], what);
    assert.equal(subset(drawn, []).n, 0, `${what}: an empty subset`);
    const [c, d] = [readImages(held, [1, 6]), readImages(subset(drawn, [6, 1]), [1, 0])];
    assert.deepEqual([d.pixels, d.labelMaps, d.instanceMaps], [c.pixels, c.labelMaps, c.instanceMaps], `${what}: a subset`);
    const [x, y] = [makeBatch(held, [5, 2]), makeBatch(drawn, [5, 2])];
    assert.deepEqual([y.images.dataSync(), y.labelMaps, y.instanceMaps, y.captions], [x.images.dataSync(), x.labelMaps, x.instanceMaps, x.captions], `${what}: a batch`);
    tf.dispose([x.images, x.labels!, y.images, y.labels!]);
  }
  // 10,000 at 256x256, 7 GB with their maps, open without drawing one.
  const before = process.memoryUsage().arrayBuffers;
  const large = withEnv({ GANTRY_DATA_MEMORY_MB: undefined }, () => openDataset('shapes', { height: 256, width: 256, channels: 3 }));
  assert.deepEqual([large.n, large.pixels, large.captions!.length], [10000, null, 10000]);
  assert.ok(process.memoryUsage().arrayBuffers - before < 50e6, 'the large set holds no pictures');
  assert.equal(readImages(large, [9999]).pixels.length, 256 * 256 * 3);
});
