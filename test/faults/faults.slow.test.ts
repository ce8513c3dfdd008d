import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GANTRY_BIN, gantryCli, tempDir } from '../helpers.ts';
import { Rng } from '../../src/engine/rng.ts';
import { readSafetensors } from '../../src/io/safetensors-file.ts';
import { readMetrics } from '../../src/train/metrics.ts';
import { writeNpz } from '../../src/io/npy.ts';

/**
 * The fault-injection suite: what a user's machine does to a run (kill -9 at any moment, a second
 * writer, a diverging learning rate, corrupt inputs, bad output paths) and what gantry must do about it.
 * Each case asserts its one-line message and that no half-written run folder is left.
 */
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

const gantry = (...args: string[]) => gantryCli(args);

const tiny = { model: { ngf: 8, ndf: 8 }, train: { batch: 8, logEvery: 1, checkpointEvery: 1, sampleEvery: 1000, samples: 4 } };

function configFile(dir: string, name: string, config: object): string {
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify(config));
  return path;
}

function checkpointTensors(run: string) {
  return readSafetensors(join(run, 'checkpoint.safetensors')).tensors;
}

function assertOneLine(r: { code: number | null; stderr: string }, pattern: RegExp, what: string) {
  assert.equal(r.code, 1, `${what}: exit ${r.code}: ${r.stderr}`);
  assert.match(r.stderr, pattern, what);
  assert.equal(r.stderr.trim().split('\n').length, 1, `${what}: one line, got ${r.stderr}`);
  assert.doesNotMatch(r.stderr, /\n\s+at /, `${what}: stack trace`);
}

test('kill -9 at seeded random moments (checkpoint writes included), then --resume: bit-identical to an unbroken run', async () => {
  const dir = tempDir();
  const config = configFile(dir, 'c.json', tiny);
  const steps = '60';
  assert.equal(gantry('train', 'dcgan', '--config', config, '--steps', steps, '--out', join(dir, 'straight'), '--quiet').code, 0);
  const run = join(dir, 'killed');
  const rng = new Rng(7, 'faults');
  const kills: number[] = [];
  // A checkpoint every step: a good part of the time is spent writing one, so kills land in writes too.
  for (let k = 0; k < 4; k++) {
    const args = k === 0 ? ['train', 'dcgan', '--config', config, '--steps', steps, '--out', run, '--quiet'] : ['train', '--resume', '--out', run, '--quiet'];
    const child = spawn(process.execPath, [GANTRY_BIN, ...args], { stdio: 'ignore' });
    const exited = new Promise((r) => child.on('exit', r));
    const started = Date.now();
    while (!existsSync(join(run, 'checkpoint.safetensors'))) {
      if (Date.now() - started > 60_000) throw new Error('training did not start');
      await new Promise((r) => setTimeout(r, 20));
    }
    await new Promise((r) => setTimeout(r, 50 + rng.int(600)));
    child.kill('SIGKILL');
    await exited;
    kills.push(JSON.parse(readSafetensors(join(run, 'checkpoint.safetensors')).metadata.gantry).step);
  }
  const r = gantry('train', '--resume', '--out', run, '--quiet');
  assert.equal(r.code, 0, `${r.stderr} (killed at checkpoints ${kills})`);
  const a = checkpointTensors(join(dir, 'straight'));
  const b = checkpointTensors(run);
  for (const k of Object.keys(a)) assert.deepEqual(a[k].data, b[k].data, `${k} differs after kills at ${kills}`);
  assert.deepEqual(readMetrics(run).map((m) => [m.step, m.lossD, m.lossG]), readMetrics(join(dir, 'straight')).map((m) => [m.step, m.lossD, m.lossG]));
  assert.deepEqual(readdirSync(run).filter((f) => /tmp-|^lock$/.test(f)), [], 'temp files or a lock left behind');
});

