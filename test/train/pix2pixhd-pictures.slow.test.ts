import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gantryCli, tempDir } from '../helpers.ts';
import { readImageFile } from '../../src/io/image.ts';
import { convertChannels } from '../../src/io/pixels.ts';
import { writePicturePairs } from '../fixtures/picture-pairs.ts';

function gantry(...args: string[]) {
  const r = gantryCli(args, { timeoutMs: 900_000 });
  assert.equal(r.code, 0, r.stderr);
  return r.stdout;
}

/**
 * Mean absolute difference in 8-bit levels between each translated picture and its real one, over the
 * real pictures' coloured pixels (the shapes; a grey background is a copy of the input).
 */
function colourError(outDir: string, realDir: string): number {
  let sum = 0;
  let count = 0;
  for (const name of readdirSync(realDir)) {
    const [a, b] = [outDir, realDir].map((d) => convertChannels(readImageFile(join(d, name)), 3).data);
    for (let p = 0; p < b.length; p += 3) {
      if (b[p] === b[p + 1] && b[p + 1] === b[p + 2]) continue;
      for (let c = 0; c < 3; c++) sum += Math.abs(a[p + c] - b[p + c]);
      count += 3;
    }
  }
  return sum / count;
}

/**
 * pix2pixHD with pictures as inputs (the official --label_nc 0) learns to colour: train_A/ holds shapes in
 * grey, train_B/ the same shapes in their colours (colours by shape), 32x32, the family's CPU defaults, batch 8,
 * no VGG. Held-out grey pictures (test_A/) are translated and compared with their colours (test_B/).
 */
test('pix2pixhd on pictures as inputs learns to colour held-out grey shapes: their error falls far below the untrained run\'s', () => {
  const dir = tempDir();
  const data = writePicturePairs({ train: 400, test: 64, size: 32, dir: join(dir, 'data') });
  const config = join(dir, 'config.json');
  writeFileSync(config, JSON.stringify({ model: { height: 32 }, train: { batch: 8, checkpointEvery: 200, sampleEvery: 200 } }));
  const run = join(dir, 'run');
  const error = (name: string) => {
    gantry('translate', '--run', run, '--inputs', join(data, 'test_A'), '--out', join(dir, name), '--quiet');
    return colourError(join(dir, name), join(data, 'test_B'));
  };
  // The grey input itself, as a guess: what a run that only copied its input would score.
  const copied = colourError(join(data, 'test_A'), join(data, 'test_B'));
  gantry('train', 'pix2pixhd', '--data', `pairs:${data}`, '--config', config, '--steps', '1', '--out', run, '--quiet');
  const before = error('before');
  gantry('train', '--resume', '--out', run, '--steps', '1500', '--quiet');
  const after = error('after');
  console.log(`mean absolute error in levels of held-out pictures' coloured pixels: the grey input ${copied.toFixed(1)}; after 1 step ${before.toFixed(1)}; after 1500 steps ${after.toFixed(1)}`);
  assert.ok(after < before * 0.6, `error ${before} -> ${after}`);
  assert.ok(after < copied * 0.75, `after 1500 steps ${after}, the grey input ${copied}`);
});
