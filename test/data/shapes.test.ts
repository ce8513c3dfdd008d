import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateShapes, SHAPE_NAMES } from '../../src/data/shapes.ts';
import { openDataset } from '../../src/data/index.ts';

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
  const ds = openDataset('shapes:20?seed=3', { height: 32, width: 32, channels: 1 });
  assert.deepEqual([ds.n, ds.height, ds.channels], [20, 32, 1]);
  assert.throws(() => openDataset('shapes:lots', { height: 32, width: 32, channels: 0 }), /shapes takes a count/);
});
