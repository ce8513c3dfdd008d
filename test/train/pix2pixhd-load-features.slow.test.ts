import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setup, tempDir, tf } from '../helpers.ts';
import { openDataset } from '../../src/data/index.ts';
import { featureLevel, featureValues } from '../../src/data/feature-maps.ts';
import { SHAPE_COLOURS } from '../../src/data/shapes.ts';
import { encodeIdMap } from '../../src/io/id-map.ts';
import { encodePng } from '../../src/io/png.ts';
import { openRun } from '../../src/train/run.ts';
import { train } from '../../src/train/trainer.ts';
import { validateRunConfig } from '../../src/train/run-config.ts';

await setup();

const SIZE = 32;
const AREA = SIZE * SIZE;

/** Each object's (instance's) mean colour in an image, as 8-bit levels packed as pairs:DIR packs them: an oracle of its look. */
function objectColours(pixels: Uint8Array, instances: ArrayLike<number>, i: number): Map<number, number> {
  const sums = new Map<number, number[]>();
  for (let p = 0; p < AREA; p++) {
    const s = sums.get(instances[i * AREA + p]) ?? [0, 0, 0, 0];
    for (let c = 0; c < 3; c++) s[c] += pixels[(i * AREA + p) * 3 + c];
    s[3]++;
    sums.set(instances[i * AREA + p], s);
  }
  return new Map([...sums].map(([id, s]) => [id, (Math.round(s[0] / s[3]) << 16) | (Math.round(s[1] / s[3]) << 8) | Math.round(s[2] / s[3])]));
}

const rgbOf = (v: number) => [(v >> 16) & 255, (v >> 8) & 255, v & 255];

/** Packed levels as RGB bytes. */
const unpacked = (packed: Int32Array) => Uint8Array.from({ length: packed.length * 3 }, (_, q) => rgbOf(packed[Math.floor(q / 3)])[q % 3]);

/**
 * A feature map for image i's objects: each pixel the mean colour of its object in image `source`'s photo,
 * where that image has an object of the same id (its background, a shape of the same kind), else its other
 * object's in turn.
 */
function objectColourMap(pixels: Uint8Array, instances: ArrayLike<number>, i: number, source: number): Int32Array {
  const colours = objectColours(pixels, instances, source);
  const others = [...colours.values()];
  const chosen = new Map<number, number>();
  const out = new Int32Array(AREA);
  for (let p = 0; p < AREA; p++) {
    const id = instances[i * AREA + p];
    if (!chosen.has(id)) chosen.set(id, colours.get(id) ?? others[chosen.size % others.length]);
    out[p] = chosen.get(id)!;
  }
  return out;
}

/** The palette colour nearest to a colour (0..255 each). */
function nearestColour(rgb: number[]): number {
  let best = 0;
  SHAPE_COLOURS.forEach(([, c], k) => {
    if (c.reduce((d, v, j) => d + (v - rgb[j]) ** 2, 0) < SHAPE_COLOURS[best][1].reduce((d, v, j) => d + (v - rgb[j]) ** 2, 0)) best = k;
  });
  return best;
}

/**
 * With random colours a shapes label map does not say what colour a shape or its background is. Given each
 * object's colour as a precomputed feature map (model.loadFeatures: train_feat/ holding each object's mean
 * colour, an oracle of what an encoder learns), G must learn to read it. Scored on held-out maps: the share
 * of objects whose drawn mean colour is nearest the right palette colour, drawn with their own photos'
 * object colours, and drawn with another photo's (the control: a G that ignored its features scores the
 * same both ways). G's instance norm after its first convolution takes out each image's mean and scale of
 * what the features add, so the colours come through only relative to each other in an image, and slowly.
 * Measured (600 steps, batch 8, 32x32, the family's CPU defaults, no VGG, about 80 s on 2 cores): 0.43 with
 * the right colours, 0.10 with another photo's (0.25 and 0.11 after 300 steps; 0.15 for a run without
 * feature maps).
 */
