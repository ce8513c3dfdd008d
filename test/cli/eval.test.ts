import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GANTRY_BIN, gantryCli, tempDir } from '../helpers.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const golden = join(root, 'test', 'golden');
const fixtures = join(root, 'test', 'fixtures');
const cache = tempDir('gantry-cache-');

function gantry(...args: string[]) {
  const r = gantryCli(args, { env: { GANTRY_CACHE: cache } });
  return { ...r, json: r.code === 0 ? JSON.parse(r.stdout.trim().split('\n').pop()!) : null };
}

test('eval fid on two pytorch-fid statistics files prints scipy\'s value (1e-6 relative)', () => {
  const want = JSON.parse(readFileSync(join(golden, 'metrics_golden.json'), 'utf8')).fid[0].fid;
  const r = gantry('eval', 'fid', '--real', join(golden, 'stats_a.npz'), '--fake', join(golden, 'stats_b.npz'));
  assert.equal(r.code, 0, r.stderr);
  assert.ok(Math.abs(r.json.value - want) / want < 1e-6, `${r.json.value} vs ${want}`);
});

test('eval with Inception weights from a .pth: stats, FID (cached), KID, IS, and the small-N warning', () => {
  const weights = join(golden, 'inception_w8.pth'); // pytorch-fid's network at 1/8 width
  const dir = tempDir();
  const s = gantry('eval', 'stats', `mnist-idx:${join(fixtures, 'mnist-idx')}`, '--out', join(dir, 'm.npz'), '--weights', weights, '--quiet');
  assert.equal(s.code, 0, s.stderr);
  assert.deepEqual([s.json.n, s.json.dim], [32, 256]);
  // A folder's ?classes= holds in scoring too (pytorch-fid's path: each file at its own size).
  const cats = gantry('eval', 'stats', `folder:${join(fixtures, 'folder')}?classes=cats`, '--out', join(dir, 'cats.npz'), '--weights', weights, '--quiet');
  assert.equal(cats.code, 0, cats.stderr);
  assert.equal(cats.json.n, 4);
  const same = gantry('eval', 'fid', '--real', join(dir, 'm.npz'), '--fake', `mnist-idx:${join(fixtures, 'mnist-idx')}`, '--weights', weights, '--quiet');
  assert.equal(same.code, 0, same.stderr);
  assert.ok(Math.abs(same.json.value) < 1e-3, `FID of a set with itself ${same.json.value}`);
  assert.match(same.stderr, /warning: 32 real images but 256-d features.*two halves of the real images \(16 each\) already score FID \d.*; --feature-dim 64\/192\/768 or more images \(--n\) give a less biased score\n/);
  const args = ['--real', `cifar10:${join(fixtures, 'cifar10')}`, '--fake', `folder:${join(fixtures, 'folder')}`, '--weights', weights, '--quiet'];
  const fid = gantry('eval', 'fid', ...args);
  assert.equal(fid.code, 0, fid.stderr);
  assert.ok(fid.json.value > 0);
  const again = gantry('eval', 'fid', ...args);
  assert.match(again.stderr, /using cached statistics/);
  assert.ok(Math.abs(again.json.value - fid.json.value) < 1e-9 * Math.max(1, fid.json.value));
  const kid = gantry('eval', 'kid', ...args, '--subsets', '5');
  assert.equal(kid.code, 0, kid.stderr);
  assert.equal(kid.json.subset_size, 8);
  assert.ok(Number.isFinite(kid.json.mean) && Number.isFinite(kid.json.std));
  const is = gantry('eval', 'is', '--fake', `cifar10:${join(fixtures, 'cifar10')}`, '--weights', weights, '--splits', '2', '--quiet');
  assert.equal(is.code, 0, is.stderr);
  assert.ok(is.json.mean >= 1, `IS ${is.json.mean}`);
});