test('one writer per run folder: a second train or a resume during a live run is refused; readers are not; a dead writer\'s lock is taken over', async () => {
  const dir = tempDir();
  const config = configFile(dir, 'c.json', tiny);
  const run = join(dir, 'R');
  const child = spawn(process.execPath, [GANTRY_BIN, 'train', 'dcgan', '--config', config, '--steps', '2000', '--out', run, '--quiet'], { stdio: 'ignore' });
  const exited = new Promise((r) => child.on('exit', r));
  const started = Date.now();
  while (!existsSync(join(run, 'checkpoint.safetensors'))) {
    if (Date.now() - started > 60_000) throw new Error('training did not start');
    await new Promise((r) => setTimeout(r, 20));
  }
  const second = gantry('train', 'dcgan', '--config', config, '--steps', '10', '--out', run);
  assertOneLine(second, /already exists and is not empty|is being trained by process \d+/, 'a second train');
  const resumed = gantry('train', '--resume', '--out', run);
  assertOneLine(resumed, new RegExp(`${run} is being trained by process ${child.pid}`), 'a resume during the run');
  // A reader is never blocked.
  const sample = gantry('sample', '--run', run, '--n', '4', '--out', join(dir, 's.png'));
  assert.equal(sample.code, 0, sample.stderr);
  child.kill('SIGKILL');
  await exited;
  assert.ok(existsSync(join(run, 'lock')), 'kill -9 leaves the lock');
  const after = gantry('train', '--resume', '--out', run, '--steps', String(JSON.parse(readSafetensors(join(run, 'checkpoint.safetensors')).metadata.gantry).step + 2));
  assert.equal(after.code, 0, after.stderr);
  assert.match(after.stderr, new RegExp(`taking over the lock of process ${child.pid}, which no longer runs`));
  // The metrics hold each step once.
  const steps = readMetrics(run).map((m) => m.step);
  assert.deepEqual(steps, [...new Set(steps)].sort((x, y) => x - y));
});

