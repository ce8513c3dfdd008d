import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gantryCli, tempDir } from '../helpers.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const cache = tempDir('gantry-cache-');

const gantry = (...args: string[]) => gantryCli(args, { env: { GANTRY_CACHE: cache } });

const SWEEP = {
  base: { family: 'dcgan', data: 'mnist', model: { ngf: 8, ndf: 8 }, train: { steps: 3, batch: 8, checkpointEvery: 3, sampleEvery: 3, samples: 4 } },
  grid: { 'model.lr': [1e-4, 2e-4], seed: [0, 1] },
  eval: { fid: { n: 16, weights: join(root, 'test', 'golden', 'inception_w8.pth'), featureDim: 64 } },
};

test('a sweep runs every point here, scores each, tables mean ± std over seeds; running it again adds nothing and finishes what is missing', () => {
  const dir = tempDir();
  const file = join(dir, 'sweep.json');
  writeFileSync(file, JSON.stringify(SWEEP));
  const runs = join(dir, 'runs');
  const r = gantry('sweep', file, '--runs', runs, '--quiet');
  assert.equal(r.code, 0, r.stderr);
  const [id] = readdirSync(runs);
  assert.match(id, /^sweep-[0-9a-f]{10}$/);
  const folder = join(runs, id);
  assert.deepEqual(readdirSync(folder).sort(), ['000', '001', '002', '003', 'sweep.json', 'table.md']);
  const results = ['000', '001', '002', '003'].map((p) => JSON.parse(readFileSync(join(folder, p, 'result.json'), 'utf8')));
  assert.deepEqual(results.map((x) => x.params), [{ 'model.lr': 1e-4, seed: 0 }, { 'model.lr': 1e-4, seed: 1 }, { 'model.lr': 2e-4, seed: 0 }, { 'model.lr': 2e-4, seed: 1 }]);
  assert.ok(results.every((x) => x.step === 3 && Number.isFinite(x.fid) && Number.isFinite(x.losses.lossG)));
  assert.equal(JSON.parse(readFileSync(join(folder, '000', 'config.json'), 'utf8')).model.lr, 1e-4);
  // One row per learning rate, the two seeds as mean ± std (sample deviation).
  const table = readFileSync(join(folder, 'table.md'), 'utf8');
  assert.equal(r.stdout, `${table}${folder}\n`);
  const row = table.split('\n').find((l) => l.startsWith('| model.lr=0.0001 |'))!;
  const mean = (results[0].fid + results[1].fid) / 2;
  const std = Math.abs(results[0].fid - results[1].fid) / Math.SQRT2;
  assert.equal(row, `| model.lr=0.0001 | 2 of 2 | ${mean.toFixed(3)} ± ${std.toFixed(3)} | ${fmt(results[0].losses.lossD, results[1].losses.lossD)} | ${fmt(results[0].losses.lossG, results[1].losses.lossG)} |`);

  // The same sweep again (keys in another order): the same folder, nothing run.
  const stamps = readdirSync(folder).filter((p) => /^\d+$/.test(p)).map((p) => statSync(join(folder, p, 'result.json')).mtimeMs);
  writeFileSync(file, JSON.stringify({ eval: SWEEP.eval, grid: SWEEP.grid, base: SWEEP.base }));
  const again = gantry('sweep', file, '--runs', runs);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stderr, /4 points in .*, 4 already done/);
  assert.deepEqual(readdirSync(folder).filter((p) => /^\d+$/.test(p)).map((p) => statSync(join(folder, p, 'result.json')).mtimeMs), stamps);

  // A point whose result is lost (a machine died before scoring it) is finished, with the same score.
  rmSync(join(folder, '002', 'result.json'));
  assert.match(gantry('sweep', 'status', folder).stdout, /\| 002 \| model\.lr=0\.0002, seed=0 \| stopped at step 3 of 3 \| {2}\| {2}\|/);
  assert.equal(gantry('sweep', file, '--runs', runs, '--quiet').code, 0);
  assert.deepEqual(JSON.parse(readFileSync(join(folder, '002', 'result.json'), 'utf8')), results[2]);
  assert.equal(gantry('sweep', 'table', id, '--runs', runs, '--out', join(dir, 't.md')).stdout, readFileSync(join(dir, 't.md'), 'utf8'));
});

function fmt(a: number, b: number): string {
  const m = (a + b) / 2;
  return `${m.toFixed(3)} ± ${(Math.abs(a - b) / Math.SQRT2).toFixed(3)}`;
}