test('eval without weights or features says which file to get; bad inputs are named', () => {
  const r = gantry('eval', 'fid', '--real', 'mnist', '--fake', 'mnist', '--n', '10');
  assert.equal(r.code, 1);
  assert.match(r.stderr, /pt_inception-2015-12-05-6726825d\.pth.*--weights or set GANTRY_INCEPTION_WEIGHTS/);
  const bad = gantry('eval', 'fid', '--real', join(golden, 'metrics_golden.json.npz'), '--fake', join(golden, 'stats_b.npz'));
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /cannot read .*metrics_golden\.json\.npz/);
  // A stats file that could not be written is refused before any image is read.
  const out = tempDir();
  writeFileSync(join(out, 'a-file'), '');
  for (const [path, message] of [
    [join(out, 'missing', 'm.npz'), /--out .*m\.npz: the folder .*missing does not exist; create it first/],
    [join(out, 'm.json'), /--out .*m\.json: gantry writes statistics as pytorch-fid's \.npz files; name the file \.npz/],
    [out, /--out .* is a folder; give a file name ending in \.npz/],
  ] as const) {
    const r = gantry('eval', 'stats', 'mnist', '--out', path, '--weights', join(golden, 'no-such-inception.pth'));
    assert.equal(r.code, 1);
    assert.match(r.stderr, message);
  }
  // A flag of another metric is refused, not ignored.
  for (const [args, message] of [
    [['fid', '--real', 'mnist', '--fake', 'mnist', '--subsets', '5'], /^gantry eval: --subsets does not go with eval fid; see `gantry eval --help`\n$/],
    [['is', '--real', 'mnist', '--fake', 'mnist'], /^gantry eval: --real does not go with eval is; /],
    [['kid', '--real', 'mnist', '--fake', 'mnist', '--splits', '2', '--out', 'k.npz'], /^gantry eval: --splits, --out do not go with eval kid; /],
    [['segmentation', '--run', out, '--segmenter', out, '--weights', 'w.pth'], /^gantry eval: --weights does not go with eval segmentation; /],
    [['fid', '--real', 'mnist', '--fake', 'mnist', '--neighborhood', '2'], /^gantry eval: --neighborhood does not go with eval fid; /],
    [['prc', '--real', 'mnist', '--fake', 'mnist', '--subsets', '2'], /^gantry eval: --subsets does not go with eval prc; /],
    [['prc', '--real', 'mnist', '--fake', 'mnist', '--neighborhood', '0'], /^gantry eval: --neighborhood must be a whole number >= 1/],
    [['prc', '--real', join(golden, 'stats_a.npz'), '--fake', 'mnist'], /^gantry eval: precision and recall: .*stats_a\.npz holds only the statistics of images, not each image's features; give a data SPEC or a run folder\n$/],
  ] as const) assert.match(gantry('eval', ...args).stderr, message, args.join(' '));
  const m = gantry('eval', 'fidd');
  assert.match(m.stderr, /name a metric: fid, kid, prc, is, ppl, stats or segmentation \(got "fidd"; did you mean fid\?\)/);
  const c = gantry('compare', '--data', 'shapes:50', '--out', join(tempDir(), 'study'), '--config', join(golden, 'no-such.json'));
  assert.equal(c.code, 1);
  assert.match(c.stderr, /^gantry compare: cannot read config .*no-such\.json/);
  // --out a file: one line before anything trains.
  const weights = join(golden, 'inception_w8.pth');
  assert.match(gantry('compare', '--data', 'shapes:50', '--out', weights, '--weights', weights).stderr, /^gantry compare: --out .*inception_w8\.pth is a file; give a folder to write the runs and their table into\n$/);
});

test('gantry compare stopped by Ctrl-C exits 130 without a table; the same command finishes it, the stopped family resumed; other settings are refused', async () => {
  const dir = tempDir();
  const config = join(dir, 'c.json');
  writeFileSync(config, JSON.stringify({ model: { width: 8, ndf: 8, latent: 8 }, train: { samples: 4, checkpointEvery: 20, logEvery: 20 } }));
  const study = join(dir, 'study');
  const args = ['compare', '--data', `cifar10:${join(fixtures, 'cifar10')}`, '--families', 'vae,vae-gan', '--weights', join(golden, 'inception_w8.pth'),
    '--config', config, '--steps', '600', '--batch', '4', '--n', '6', '--out', study, '--quiet'];
  const child = spawn(process.execPath, [GANTRY_BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, GANTRY_CACHE: cache } });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const started = Date.now();
  // A logged step: the run is in its loop, where Ctrl-C is its own.
  while (!(statSync(join(study, 'vae', 'metrics.jsonl'), { throwIfNoEntry: false })?.size)) {
    if (Date.now() - started > 120_000) throw new Error(`training did not start: ${stderr}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  child.kill('SIGINT');
  assert.equal(await new Promise((r) => child.on('exit', r)), 130, stderr);
  assert.match(stderr, /stopped during vae; run the same `gantry compare` again to continue/);
  assert.ok(!existsSync(join(study, 'table.md')) && !existsSync(join(study, 'vae-gan')), 'nothing scored, the next family not started');
  const stoppedAt = JSON.parse(readFileSync(join(study, 'vae', 'metrics.jsonl'), 'utf8').trim().split('\n').at(-1)!).step;
  assert.ok(stoppedAt < 600, `stopped at step ${stoppedAt}`);
  // Other settings into the same folder: refused before anything trains.
  const other = gantryCli(args.map((a) => (a === '600' ? '500' : a)), { env: { GANTRY_CACHE: cache } });
  assert.equal(other.code, 1);
  assert.match(other.stderr, /^gantry compare: --out .*study holds a comparison of other settings \(its compare\.json\); give another --out, or the flags it was started with to finish it\n$/);
  const r = gantryCli(args, { env: { GANTRY_CACHE: cache } });
  assert.equal(r.code, 0, r.stderr);
  for (const family of ['vae', 'vae-gan']) assert.match(r.stdout, new RegExp(`\\| ${family} \\| \\d+\\.\\d\\d \\| 600 \\| \\d+ s \\|`));
  // vae went on from its checkpoint: its metrics hold each logged step once, in order.
  const steps = readFileSync(join(study, 'vae', 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).step);
  assert.deepEqual(steps, Array.from({ length: 30 }, (_, i) => 20 * (i + 1)));
  assert.equal(readFileSync(join(study, 'table.md'), 'utf8'), `Data: cifar10:${join(fixtures, 'cifar10')}\n\n${r.stdout}`);
  // Done: the same command again scores nothing anew and gives the same table.
  const again = gantryCli(args, { env: { GANTRY_CACHE: cache } });
  assert.equal(again.stdout, r.stdout);
});

test('gantry compare runs the VAE study protocol end to end on the CIFAR-10 fixture (cars and airplanes)', () => {
  const dir = tempDir();
  const config = join(dir, 'c.json');
  writeFileSync(config, JSON.stringify({ model: { width: 8, ndf: 8, latent: 8 }, train: { samples: 4 } }));
  const r = gantryCli(['compare', '--data', `cifar10:${join(fixtures, 'cifar10')}?classes=automobile,airplane`,
    '--weights', join(golden, 'inception_w8.pth'), '--config', config, '--steps', '3', '--batch', '4', '--n', '6', '--out', join(dir, 'study'), '--quiet'], { env: { GANTRY_CACHE: cache } });
  assert.equal(r.code, 0, r.stderr);
  const table = readFileSync(join(dir, 'study', 'table.md'), 'utf8');
  for (const family of ['vae', 'vae-gan', 'unet-vae-gan']) assert.match(table, new RegExp(`\\| ${family} \\| \\d+\\.\\d\\d \\| 3 \\|`));
  assert.match(r.stdout, /FID \(6 real vs 6 fake/);
});
