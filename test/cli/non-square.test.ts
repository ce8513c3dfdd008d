import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gantryCli, tempDir } from '../helpers.ts';
import { writePng } from '../../src/io/png.ts';
import { readImageFile } from '../../src/io/image.ts';
import { readSafetensors } from '../../src/io/safetensors-file.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const cache = tempDir('gantry-cache-');

const gantry = (...args: string[]) => gantryCli(args, { env: { GANTRY_CACHE: cache } });

/** 2:1 photos of a horizon (sky above, ground below, a sun at a varying place), 96x48, a few sizes off. */
function writeWideImages(dir: string, n: number): void {
  mkdirSync(dir, { recursive: true });
  for (let i = 0; i < n; i++) {
    const width = 96 + (i % 3) * 8;
    const height = 48;
    const data = new Uint8Array(width * height * 3);
    const sun = (i * 17) % width;
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const o = (y * width + x) * 3;
        const sky = y < height / 2;
        const inSun = Math.hypot(x - sun, y - 12) < 6;
        data.set(inSun ? [250, 220, 40] : sky ? [60, 110, 200 - y] : [40 + (i % 5) * 20, 140, 50], o);
      }
    }
    writePng(join(dir, `view${String(i).padStart(2, '0')}.png`), { width, height, channels: 3, data });
  }
}

test('a 2:1 (32 high, 64 wide) folder: run trains, samples, resumes exactly and scores FID from the CLI', () => {
  const dir = tempDir();
  const data = join(dir, 'views');
  writeWideImages(data, 12);
  const config = join(dir, 'wide.json');
  writeFileSync(config, JSON.stringify({ model: { imageSize: 32, imageWidth: 64, ngf: 8, ndf: 8 }, train: { batch: 4, logEvery: 1, sampleEvery: 2, checkpointEvery: 2, samples: 4 } }));
  const straight = join(dir, 'straight');
  const t = gantry('train', 'dcgan', '--data', `folder:${data}`, '--config', config, '--steps', '4', '--out', straight, '--quiet');
  assert.equal(t.code, 0, t.stderr);
  assert.match(t.stdout, /step 4 lossD=.* lossG=/);
  // The sample grid of the run and of `gantry sample`: 64 wide, 32 high images (2-pixel borders).
  const grid = readImageFile(join(straight, 'samples', 'step-000004.png'));
  assert.deepEqual([grid.width, grid.height], [2 * 66 + 2, 2 * 34 + 2]);
  const out = join(dir, 'wide.png');
  const s = gantry('sample', '--run', straight, '--n', '3', '--cols', '3', '--out', out);
  assert.equal(s.code, 0, s.stderr);
  const sampled = readImageFile(out);
  assert.deepEqual([sampled.width, sampled.height], [3 * 66 + 2, 34 + 2]);
  const i = gantry('interpolate', '--run', straight, '--seeds', '1,2', '--frames', '3', '--out', join(dir, 'strip.png'));
  assert.equal(i.code, 0, i.stderr);
  assert.deepEqual([readImageFile(join(dir, 'strip.png')).width, readImageFile(join(dir, 'strip.png')).height], [3 * 66 + 2, 34 + 2]);

  // Stopped at step 2 and resumed: the same weights as the straight run.
  const split = join(dir, 'split');
  assert.equal(gantry('train', 'dcgan', '--data', `folder:${data}`, '--config', config, '--steps', '2', '--out', split, '--quiet').code, 0);
  const r = gantry('train', '--resume', '--out', split, '--steps', '4', '--quiet');
  assert.equal(r.code, 0, r.stderr);
  const a = readSafetensors(join(straight, 'checkpoint.safetensors')).tensors;
  const b = readSafetensors(join(split, 'checkpoint.safetensors')).tensors;
  assert.deepEqual(a['net/G/main.0.weight'].shape, [4, 8, 32, 100], "G's first layer draws a 4x8 base map");
  for (const k of Object.keys(a)) assert.deepEqual(a[k].data, b[k].data, `${k} differs after resume`);

  // FID of the run against its 2:1 data (pytorch-fid's network at 1/8 width, 64-d features).
  const fid = gantry('eval', 'fid', '--real', `folder:${data}`, '--fake', straight, '--n', '12', '--weights', join(root, 'test', 'golden', 'inception_w8.pth'), '--feature-dim', '64', '--quiet');
  assert.equal(fid.code, 0, fid.stderr);
  const value = JSON.parse(fid.stdout.trim().split('\n').pop()!).value;
  assert.ok(Number.isFinite(value) && value > 0, `FID ${value}`);

  // A width DCGAN cannot build is one line naming the field.
  writeFileSync(config, JSON.stringify({ model: { imageSize: 32, imageWidth: 128 } }));
  const bad = gantry('train', 'dcgan', '--data', `folder:${data}`, '--config', config, '--out', join(dir, 'bad'));
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /model\.imageWidth 128 with model\.imageSize 32; the width must be half, equal to or twice the height/);
});