test('bad sweep files are one line each, before anything is trained', () => {
  const dir = tempDir();
  const file = join(dir, 'sweep.json');
  const runs = join(dir, 'runs');
  const bad = (sweep: unknown, pattern: RegExp) => {
    writeFileSync(file, JSON.stringify(sweep));
    const r = gantry('sweep', file, '--runs', runs);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, pattern);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  };
  bad({ ...SWEEP, grdi: {} }, /^gantry sweep: sweep .*sweep\.json: \(root\): unknown field "grdi" \(did you mean "grid"\?\)/);
  bad({ ...SWEEP, grid: { 'model.lr': [] } }, /grid\.model\.lr: .*>=1 items|grid\.model\.lr: Too small/);
  bad({ ...SWEEP, grid: { seed: [1, 2, 1] } }, /^gantry sweep: sweep .*sweep\.json: grid\.seed: 1 is listed twice; give each value once\n$/);
  bad({ ...SWEEP, grid: { 'optim.lr': [1] } }, /grid\.optim\.lr: an axis is seed, data, family, model\.<field> or train\.<field>/);
  bad({ ...SWEEP, grid: { 'model.lrr': [1e-4] } }, /sweep point 000 \(model\.lrr=0\.0001\): model: unknown field "lrr" \(did you mean "lr"\?\)/);
  bad({ ...SWEEP, grid: { 'train.batch': [8, 'big'] } }, /sweep point 001 \(train\.batch=big\): train\.batch: expected a number, not "big"/);
  // A run config at the top rather than under "base": each problem named, and where the fields go.
  bad({ family: 'dcgan', train: { steps: 2 }, grid: { lr: [1e-4] } }, /base: missing; give an object; grid\.lr: an axis is .* \(model\.lr or train\.lr\?\); \(root\): unknown fields "family", "train"; a run config's fields \("family", "train"\) go under "base"/);
  writeFileSync(file, '{"base": ');
  assert.match(gantry('sweep', file).stderr, /^gantry sweep: cannot read sweep .*sweep\.json: /);
  // With --queue too, before any connection is tried (nothing listens on port 1).
  assert.match(gantry('sweep', file, '--queue', 'redis://127.0.0.1:1').stderr, /^gantry sweep: cannot read sweep .*sweep\.json: /);
  assert.match(gantry('sweep', 'status', join(dir, 'nope'), '--runs', runs).stderr, /is not a sweep folder \(no sweep\.json\)/);
  // A subcommand's flag given to another is refused, not ignored.
  assert.match(gantry('sweep', file, '--watch', '--out', join(dir, 't.md')).stderr, /^gantry sweep: --watch, --out do not go with sweep SWEEP\.json; see `gantry sweep --help`\n$/);
  assert.match(gantry('sweep', 'status', join(dir, 'nope'), '--watch').stderr, /^gantry sweep: --watch does not go with sweep status; /);
  assert.match(gantry('sweep', file, '--queue', 'redis://127.0.0.1:1', '--runs', runs).stderr, /^gantry sweep: --runs does not go with sweep SWEEP\.json --queue; /);
  assert.match(gantry('sweep', 'table', join(dir, 'nope'), '--out', join(dir, 'no', 't.md')).stderr, /^gantry sweep: --out .*t\.md: the folder .*no does not exist; create it first or choose another path\n$/);
  assert.deepEqual(readdirSync(dir).sort(), ['sweep.json'], 'nothing written');
});

test('a point that fails is recorded and the others go on; the sweep exits 1 and leaves it alone until its record goes', () => {
  const dir = tempDir();
  const file = join(dir, 'sweep.json');
  const runs = join(dir, 'runs');
  // 32 digits: a batch of 64 cannot be drawn, one clear error for that point alone.
  writeFileSync(file, JSON.stringify({ name: 'batches', base: { ...SWEEP.base, data: `mnist-idx:${join(root, 'test', 'fixtures', 'mnist-idx')}` }, grid: { 'train.batch': [8, 64] } }));
  const r = gantry('sweep', file, '--runs', runs, '--quiet');
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /point 001 \(train\.batch=64\) failed: the data has 32 images, fewer than one batch of 64; use a batch of at most 32 \(--batch, or train\.batch in a config\)/);
  const folder = join(runs, 'batches');
  assert.ok(JSON.parse(readFileSync(join(folder, '000', 'result.json'), 'utf8')).step === 3);
  assert.match(r.stdout, /\| train\.batch=64 \| 0 of 1 \(1 failed\) \|/);
  assert.match(gantry('sweep', 'status', folder).stdout, /\| 001 \| train\.batch=64 \| failed: the data has 32 images/);
  const again = gantry('sweep', file, '--runs', runs);
  assert.match(again.stderr, /2 points in .*, 1 already done, 1 failed before/);
  assert.doesNotMatch(again.stderr, /point 001/);
  rmSync(join(folder, '001.failed.json'));
  assert.match(gantry('sweep', file, '--runs', runs).stderr, /point 001 \(train\.batch=64\) failed/);
});
