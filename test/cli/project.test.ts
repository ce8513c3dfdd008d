import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { GANTRY_BIN, gantryCli, tempDir } from '../helpers.ts';
import { readImageFile } from '../../src/io/image.ts';
import { LPIPS_W16, VGG16_W16 } from '../golden/ppl-golden.ts';

const gantry = (...args: string[]) => gantryCli(args);

/** Tile (row, col) of a grid of 32x32 grey tiles with 2-pixel gaps, as a PNG reads back (RGBA). */
function tile(path: string, row: number, col: number): number[] {
  const img = readImageFile(path);
  const out: number[] = [];
  for (let y = 0; y < 32; y++) {
    for (let x = 0; x < 32; x++) out.push(img.data[((2 + row * 34 + y) * img.width + 2 + col * 34 + x) * 4]);
  }
  return out;
}

test('project: your images\' vectors, drawn again by sample, interpolate and arith', async () => {
  const dir = tempDir();
  const run = join(dir, 'R');
  assert.equal(gantry('train', 'dcgan', '--steps', '40', '--batch', '16', '--out', run, '--seed', '1').code, 0);
  // Two of the run's own images as the pictures to project (PNGs without a grid's border).
  const mine = join(dir, 'mine');
  assert.equal(gantry('sample', '--run', run, '--seed', '500', '--n', '2', '--out', mine).code, 0);
  const a = join(mine, 'seed-000500.png');
  const b = join(mine, 'seed-000501.png');
  const out = join(dir, 'P');
  const p = gantry('project', '--run', run, '--images', `${a},${b}`, '--out', out, '--steps', '60');
  assert.equal(p.code, 0, p.stderr);
  const lines = p.stdout.trim().split('\n');
  assert.equal(lines.at(-1), join(out, 'projection.png'));
  const found = lines.slice(0, 2).map((l) => JSON.parse(l) as { image: string; latent: string; measure: string; start: number; distance: number });
  assert.deepEqual(found.map((f) => [f.image, f.latent]), [[a, join(out, 'seed-000500.json')], [b, join(out, 'seed-000501.json')]]);
  for (const f of found) assert.ok(f.distance < f.start / 4, `${f.image}: ${f.start} -> ${f.distance}`);
  const vector = JSON.parse(readFileSync(found[0].latent, 'utf8')) as number[];
  assert.equal(vector.length, 100);
  // Your images above what their vectors draw; sample --latent draws the same image.
  const grid = join(out, 'projection.png');
  assert.deepEqual(tile(grid, 0, 0), Array.from(readImageFile(a).data.filter((_, i) => i % 4 === 0)));
  assert.equal(gantry('sample', '--run', run, '--latent', found[1].latent, '--out', join(dir, 'b.png')).code, 0);
  assert.deepEqual(tile(join(dir, 'b.png'), 0, 0), tile(grid, 1, 1));
  // A path between the two vectors starts and ends at their images.
  const i = gantry('interpolate', '--run', run, '--latents', `${found[0].latent},${found[1].latent}`, '--frames', '3', '--out', join(dir, 'i.png'));
  assert.equal(i.code, 0, i.stderr);
  assert.deepEqual(tile(join(dir, 'i.png'), 0, 2), tile(grid, 1, 1));
  // latent:FILE terms in arith: the file's vector is the term's, the result the sum.
  const r = gantry('arith', '--run', run, '--expr', `latent:${found[0].latent} - seed:1 + seed:1`, '--out', join(dir, 'a.png'));
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(tile(join(dir, 'a.png'), 0, 0), tile(grid, 1, 0));
  assert.match(gantry('arith', '--run', run, '--expr', `latent:${join(dir, 'none.json')}`).stderr, /latent:.*none\.json: cannot read/);
  assert.match(gantry('interpolate', '--run', run, '--latents', found[0].latent).stderr, /--latents needs at least two files/);
  assert.match(gantry('interpolate', '--run', run, '--latents', `${found[0].latent},${found[1].latent}`, '--seeds', '1,2').stderr, /--seeds/);
  writeFileSync(join(dir, 'short.json'), '[1, 2]');
  assert.match(gantry('interpolate', '--run', run, '--latents', `${found[0].latent},${join(dir, 'short.json')}`).stderr, /short\.json has 2 numbers; this run's latent vectors have 100/);

  // Measured by LPIPS on VGG-16 (seeded small weights here).
  const l = gantry('project', '--run', run, '--images', a, '--out', join(dir, 'L'), '--steps', '10', '--lpips', LPIPS_W16, '--vgg16', VGG16_W16);
  assert.equal(l.code, 0, l.stderr);
  const byLpips = JSON.parse(l.stdout.split('\n')[0]) as { measure: string; start: number; distance: number };
  assert.equal(byLpips.measure, 'lpips');
  assert.ok(byLpips.distance < byLpips.start);
  assert.equal(found[0].measure, 'mse');

  // Bad input: one line each, and no --out folder made.
  const none = join(dir, 'none');
  assert.match(gantry('project', '--run', run, '--images', a, '--lpips', LPIPS_W16, '--out', none).stderr, /projection by LPIPS, which needs torchvision's VGG-16 weights .*\(--vgg16\)/);
  assert.match(gantry('project', '--run', run, '--out', none).stderr, /--images is required/);
  assert.match(gantry('project', '--run', run, '--images', join(dir, 'missing.png'), '--out', none).stderr, /cannot read image .*missing\.png/);
  assert.match(gantry('project', '--run', run, '--images', `${a},${join(dir, 'x', 'seed-000500.png')}`, '--out', none).stderr, /two images are named seed-000500/);
  assert.match(gantry('project', '--run', run, '--images', a, '--starts', '9', '--pool', '8', '--out', none).stderr, /projection: 9 starts are more than a pool of 8 seeds gives/);
  assert.match(gantry('project', '--run', run, '--images', a, '--class', '3', '--out', none).stderr, /--class: this dcgan run is not class-conditional/);
  writeFileSync(join(dir, 'afile'), 'x');
  assert.match(gantry('project', '--run', run, '--images', a, '--out', join(dir, 'afile')).stderr, /--out .*afile is a file; give a folder/);
  assert.ok(!existsSync(none));

  // Ctrl-C once the steps are under way: what was found so far is written, and the status says it stopped.
  const stopped = join(dir, 'S');
  const child = spawn(process.execPath, [GANTRY_BIN, 'project', '--run', run, '--images', `${a},${b}`, '--out', stopped, '--steps', '1000000'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise((resolve) => child.on('exit', resolve));
  const started = Date.now();
  // The first step's progress line (then Ctrl-C is heard between steps, every 10).
  while (!/project \d+\/2000000/.test(stderr)) {
    if (Date.now() - started > 120_000) throw new Error(`projection did not start: ${stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill('SIGINT');
  assert.equal(await exited, 130, `stopped by Ctrl-C: exits 130 (${stderr})`);
  assert.match(stderr, /Ctrl-C: no more steps; writing the closest vectors found so far/);
  const kept = stdout.trim().split('\n').slice(0, 2).map((l) => JSON.parse(l) as { latent: string; start: number; distance: number });
  for (const k of kept) {
    assert.ok(k.distance < k.start, `a few steps were taken: ${k.start} -> ${k.distance}`);
    assert.equal((JSON.parse(readFileSync(k.latent, 'utf8')) as number[]).length, 100);
  }
  assert.ok(existsSync(join(stopped, 'projection.png')));
});
