import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setup, tempDir, tf, withEnv } from '../helpers.ts';
import { openCaptions, openDataset } from '../../src/data/index.ts';
import { subset } from '../../src/data/dataset.ts';
import { BatchSampler, makeBatch } from '../../src/data/sampler.ts';
import { encodePng } from '../../src/io/png.ts';
import { GantryError } from '../../src/errors.ts';
import { Rng } from '../../src/engine/rng.ts';

await setup();
const fixtures = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures');

test('captions:DIR reads the CUB layout (images/<class>/X.jpg, text_c10/<class>/X.txt): images, classes, every caption', () => {
  const ds = openDataset(`captions:${join(fixtures, 'captions')}`, { height: 32, width: 32, channels: 3 });
  assert.equal(ds.n, 6);
  assert.deepEqual([ds.height, ds.width, ds.channels], [32, 32, 3]);
  assert.deepEqual(ds.classNames, ['001.Cardinal', '002.Blue_Jay']);
  assert.deepEqual(Array.from(ds.labels!), [0, 0, 0, 1, 1, 1]);
  assert.equal(ds.captions!.length, 6);
  assert.deepEqual(ds.captions![4], ['this bird is blue with a short beak.', 'a small blue bird perched on branch number 1.', 'the bird has blue feathers and black eyes.']);
  // A subset keeps each image's captions with it.
  assert.deepEqual(subset(ds, [4, 0]).captions, [ds.captions![4], ds.captions![0]]);
});

test('batches of captioned data carry one caption an image, drawn per step and the same on every run', () => {
  const ds = openDataset(`captions:${join(fixtures, 'captions')}`, { height: 32, width: 32, channels: 3 });
  const sampler = new BatchSampler(ds, 6, 1);
  const drawn = new Set<string>();
  for (let step = 0; step < 8; step++) {
    const a = sampler.batchAt(step);
    const b = new BatchSampler(ds, 6, 1).batchAt(step);
    assert.deepEqual(a.captions, b.captions);
    const indices = sampler.indicesAt(step);
    a.captions!.forEach((c, i) => {
      assert.ok(ds.captions![indices[i]].includes(c), 'a caption of that image');
      drawn.add(c);
    });
    tf.dispose([a.images, a.labels!, b.images, b.labels!]);
  }
  assert.ok(drawn.size > 6, 'more than the first caption of each image is used');
  const first = makeBatch(ds, [1]);
  assert.deepEqual(first.captions, [ds.captions![1][0]], 'without a caption stream, the first caption');
  first.images.dispose();
  first.labels?.dispose();
  // shapes: one caption an image
  const shapes = openDataset('shapes:10', { height: 16, width: 16, channels: 3 });
  const batch = makeBatch(shapes, [0, 3], new Rng(0));
  assert.match(batch.captions![1], /^a (small|large) \w+ \w+ on a \w+ background$/);
  tf.dispose([batch.images, batch.labels!]);
});

test('captions:DIR with the .txt beside each image; a missing caption file or an empty folder is one clear error', () => {
  const dir = tempDir();
  const img = encodePng({ width: 8, height: 8, channels: 3, data: new Uint8Array(192).fill(90) });
  for (const name of ['a', 'b']) {
    writeFileSync(join(dir, `${name}.png`), img);
    writeFileSync(join(dir, `${name}.txt`), `\n  a grey square ${name}  \r\n\nanother line\n`);
  }
  const ds = openDataset(`captions:${dir}`, { height: 8, width: 8, channels: 3 });
  assert.deepEqual(ds.captions, [['a grey square a', 'another line'], ['a grey square b', 'another line']]);
  assert.equal(ds.labels, null);
  writeFileSync(join(dir, 'c.png'), img);
  assert.throws(() => openDataset(`captions:${dir}`, { height: 8, width: 8, channels: 3 }), (e: Error) =>
    e instanceof GantryError && /1 of 3 images have no captions, e\.g\. .*c\.png; write one caption a line to .*c\.txt/.test(e.message));
  writeFileSync(join(dir, 'c.txt'), '\n\n');
  assert.throws(() => openDataset(`captions:${dir}`, { height: 8, width: 8, channels: 3 }), /1 of 3 images have no captions/);
  // The captions alone (what FID of a text run needs) come without decoding an image: a corrupt one is no error there.
  writeFileSync(join(dir, 'c.txt'), 'a third caption\n');
  writeFileSync(join(dir, 'c.png'), 'not a png');
  assert.deepEqual(openCaptions(`captions:${dir}`, { height: 8, width: 8, channels: 3 }), [...ds.captions!, ['a third caption']]);
  assert.throws(() => openDataset(`captions:${dir}`, { height: 8, width: 8, channels: 3 }), /c\.png is neither a PNG nor a JPEG/);
  assert.equal(openCaptions('mnist', { height: 32, width: 32, channels: 1 }), null);
  assert.equal(openCaptions('shapes:3', { height: 16, width: 16, channels: 3 })!.length, 3);
  const empty = join(dir, 'empty');
  mkdirSync(empty);
  assert.throws(() => openDataset(`captions:${empty}`, { height: 8, width: 8, channels: 3 }), /captions: no \.png\/\.jpg images in/);
  assert.throws(() => openDataset(`captions:${join(dir, 'nope')}`, { height: 8, width: 8, channels: 3 }), /data captions:.*nope: .*nope does not exist; check the path/);
  assert.throws(() => openDataset('captions', { height: 8, width: 8, channels: 3 }), /needs a folder: captions:DIR/);
  rmSync(join(dir, 'c.png'));
});

test('captions:DIR over GANTRY_DATA_MEMORY_MB is read a batch at a time from the cache: the same batches, captions and labels', () => {
  withEnv({ GANTRY_CACHE: tempDir(), GANTRY_DATA_MEMORY_MB: undefined }, () => {
    const spec = `captions:${join(fixtures, 'captions')}`;
    const fit = { height: 16, width: 16, channels: 3 };
    const memory = openDataset(spec, fit);
    process.env.GANTRY_DATA_MEMORY_MB = '0';
    const stored = openDataset(spec, fit);
    assert.equal(stored.pixels, null, 'no image held in memory');
    assert.match(stored.note!, /^fitted the \d+ captioned images of .* into .*\/images\/[0-9a-f]{20}\.bin/);
    assert.deepEqual([stored.captions, stored.labels, stored.classNames], [memory.captions, memory.labels, memory.classNames]);
    for (let step = 0; step < 3; step++) {
      const [a, b] = [stored, memory].map((ds) => new BatchSampler(ds, 4, 7).batchAt(step));
      assert.deepEqual(a.images.dataSync(), b.images.dataSync(), `step ${step}`);
      assert.deepEqual(a.captions, b.captions);
      tf.dispose([a.images, a.labels!, b.images, b.labels!]);
    }
  });
});
