import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setup } from '../helpers.ts';
import { benchProject } from '../../src/bench/project.ts';

await setup();
const root = join(fileURLToPath(import.meta.url), '..', '..', '..');

test('gantry bench --family NAME --project: the time of one step on every image\'s starts, and a whole projection\'s', async () => {
  const r = await benchProject({ family: 'cgan', data: 'mnist', model: { imageSize: 32, ngf: 8, ndf: 8 }, images: 3, starts: 2, steps: 4, warmup: 1 });
  assert.equal(r.workload, 'cgan-project');
  assert.equal(r.batch, 6, 'the vectors a step optimises: images x starts');
  assert.equal(r.images, 3);
  assert.equal(r.starts, 2);
  assert.ok(r.min_ms > 0 && r.min_ms <= r.median_ms && r.median_ms <= r.max_ms, JSON.stringify(r));
  assert.ok(r.params_G > 0 && r.params_D === 0, JSON.stringify(r));
  assert.equal(r.replayed, 0, 'no replays on the CPU');
  // 300 steps and what choosing the starts costs: more than the steps alone.
  assert.ok(r.projection_ms > 300 * r.median_ms, JSON.stringify(r));
  await assert.rejects(benchProject({ family: 'cgan', data: 'mnist', model: { imageSize: 32, ngf: 8, ndf: 8 }, images: 200, starts: 2, steps: 1 }), /--images: 200 images of 32x32 with 2 starts each are more than one optimisation holds; give at most 128/);
  await assert.rejects(benchProject({ family: 'pix2pixhd', data: `pairs:${join(root, 'test', 'fixtures', 'pairs')}`, model: { height: 32, width: 64, ngf: 8, nDown: 2, nBlocks: 1, ndf: 8, featNum: 0 }, images: 1, steps: 1 }), /pix2pixhd run has no latent space to project into/);
});
