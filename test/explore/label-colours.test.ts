import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setup, tf } from '../helpers.ts';
import { Rng } from '../../src/engine/rng.ts';
import { instanceEdges, mapTensor } from '../../src/data/label-maps.ts';
import { colourLabels, instanceBoundaries, labelIdsOfColours, labelPalette } from '../../src/explore/label-colours.ts';
import { CITYSCAPES_LABELS } from '../../src/data/cityscapes.ts';

await setup();
const golden = JSON.parse(readFileSync(join(dirname(fileURLToPath(import.meta.url)), '..', 'golden', 'pix2pixhd_golden.json'), 'utf8'));

test('the painter\'s object outlines are the boundary map the networks read: NVIDIA\'s get_edges in PyTorch, instanceEdges on random maps', () => {
  const [n, h, w] = golden.size as [number, number, number];
  const area = h * w;
  for (let i = 0; i < n; i++) {
    const outline = instanceBoundaries(Int32Array.from(golden.instances.slice(i * area, (i + 1) * area)), w, h);
    assert.deepEqual(Array.from(outline), golden.edges.slice(i * area, (i + 1) * area), `map ${i} as PyTorch's`);
  }
  const rng = new Rng(3);
  for (const [height, width] of [[1, 1], [1, 7], [9, 1], [13, 17]]) {
    // Few ids, so regions of several pixels meet; object ids as Cityscapes numbers them.
    const instances = Int32Array.from({ length: height * width }, () => [7, 26000, 26001, 24003][Math.floor(rng.uniform() * 4)]);
    const edges = tf.tidy(() => Array.from(instanceEdges(mapTensor(instances, 1, height, width)).dataSync()));
    assert.deepEqual(Array.from(instanceBoundaries(instances, width, height)), edges, `${height}x${width}`);
  }
});

test('label colours: Cityscapes\' own for Cityscapes\' names, PASCAL VOC\'s otherwise, grey past the palette', () => {
  const names = CITYSCAPES_LABELS.map(([name]) => name);
  assert.deepEqual(labelPalette(35, names)[26], [0, 0, 142], 'car');
  assert.deepEqual(labelPalette(3), [[0, 0, 0], [128, 0, 0], [0, 128, 0]]);
  assert.deepEqual(labelPalette(3, ['road', 'car', 'sky'])[1], [128, 0, 0], 'other names: VOC');
  const rgb = colourLabels({ n: 1, height: 1, width: 2, labels: Int32Array.from([1, 9]), instances: null }, labelPalette(3));
  assert.deepEqual(Array.from(rgb), [128, 0, 0, 128, 128, 128]);
});

test('a label image read as ids: grey pixels below the label count are ids, others the label of their colour (the first where labels share one); other colours one clear error', () => {
  const names = CITYSCAPES_LABELS.map(([name]) => name);
  const palette = labelPalette(35, names);
  const rgba = (pixels: number[][]) => ({ width: pixels.length, height: 1, data: pixels.flatMap(([r, g, b]) => [r, g, b, 255]) });
  // Black is unlabeled (0; ids 0..4 share it), grey 7 is road's id, (153, 153, 153) pole (17, not polegroup), car's blue.
  assert.deepEqual(Array.from(labelIdsOfColours(rgba([[0, 0, 0], [7, 7, 7], [153, 153, 153], [0, 0, 142], [128, 64, 128]]), palette, 'city.png')), [0, 7, 17, 26, 7]);
  assert.throws(() => labelIdsOfColours(rgba([[0, 0, 0], [1, 2, 3]]), palette, 'odd.png'), /^GantryError: odd\.png has colour rgb\(1, 2, 3\) at pixel 1,0: neither an id below 35 in grey nor a label's colour$/);
  assert.throws(() => labelIdsOfColours(rgba([[40, 40, 40]]), palette, 'grey.png'), /rgb\(40, 40, 40\)/, 'a grey past the labels that is no label\'s colour');
});
