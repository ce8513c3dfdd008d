import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PNG } from 'pngjs';
import { gantryCli, tempDir } from '../helpers.ts';
import { readSafetensors } from '../../src/io/safetensors-file.ts';
import { birdsFolder } from '../fixtures/text-layouts.ts';

const here = dirname(fileURLToPath(import.meta.url));
const birds = join(here, '..', 'fixtures', 'captions');

const gantry = (...args: string[]) => gantryCli(args, { env: { GANTRY_CACHE: join(tempDir(), 'cache') } });

function pngSize(path: string): [number, number] {
  const png = PNG.sync.read(readFileSync(path));
  return [png.width, png.height];
}

function weights(run: string): Record<string, Float32Array | Int32Array> {
  return Object.fromEntries(Object.entries(readSafetensors(join(run, 'checkpoint.safetensors')).tensors).map(([k, v]) => [k, v.data]));
}

test('gan-cls on CUB-style captions from the CLI, two captions an image averaged: train across the text/GAN switch, exact resume, --text, --texts, --style-from, FID', () => {
  const dir = tempDir();
  const config = join(dir, 'c.json');
  writeFileSync(config, JSON.stringify({
    model: { ngf: 8, ndf: 8, nz: 8, projectionDim: 8, embedDim: 16, wordDim: 8, textHidden: 16, textSteps: 2, captionsPerImage: 2 },
    train: { samples: 6, checkpointEvery: 2, logEvery: 1 },
  }));
  const straight = join(dir, 'straight');
  const split = join(dir, 'split');
  const t = gantry('train', 'gan-cls', '--data', `captions:${birds}`, '--config', config, '--steps', '5', '--batch', '4', '--out', straight, '--quiet');
  assert.equal(t.code, 0, t.stderr);
  assert.match(t.stdout, /step 5 lossD=.* lossG=.* lossStyle=/);
  const metrics = readFileSync(join(straight, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.ok('lossText' in metrics[0] && 'textTop1' in metrics[0] && !('lossD' in metrics[0]), 'steps 1-2 train the text encoder');
  assert.ok('lossD' in metrics[4] && !('lossText' in metrics[4]), 'later steps train the GAN');
  assert.equal(gantry('train', 'gan-cls', '--data', `captions:${birds}`, '--config', config, '--steps', '3', '--batch', '4', '--out', split, '--quiet').code, 0);
  const more = gantry('train', '--resume', '--out', split, '--steps', '5', '--quiet');
  assert.equal(more.code, 0, more.stderr);
  const a = weights(straight);
  const b = weights(split);
  assert.deepEqual(Object.keys(a).sort(), Object.keys(b).sort());
  assert.ok(Object.keys(a).some((k) => k.startsWith('net/T/')) && Object.keys(a).some((k) => k.startsWith('net/S/')), Object.keys(a).join(' '));
  for (const k of Object.keys(a)) assert.deepEqual(a[k], b[k], `tensor ${k} differs after resume`);

  const saved = JSON.parse(readFileSync(join(straight, 'config.json'), 'utf8'));
  assert.ok(saved.model.vocabulary.includes('cardinal') === false && saved.model.vocabulary.includes('beak'), 'vocabulary from the captions');
  assert.equal(saved.model.sampleCaptions.length, 6);
  // Two captions: two columns; the same seeds with one caption twice repeat the first column.
  const s = gantry('sample', '--run', straight, '--n', '4', '--text', 'a small red bird', '--text', 'a blue bird with black eyes', '--out', join(dir, 's.png'));
  assert.equal(s.code, 0, s.stderr);
  assert.deepEqual(pngSize(join(dir, 's.png')), [2 * 34 + 2, 2 * 34 + 2]);
  const warned = gantry('sample', '--run', straight, '--n', '2', '--text', 'a purple bird', '--out', join(dir, 'w.png'));
  assert.equal(warned.code, 0, warned.stderr);
  assert.match(warned.stderr, /"a purple bird": the run's captions never had "purple"/);
  const i = gantry('interpolate', '--run', straight, '--texts', 'a small red bird|a blue bird|this bird is blue', '--frames', '4', '--seed', '2', '--out', join(dir, 'i.png'));
  assert.equal(i.code, 0, i.stderr);
  assert.deepEqual(pngSize(join(dir, 'i.png')), [4 * 34 + 2, 2 * 34 + 2]);
  const seeds = gantry('interpolate', '--run', straight, '--seeds', '1,2', '--text', 'a red bird', '--frames', '3', '--out', join(dir, 'j.png'));
  assert.equal(seeds.code, 0, seeds.stderr);
  const ar = gantry('arith', '--run', straight, '--expr', 'seed:1 - seed:2 + seed:3', '--text', 'a blue bird', '--out', join(dir, 'a.png'));
  assert.equal(ar.code, 0, ar.stderr);
  // Style transfer: each image's row holds the image, then one column per caption.
  const style = gantry('sample', '--run', straight, '--style-from', `${join(birds, 'images', '001.Cardinal', 'cardinal_0.jpg')},${join(birds, 'images', '002.Blue_Jay', 'jay_2.jpg')}`,
    '--text', 'a red bird', '--text', 'a blue bird', '--text', 'a bird', '--out', join(dir, 'style.png'));
  assert.equal(style.code, 0, style.stderr);
  assert.deepEqual(pngSize(join(dir, 'style.png')), [4 * 34 + 2, 2 * 34 + 2]);
  // FID of a text run draws its images with the training captions, the data having no split (pytorch-fid's network at 1/8 width).
  const weightsFile = join(here, '..', 'golden', 'inception_w8.pth');
  const fid = gantry('eval', 'fid', '--real', `captions:${birds}`, '--fake', straight, '--n', '6', '--weights', weightsFile, '--quiet');
  assert.equal(fid.code, 0, fid.stderr);
  assert.ok(JSON.parse(fid.stdout.trim().split('\n').pop()!).value > 0, fid.stdout);

  const mistakes: [string[], RegExp][] = [
    [['sample', '--run', straight, '--class', '1'], /--class: this gan-cls run is conditioned on text; use --text/],
    [['sample', '--run', straight, '--text', '  '], /--text is empty; give a caption/],
    [['interpolate', '--run', straight, '--texts', 'only one'], /--texts needs at least two captions separated by \|/],
    [['sample', '--run', straight, '--style-from', join(dir, 'nope.png')], /nope\.png/],
  ];
  for (const [args, pattern] of mistakes) {
    const r = gantry(...args);
    assert.equal(r.code, 1, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, pattern);
    assert.ok(!/\n\s+at /.test(r.stderr), 'no stack trace');
  }
  // Data without captions: one line naming the fix, no run folder left behind.
  const noText = gantry('train', 'gan-cls', '--data', 'mnist', '--steps', '1', '--out', join(dir, 'x'));
  assert.match(noText.stderr, /gan-cls: the data has no captions; use captions:DIR/);
  assert.ok(!existsSync(join(dir, 'x')));
  // --text on a run that is not conditioned on text.
  const dcConfig = join(dir, 'd.json');
  writeFileSync(dcConfig, JSON.stringify({ model: { ngf: 8, ndf: 8 } }));
  const dc = join(dir, 'dc');
  assert.equal(gantry('train', 'dcgan', '--config', dcConfig, '--steps', '1', '--batch', '4', '--out', dc, '--quiet').code, 0);
  assert.match(gantry('sample', '--run', dc, '--text', 'a red bird').stderr, /--text: this dcgan run is not conditioned on text; train a gan-cls or dfgan run/);
});

test('DF-GAN\'s own birds/ folder from the CLI: the train split, birds cropped to their boxes, said once; FID against the test split', () => {
  const dir = tempDir();
  const data = birdsFolder();
  const config = join(dir, 'c.json');
  writeFileSync(config, JSON.stringify({ model: { ngf: 8, ndf: 8, nz: 8, embedDim: 16, wordDim: 8, textHidden: 16, textSteps: 1 } }));
  const run = join(dir, 'run');
  const t = gantry('train', 'dfgan', '--data', `captions:${data}`, '--config', config, '--steps', '2', '--batch', '2', '--out', run);
  assert.equal(t.code, 0, t.stderr);
  assert.match(t.stderr, /data: the train split: 4 of 6 images \(train\/filenames\.pickle; captions:.*\?split=test is the test split\); each bird cropped to 1\.5 times its box/);
  assert.equal(JSON.parse(readFileSync(join(run, 'config.json'), 'utf8')).model.sampleCaptions.length, 4, 'sample captions of the train split');
  const weightsFile = join(here, '..', 'golden', 'inception_w8.pth');
  const fid = gantry('eval', 'fid', '--real', `captions:${data}?split=test`, '--fake', run, '--n', '4', '--weights', weightsFile, '--quiet');
  assert.equal(fid.code, 0, fid.stderr);
  assert.ok(JSON.parse(fid.stdout.trim().split('\n').pop()!).value > 0, fid.stdout);
});

test('dfgan from the CLI on shapes: train across the text/GAN switch, exact resume, --text, --texts', () => {
  const dir = tempDir();
  const config = join(dir, 'c.json');
  writeFileSync(config, JSON.stringify({
    model: { ngf: 2, ndf: 2, nz: 8, embedDim: 16, wordDim: 8, textHidden: 16, textSteps: 2 },
    train: { samples: 8, checkpointEvery: 2, logEvery: 1 },
  }));
  const straight = join(dir, 'straight');
  const split = join(dir, 'split');
  const t = gantry('train', 'dfgan', '--data', 'shapes:40', '--config', config, '--steps', '4', '--batch', '4', '--out', straight, '--quiet');
  assert.equal(t.code, 0, t.stderr);
  assert.match(t.stdout, /step 4 lossD=.* lossG=.* maGp=/);
  assert.equal(gantry('train', 'dfgan', '--data', 'shapes:40', '--config', config, '--steps', '3', '--batch', '4', '--out', split, '--quiet').code, 0);
  const more = gantry('train', '--resume', '--out', split, '--steps', '4', '--quiet');
  assert.equal(more.code, 0, more.stderr);
  const a = weights(straight);
  const b = weights(split);
  for (const k of Object.keys(a)) assert.deepEqual(a[k], b[k], `tensor ${k} differs after resume`);
  assert.deepEqual(pngSize(join(straight, 'samples', 'step-000004.png')), [8 * 34 + 2, 34 + 2], 'one column per sample caption');
  const s = gantry('sample', '--run', straight, '--n', '6', '--text', 'a large red circle on a blue background', '--text', 'a small white square on a black background', '--text', 'a small green diamond on a yellow background', '--out', join(dir, 's.png'));
  assert.equal(s.code, 0, s.stderr);
  assert.deepEqual(pngSize(join(dir, 's.png')), [3 * 34 + 2, 2 * 34 + 2]);
  const i = gantry('interpolate', '--run', straight, '--texts', 'a red circle|a blue square', '--frames', '3', '--out', join(dir, 'i.png'));
  assert.equal(i.code, 0, i.stderr);
  assert.match(gantry('sample', '--run', straight, '--style-from', join(dir, 's.png')).stderr, /a dfgan run has no image encoder; gan-cls \(its style encoder\), vae and vae-gan runs have one/);
});
