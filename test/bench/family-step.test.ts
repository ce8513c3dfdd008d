import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setup } from '../helpers.ts';
import { benchFamilyGenerate } from '../../src/bench/family-step.ts';

await setup();
const root = join(fileURLToPath(import.meta.url), '..', '..', '..');

test('gantry bench --family NAME --generate: a class-conditional and a label-map generator, images per second from the median call', async () => {
  const cases: [string, string, Record<string, unknown>][] = [
    ['cgan', 'mnist', { imageSize: 32, ngf: 8, ndf: 8 }],
    ['pix2pixhd', `pairs:${join(root, 'test', 'fixtures', 'pairs')}`, { height: 32, width: 64, ngf: 8, nDown: 2, nBlocks: 1, ndf: 8, featNum: 0 }],
  ];
  for (const [family, data, model] of cases) {
    const r = await benchFamilyGenerate({ family, data, model, batch: 6, steps: 3, warmup: 1 });
    assert.equal(r.workload, `${family}-generate`);
    assert.equal(r.batch, 6);
    assert.ok(r.min_ms > 0 && r.min_ms <= r.median_ms && r.median_ms <= r.max_ms && r.min_ms <= r.mean_ms && r.mean_ms <= r.max_ms, JSON.stringify(r));
    assert.ok(Math.abs(r.images_per_s / ((6 / r.median_ms) * 1000) - 1) < 1e-3, JSON.stringify(r));
    assert.ok(r.params_G > 0);
    assert.equal(r.draw_chunk, 64, 'as sample and eval draw');
  }
  // --draw-chunk: 6 images as 4 and 2.
  const r = await benchFamilyGenerate({ family: 'cgan', data: 'mnist', model: cases[0][2], batch: 6, steps: 1, warmup: 0, drawChunk: 4 });
  assert.equal(r.draw_chunk, 4);
  await assert.rejects(benchFamilyGenerate({ family: 'segmenter', data: 'shapes', model: { height: 32, nf: 8, depth: 2 }, batch: 2, steps: 1, warmup: 0 }), /--generate: segmenter does not generate images/);
});
