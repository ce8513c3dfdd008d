import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gantryCli, tempDir } from '../helpers.ts';


function gantry(...args: string[]) {
  const r = gantryCli(args, { timeoutMs: 900_000 });
  assert.equal(r.code, 0, r.stderr);
  return r.stdout;
}

/**
 * pix2pixHD learns label maps to images, scored as the paper scores Cityscapes: a segmenter trained on
 * the real pairs segments the images the run draws from held-out maps, and pixel accuracy and mean IoU
 * are taken against those maps. Data: shapes with colours by shape (the map determines the picture),
 * 32x32, the family's CPU defaults (ngf 16, nDown 3, nBlocks 3, ndf 16, two scales), batch 8, no VGG.
 */
test('pix2pixhd on shapes: the segmentation score of its images rises far above the untrained run\'s', () => {
  const dir = tempDir();
  const data = 'shapes:1000?colours=by-shape';
  const config = join(dir, 'config.json');
  writeFileSync(config, JSON.stringify({ model: { height: 32 }, train: { batch: 8, checkpointEvery: 100, sampleEvery: 100 } }));
  const seg = join(dir, 'segmenter');
  const segOut = gantry('train', 'segmenter', '--data', data, '--config', config, '--batch', '16', '--steps', '300', '--out', seg, '--quiet');
  const segIoU = Number(segOut.match(/testMeanIoU=([\d.]+)/)?.[1]);
  const run = join(dir, 'run');
  const score = () => JSON.parse(gantry('eval', 'segmentation', '--run', run, '--segmenter', seg, '--n', '200', '--quiet'));
  gantry('train', 'pix2pixhd', '--data', data, '--config', config, '--steps', '1', '--out', run, '--quiet');
  const before = score();
  gantry('train', '--resume', '--out', run, '--steps', '300', '--quiet');
  const after = score();
  const f = (s: { pixelAccuracy: number; meanIoU: number }) => `pixel accuracy ${s.pixelAccuracy.toFixed(3)}, mean IoU ${s.meanIoU.toFixed(3)}`;
  console.log(`segmenter held-out mean IoU ${segIoU.toFixed(3)}; real photos: ${f(after.real)}; pix2pixhd after 1 step: ${f(before.fake)}; after 300 steps: ${f(after.fake)}`);
  assert.ok(segIoU > 0.95, `the segmenter itself: mean IoU ${segIoU}`);
  assert.ok(after.real.meanIoU > 0.95);
  assert.ok(after.fake.meanIoU > 0.6 && after.fake.meanIoU > before.fake.meanIoU + 0.3, `mean IoU ${before.fake.meanIoU} -> ${after.fake.meanIoU}`);
  assert.ok(after.fake.pixelAccuracy > before.fake.pixelAccuracy + 0.15, `pixel accuracy ${before.fake.pixelAccuracy} -> ${after.fake.pixelAccuracy}`);
});
