import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { PNG } from 'pngjs';
import { tempDir } from '../helpers.ts';
import { Rng } from '../../src/engine/rng.ts';
import { idMapPng, readIdMapPng } from '../../src/web/id-map-png.ts';
import { readIdMap } from '../../src/io/id-map.ts';
import { palettePng } from '../fixtures/palette-png.ts';

const dir = tempDir();

/** The ids the CLI reads from these bytes (io/id-map.ts, on pngjs). */
function cliIds(bytes: Uint8Array, name: string): { width: number; height: number; ids: number[]; bitDepth: number } {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  const read = readIdMap(path, name);
  return { width: read.width, height: read.height, ids: Array.from(read.ids), bitDepth: read.bitDepth };
}

test('id maps written in the page: the CLI reads back every id, 8-bit below 256, else 16-bit; ids no PNG holds refused', async () => {
  const cases: [string, number, number, (p: number) => number, number][] = [
    ['labels', 7, 5, (p) => (p * 37) % 35, 8],
    ['instances', 6, 4, (p) => [7, 26000, 26001, 33999, 0, 65535][p % 6], 16],
    ['one pixel', 1, 1, () => 255, 8],
  ];
  for (const [name, width, height, id, depth] of cases) {
    const ids = Int32Array.from({ length: width * height }, (_, p) => id(p));
    const bytes = await idMapPng(ids, width, height);
    assert.deepEqual(cliIds(bytes, `${name}.png`), { width, height, ids: Array.from(ids), bitDepth: depth }, name);
    assert.deepEqual(await readIdMapPng(bytes, name), { width, height, ids }, `${name}: read back in the page`);
  }
  await assert.rejects(idMapPng([1, 65536], 2, 1), /id 65536 at pixel 1,0 is not a whole number from 0 to 65535/);
  await assert.rejects(idMapPng([1, -1], 2, 1), /id -1 at pixel 1,0/);
  await assert.rejects(idMapPng([1, 2, 3], 2, 2), /an id map of 2x2 has 4 ids, not 3/);
});

test('id maps read in the page give the CLI\'s ids: grey 8 and 16 bit under each of PNG\'s five row filters, palette, grey RGB(A); bad files one clear error', async () => {
  const rng = new Rng(5);
  const [width, height] = [13, 9];
  // Ids in runs, as real maps have, and random ones, so that every filter's every predictor is taken.
  const ids = Array.from({ length: width * height }, (_, p) => (rng.uniform() < 0.5 ? ((p % width) >> 2) * 1000 + ((p / width) >> 1) : Math.floor(rng.uniform() * 65536)));
  const wrote: [string, Uint8Array][] = [];
  for (const filterType of [0, 1, 2, 3, 4]) {
    for (const bitDepth of [8, 16] as const) {
      const data = bitDepth === 16 ? Uint16Array.from(ids) : Buffer.from(ids.map((id) => id % 256));
      wrote.push([`grey${bitDepth} filter ${filterType}`, PNG.sync.write({ width, height, data } as unknown as PNG, { colorType: 0, inputColorType: 0, bitDepth, inputHasAlpha: false, filterType })]);
    }
    const grey = ids.map((id) => id % 256);
    wrote.push([`rgba filter ${filterType}`, PNG.sync.write({ width, height, data: Buffer.from(grey.flatMap((v) => [v, v, v, 255])) } as unknown as PNG, { colorType: 6, filterType })]);
    wrote.push([`rgb filter ${filterType}`, PNG.sync.write({ width, height, data: Buffer.from(grey.flatMap((v) => [v, v, v, 255])) } as unknown as PNG, { colorType: 2, filterType })]);
  }
  // Palette entries may share a colour (Cityscapes' ids 0..4 are all black): ids are the indices.
  wrote.push(['palette', palettePng(width, height, ids.map((id) => id % 40), Array.from({ length: 40 }, (_, i) => [i < 5 ? 0 : i, 0, 0]))]);
  for (const [name, bytes] of wrote) {
    const cli = cliIds(bytes, `${name}.png`);
    assert.deepEqual(await readIdMapPng(bytes, name), { width: cli.width, height: cli.height, ids: Int32Array.from(cli.ids) }, name);
  }

  const grey16 = wrote[1][1];
  await assert.rejects(readIdMapPng(new TextEncoder().encode('not a png at all'), 'x.png'), /^GantryError: x\.png is not a PNG; label and instance maps are grey/);
  await assert.rejects(readIdMapPng(grey16.subarray(0, grey16.length - 20), 'cut.png'), /cut\.png is truncated/);
  const flipped = Uint8Array.from(grey16);
  flipped[60] ^= 0xff;
  await assert.rejects(readIdMapPng(flipped, 'flipped.png'), /flipped\.png is corrupt \(its IDAT chunk fails its CRC check\)/);
  const colour = PNG.sync.write({ width: 2, height: 1, data: Buffer.from([1, 1, 1, 255, 9, 0, 0, 255]) } as unknown as PNG, { colorType: 2 });
  await assert.rejects(readIdMapPng(colour, 'colour.png'), /colour\.png is a colour PNG \(pixel 1,0 is 9,0,0\)/);
  const interlaced = Uint8Array.from(grey16);
  interlaced[28] = 1; // IHDR's interlace method
  new DataView(interlaced.buffer).setUint32(29, crc32(interlaced.subarray(12, 29)));
  await assert.rejects(readIdMapPng(interlaced, 'adam7.png'), /adam7\.png is an interlaced PNG/);
});