test('pix2pixhd with loadFeatures learns to draw what the loaded feature maps say: object colours a label map cannot give', async () => {
  const data = tempDir();
  const shapes = openDataset('shapes:600', { height: SIZE, width: SIZE, channels: 3 });
  const pixels = shapes.pixels!;
  const [labels, instances] = [shapes.labelMaps!, shapes.instanceMaps!];
  for (const split of ['train', 'test']) for (const kind of ['label', 'inst', 'img', 'feat']) mkdirSync(join(data, `${split}_${kind}`));
  for (let i = 0; i < shapes.n; i++) {
    const split = i < 500 ? 'train' : 'test';
    const name = `${String(i).padStart(4, '0')}.png`;
    const ids = (m: ArrayLike<number>) => ({ width: SIZE, height: SIZE, ids: Array.from({ length: AREA }, (_, p) => m[i * AREA + p]) });
    writeFileSync(join(data, `${split}_label`, name), encodeIdMap(ids(labels)));
    writeFileSync(join(data, `${split}_inst`, name), encodeIdMap(ids(instances), 16));
    writeFileSync(join(data, `${split}_img`, name), encodePng({ width: SIZE, height: SIZE, channels: 3, data: pixels.subarray(i * AREA * 3, (i + 1) * AREA * 3) }));
    if (split === 'train') writeFileSync(join(data, 'train_feat', name), encodePng({ width: SIZE, height: SIZE, channels: 3, data: unpacked(objectColourMap(pixels, instances, i, i)) }));
  }
  const dir = join(tempDir(), 'run');
  const config = validateRunConfig({
    family: 'pix2pixhd', seed: 1, data: `pairs:${data}`, model: { height: SIZE, vgg: false, featNum: 3, loadFeatures: true },
    train: { steps: 600, batch: 8, sampleEvery: 600, checkpointEvery: 600, logEvery: 50 },
  }, 'test');
  await train({ outDir: dir, config, quiet: true });
  const run = openRun(dir);
  const held = Array.from({ length: 100 }, (_, k) => 500 + k);
  const n = held.length;
  const pick = (m: ArrayLike<number>) => Int32Array.from({ length: n * AREA }, (_, q) => m[held[Math.floor(q / AREA)] * AREA + (q % AREA)]);
  const heldInstances = pick(instances);

  /** The share of held-out objects drawn in the right palette colour, each map given the object colours of photo `source(k)`. */
  async function rightColours(source: (k: number) => number): Promise<number> {
    const packed = new Int32Array(n * AREA);
    held.forEach((i, k) => packed.set(objectColourMap(pixels, instances, i, source(k)), k * AREA));
    const labelsT = tf.tensor3d(pick(labels), [n, SIZE, SIZE], 'int32');
    const instancesT = tf.tensor3d(heldInstances, [n, SIZE, SIZE], 'int32');
    const features = tf.tensor4d(featureValues(packed), [n, SIZE, SIZE, 3]);
    const drawn = run.model.generate!(tf.zeros([n, 0]) as tf.Tensor2D, { kind: 'labelMap', labels: labelsT, instances: instancesT, features });
    const values = await drawn.data();
    tf.dispose([labelsT, instancesT, features, drawn]);
    let right = 0;
    let objects = 0;
    held.forEach((i, k) => {
      const levels = Uint8Array.from({ length: AREA * 3 }, (_, q) => featureLevel(values[k * AREA * 3 + q]));
      const drawnColours = objectColours(levels, heldInstances.subarray(k * AREA, (k + 1) * AREA), 0);
      for (const [id, v] of objectColours(pixels, instances, i)) {
        objects++;
        if (nearestColour(rgbOf(drawnColours.get(id)!)) === nearestColour(rgbOf(v))) right++;
      }
    });
    return right / objects;
  }

  const own = await rightColours((k) => held[k]);
  const another = await rightColours((k) => held[(k + 1) % n]);
  run.model.dispose();
  console.log(`held-out objects drawn in their right colour: with their photos' colours ${own.toFixed(3)}, with another photo's ${another.toFixed(3)}`);
  assert.ok(own > 0.3, `with their own colours: ${own}`);
  assert.ok(own > another + 0.2, `with their own colours ${own}, with another photo's ${another}`);
});