test('NaN: the advice, followed, continues the run; a resume may change the learning rate and steps (recorded), not the seed, data or architecture', () => {
  const dir = tempDir();
  const run = join(dir, 'R');
  const hot = configFile(dir, 'hot.json', { ...tiny, model: { ...tiny.model, lr: 1e30 } });
  const t = gantry('train', 'dcgan', '--config', hot, '--steps', '6', '--out', run);
  assert.equal(t.code, 1);
  const advice = /write (\{.*\}) to a file and continue with `gantry train --resume --out (\S+) --config FILE`/.exec(t.stderr);
  assert.ok(advice, t.stderr);
  assert.match(t.stderr, /became (NaN|Infinity|-Infinity) at step \d+; the run stopped/);
  const fix = configFile(dir, 'fix.json', JSON.parse(advice[1]));
  assert.deepEqual(JSON.parse(advice[1]), { model: { lr: 0.0002 } }, 'lr above the default: the default');
  const r = gantry('train', '--resume', '--out', advice[2], '--config', fix, '--steps', '8');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /step 8 lossD=\d/);
  const config = JSON.parse(readFileSync(join(run, 'config.json'), 'utf8'));
  assert.deepEqual([config.model.lr, config.train.steps], [0.0002, 8]);
  const history = readFileSync(join(run, 'config-history.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(history.map((h) => h.changed), [{ 'model.lr': [1e30, 0.0002], 'train.steps': [6, 8] }]);
  // What is the run's identity is refused, one line each; a missing config file is named.
  for (const [args, pattern] of [
    [['--seed', '5'], /seed is 0 in the run and 5 in the flags/],
    [['--data', 'shapes'], /data is "mnist" in the run and "shapes" in the flags/],
    [['--batch', '16'], /train\.batch is 8 in the run and 16 in the flags/],
    [['--config', configFile(dir, 'wide.json', { model: { ngf: 16 } })], /model\.ngf is 8 in the run and 16 in config .*wide\.json/],
    [['--config', join(dir, 'missing.json')], /cannot read config .*missing\.json/],
  ] as [string[], RegExp][]) {
    assertOneLine(gantry('train', '--resume', '--out', run, ...args), pattern, args.join(' '));
  }
  // The run's own starting config given again (channels 0: "from the data") changes nothing.
  const same = gantry('train', '--resume', '--out', run, '--config', configFile(dir, 'same.json', { model: { ngf: 8, ndf: 8, channels: 0, lr: 0.0002 } }));
  assert.equal(same.code, 0, same.stderr);
  assert.equal(readFileSync(join(run, 'config-history.jsonl'), 'utf8').trim().split('\n').length, 1, 'a resume that changed nothing is not recorded');
});

test('divergence that stays finite (lr far too high) is warned about once, with the fix', () => {
  const dir = tempDir();
  const run = join(dir, 'R');
  const hot = configFile(dir, 'hot.json', { ...tiny, model: { ...tiny.model, lr: 50 } });
  // Measured: at lr 50 lossD sits at 0 from step 7 and lossG near 6e5, finite to the end.
  const t = gantry('train', 'dcgan', '--config', hot, '--steps', '30', '--out', run, '--quiet');
  assert.equal(t.code, 0, t.stderr);
  const warnings = t.stderr.split('\n').filter((l) => l.startsWith('warning:'));
  assert.equal(warnings.length, 1, t.stderr);
  assert.match(warnings[0], /(the run looks diverged|D tells real from fake perfectly).*Lower the learning rate: write \{"model":\{"lr":0\.0002\}\}/);
});

test('a run killed before its first checkpoint resumes from step 0; sample says how to continue it', () => {
  const dir = tempDir();
  const run = join(dir, 'R');
  assert.equal(gantry('train', 'dcgan', '--config', configFile(dir, 'c.json', tiny), '--steps', '3', '--out', run, '--quiet').code, 0);
  const config = readFileSync(join(run, 'config.json'), 'utf8');
  // What a kill in the first moments leaves: the folder and its config.json, nothing else.
  const early = join(dir, 'early');
  mkdirSync(early);
  writeFileSync(join(early, 'config.json'), config);
  assertOneLine(gantry('sample', '--run', early), /has no checkpoint yet.*gantry train --resume --out/, 'sample');
  assertOneLine(gantry('train', 'dcgan', '--out', early), /already exists and is not empty; continue with `gantry train --resume --out /, 'train');
  const r = gantry('train', '--resume', '--out', early, '--quiet');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /no checkpoint yet .* starting it at step 0/);
  const a = checkpointTensors(run);
  const b = checkpointTensors(early);
  for (const k of Object.keys(a)) assert.deepEqual(a[k].data, b[k].data, `${k} differs`);
});

test('bad output paths: one line each naming the path and the fix, nothing left behind', () => {
  const dir = tempDir();
  const file = join(dir, 'a-file');
  writeFileSync(file, 'x');
  const cases: [string[], RegExp][] = [
    [['train', 'dcgan', '--steps', '1', '--out', file], /the run folder .*a-file is a file; choose a folder path/],
    [['train', 'dcgan', '--steps', '1', '--out', join(file, 'run')], /a-file is a file, so no folder can be made below it/],
    [['train', 'dcgan', '--steps', '1', '--out', '/proc/gantry-run'], /is under \/proc, the kernel's own files/],
    [['train', 'dcgan', '--steps', '1', '--out', '/sys/gantry-run'], /is under \/sys, the kernel's own files/],
    [['train', 'dcgan', '--steps', '1', '--out', ''], /the run folder "" has a blank name; give a folder path, e\.g\. runs\/dcgan/],
    [['train', 'dcgan', '--steps', '1', '--out', join(dir, ' ')], /the run folder ".* " has a blank name/],
  ];
  for (const [args, pattern] of cases) assertOneLine(gantry(...args), pattern, args.join(' '));
  if (process.getuid?.() !== 0) {
    const locked = join(dir, 'locked');
    mkdirSync(locked);
    chmodSync(locked, 0o500);
    assertOneLine(gantry('train', 'dcgan', '--steps', '1', '--out', join(locked, 'run')), /is not writable by this user/, 'unwritable');
  }
  assert.deepEqual(readdirSync(dir).sort(), process.getuid?.() !== 0 ? ['a-file', 'locked'] : ['a-file']);
});

/** Runs a gantry command in a child and returns its exit code and peak resident memory (MiB). */
function peakRss(args: string[]): { code: number | null; mib: number; stderr: string } {
  const script = `import { main } from './src/cli/main.ts'; const code = await main(${JSON.stringify(args)}); process.stdout.write('\\nRSS ' + process.resourceUsage().maxRSS + '\\n'); process.exit(code);`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: root, encoding: 'utf8', timeout: 600_000 });
  const kib = Number(/RSS (\d+)/.exec(r.stdout)?.[1] ?? NaN);
  return { code: r.status, mib: kib / 1024, stderr: r.stderr };
}

test('memory stays flat in n: sample --n 4000 into a folder peaks where --n 1000 does; a grid too large is refused with the fix; bad image paths are one line', () => {
  const dir = tempDir();
  const run = join(dir, 'R');
  // DCGAN at its default width: drawn all at once, 4000 images would hold ~0.5 GB of activations.
  assert.equal(gantry('train', 'dcgan', '--steps', '1', '--batch', '8', '--out', run, '--quiet').code, 0);
  // Both sizes draw many batches: a first batch or two (n 100) peaks lower only because the garbage
  // collector has not yet let the heap grow, which varied by up to 70 MiB between runs.
  const small = peakRss(['sample', '--run', run, '--n', '1000', '--out', join(dir, 'few')]);
  const large = peakRss(['sample', '--run', run, '--n', '4000', '--out', join(dir, 'many')]);
  assert.equal(small.code, 0, small.stderr);
  assert.equal(large.code, 0, large.stderr);
  assert.equal(readdirSync(join(dir, 'many')).length, 4000);
  assert.deepEqual(readdirSync(join(dir, 'many')).slice(0, 2), ['seed-000000.png', 'seed-000001.png']);
  assert.ok(large.mib - small.mib < 60, `peak memory grew from ${small.mib.toFixed(0)} MiB (n 1000) to ${large.mib.toFixed(0)} MiB (n 4000)`);
  console.log(`sample peak RSS: n 1000 ${small.mib.toFixed(0)} MiB, n 4000 ${large.mib.toFixed(0)} MiB`);
  const file = join(dir, 'a-file');
  writeFileSync(file, 'x');
  const cases: [string[], RegExp][] = [
    [['sample', '--run', run, '--n', '5000', '--out', join(dir, 'grid.png')], /--n 5000 is more images than one grid holds \(1024\); give --out DIR/],
    [['sample', '--run', run, '--out', join(dir, 'missing', 'x.png')], /the folder .*missing does not exist; create it first/],
    [['sample', '--run', run, '--out', join(dir, 'x.jpg')], /gantry writes PNG images; name the file \.png/],
    [['interpolate', '--run', run, '--out', join(dir, 'many')], /is a folder; give a file name ending in \.png/],
    [['interpolate', '--run', run, '--frames', '2000', '--out', join(dir, 's.png')], /--frames 2000 is more than one strip holds/],
    [['sample', '--run', run, '--n', '3', '--out', join(file, 'imgs')], /cannot write images into this folder/],
  ];
  for (const [args, pattern] of cases) assertOneLine(gantry(...args), pattern, args.join(' '));
});

test('corrupt inputs are errors, not silent wrong results: a flipped byte in an .npz, NaN statistics, an IDX label of 200, a truncated checkpoint; a CIFAR batch cut between records is warned about', () => {
  const dir = tempDir();
  const golden = join(root, 'test', 'golden');
  const fixtures = join(root, 'test', 'fixtures');
  // A byte flipped inside the stored "mu" array: numpy says "Bad CRC-32", and so does gantry.
  const npz = readFileSync(join(golden, 'stats_a.npz'));
  const flipped = Buffer.from(npz);
  flipped[npz.indexOf('NUMPY') + 200] ^= 0xff;
  writeFileSync(join(dir, 'flipped.npz'), flipped);
  assertOneLine(gantry('eval', 'fid', '--real', join(dir, 'flipped.npz'), '--fake', join(golden, 'stats_b.npz')), /flipped\.npz.*fails its CRC-32 check/, 'flipped npz');
  const d = 4;
  writeNpz(join(dir, 'nan.npz'), { mu: { shape: [d], data: Float64Array.of(0, NaN, 0, 0) }, sigma: { shape: [d, d], data: new Float64Array(d * d) } });
  writeNpz(join(dir, 'ok.npz'), { mu: { shape: [d], data: new Float64Array(d) }, sigma: { shape: [d, d], data: new Float64Array(d * d) } });
  assertOneLine(gantry('eval', 'fid', '--real', join(dir, 'nan.npz'), '--fake', join(dir, 'ok.npz')), /nan\.npz: mu holds NaN or infinite values/, 'NaN statistics');
  // An IDX label file with one label of 200.
  const idx = join(dir, 'idx');
  mkdirSync(idx);
  writeFileSync(join(idx, 'train-images-idx3-ubyte.gz'), readFileSync(join(fixtures, 'mnist-idx', 'train-images-idx3-ubyte.gz')));
  const labels = readFileSync(join(fixtures, 'mnist-idx', 'train-labels-idx1-ubyte'));
  labels[8 + 5] = 200;
  writeFileSync(join(idx, 'train-labels-idx1-ubyte'), labels);
  assertOneLine(gantry('train', 'cgan', '--data', `mnist-idx:${idx}`, '--steps', '1', '--out', join(dir, 'idx-run')), /label 5 is 200, outside MNIST's digits 0-9/, 'IDX label 200');
  assert.equal(existsSync(join(dir, 'idx-run')), false, 'half-written run folder');
  // A CIFAR-10 batch cut exactly between two records.
  const cifar = join(dir, 'cifar');
  mkdirSync(cifar);
  writeFileSync(join(cifar, 'data_batch_1.bin'), readFileSync(join(fixtures, 'cifar10', 'data_batch_1.bin')).subarray(0, 8 * 3073));
  const c = gantry('train', 'dcgan', '--data', `cifar10:${cifar}`, '--steps', '1', '--batch', '4', '--out', join(dir, 'cifar-run'), '--quiet');
  assert.equal(c.code, 0, c.stderr);
  assert.match(c.stderr, /warning: .*data_batch_1\.bin holds 8 records; CIFAR-10's batches hold 10000, so it may be cut short/);
  // A checkpoint cut short: the message names the file and the fix.
  const ckpt = join(dir, 'cifar-run', 'checkpoint.safetensors');
  writeFileSync(ckpt, readFileSync(ckpt).subarray(0, 1000));
  assertOneLine(gantry('sample', '--run', join(dir, 'cifar-run'), '--out', join(dir, 's.png')), /checkpoint\.safetensors is truncated or corrupt .*; go back to the one before it \(step 0\) with `mv .*checkpoint\.previous\.safetensors .*checkpoint\.safetensors`, restore checkpoint\.safetensors from a copy, or train the run again into a new folder/, 'truncated checkpoint');
});
