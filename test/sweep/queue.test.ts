import { after, afterEach, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GANTRY_BIN, gantryCli, tempDir } from '../helpers.ts';
import { readSafetensors } from '../../src/io/safetensors-file.ts';
import { QUEUE_NAME } from '../../src/sweep/queue.ts';

/**
 * Sweeps on Redis (BullMQ) across worker processes, against a redis-server of the test's own on a free
 * loopback port (.ci/run installs Debian's redis-server).
 */
const REDIS_SERVER = '/usr/bin/redis-server';
const skip = !existsSync(REDIS_SERVER) && `no ${REDIS_SERVER} (apt-get install redis-server)`;
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const work = tempDir();

let redis: ChildProcess | null = null;
let url = '';
const workers: ChildProcess[] = [];

const gantry = (...args: string[]) => gantryCli(args, { cwd: work });

/** A worker process, with what it has said so far. */
function startWorker(runs: string, ...extra: string[]): { child: ChildProcess; said: () => string } {
  const child = spawn(process.execPath, [GANTRY_BIN, 'worker', '--queue', url, '--runs', runs, ...extra], { cwd: work, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  workers.push(child);
  return { child, said: () => out };
}

async function waitFor(what: string, check: () => boolean, timeoutMs = 120_000): Promise<void> {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

const exited = (child: ChildProcess) => new Promise<number | null>((resolve) => (child.exitCode !== null ? resolve(child.exitCode) : child.once('exit', (code) => resolve(code))));

/** The status table's rows of a sweep on the queue, as [point, params, state, worker, step, FID]. */
function status(id: string): string[][] {
  const r = gantry('sweep', 'status', id, '--queue', url);
  return r.stdout.split('\n').slice(2).filter(Boolean).map((line) => line.split('|').slice(1, -1).map((c) => c.trim()));
}

/** Runs `use` with the sweeps' queue, straight on Redis. */
async function withQueue<T>(use: (queue: import('bullmq').Queue) => Promise<T>): Promise<T> {
  const { Queue } = await import('bullmq');
  const { Redis } = await import('ioredis');
  const connection = new Redis(url, { maxRetriesPerRequest: null });
  const queue = new Queue(QUEUE_NAME, { connection });
  try {
    return await use(queue);
  } finally {
    await queue.close();
    connection.disconnect();
  }
}

/** The step a point's job last reported (read straight from Redis: polling through the CLI is too slow for a short run). */
async function reportedStep(sweep: string, point: string): Promise<number> {
  return withQueue(async (queue) => ((await queue.getJob(`${sweep}.${point}`))?.progress as { step?: number } | undefined)?.step ?? 0);
}

async function waitForStep(sweep: string, step: number): Promise<void> {
  const start = Date.now();
  while ((await reportedStep(sweep, '000')) < step) {
    if (Date.now() - start > 120_000) throw new Error(`timed out waiting for ${sweep} to reach step ${step}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function sweepFile(name: string, sweep: unknown): string {
  const path = join(work, `${name}.json`);
  writeFileSync(path, JSON.stringify(sweep));
  return path;
}

const TINY = { family: 'dcgan', data: 'shapes:40', model: { ngf: 4, ndf: 4, nz: 6 }, train: { batch: 4, samples: 4, checkpointEvery: 2, sampleEvery: 1000 } };

before(async () => {
  if (skip) return;
  const port = await new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
  redis = spawn(REDIS_SERVER, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  url = `redis://127.0.0.1:${port}`;
  const { Redis } = await import('ioredis');
  await waitFor('redis-server', () => true);
  for (let i = 0; ; i++) {
    const probe = new Redis({ port, lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
    probe.on('error', () => {});
    try {
      await probe.connect();
      await probe.ping();
      probe.disconnect();
      break;
    } catch {
      probe.disconnect();
      if (i > 40) throw new Error('redis-server did not start');
      await new Promise((r) => setTimeout(r, 100));
    }
  }
});

// A test's workers stop with it, failed or not: the next test's jobs must not go to them.
afterEach(() => {
  for (const w of workers.splice(0)) if (w.exitCode === null) w.kill('SIGKILL');
});

after(async () => {
  redis?.kill('SIGTERM');
});

test('a sweep of 4 tiny runs on two workers: one result each; submitting again adds nothing; status and table from the jobs', { skip }, async () => {
  const file = sweepFile('four', { name: 'four', base: { ...TINY, train: { ...TINY.train, steps: 4 } }, grid: { 'model.lr': [1e-4, 2e-4], seed: [0, 1] } });
  const first = gantry('sweep', file, '--queue', url);
  assert.equal(first.code, 0, first.stderr);
  assert.equal(first.stdout.trim(), 'four');
  assert.match(first.stderr, /sweep four: 4 points, 4 jobs added/);
  assert.match(gantry('sweep', file, '--queue', url).stderr, /4 points, all already on the queue \(nothing added\)/);
  assert.deepEqual(status('four').map((r) => r[2]), ['waiting', 'waiting', 'waiting', 'waiting']);
  const runs = join(work, 'shared');
  const a = startWorker(runs);
  const b = startWorker(runs);
  await waitFor('every point done', () => status('four').every((r) => r[2] === 'done'));
  const rows = status('four');
  assert.ok(rows.every((r) => r[4] === '4' && /:\d+$/.test(r[3])), 'each done at step 4, by a named worker');
  const points = readdirSync(join(runs, 'four')).filter((f) => /^\d{3}$/.test(f));
  assert.deepEqual(points.sort(), ['000', '001', '002', '003']);
  for (const p of points) assert.ok(existsSync(join(runs, 'four', p, 'result.json')), `point ${p} has its result`);
  const table = gantry('sweep', 'table', 'four', '--queue', url, '--out', join(work, 'table.md'));
  assert.match(table.stdout, /\| model\.lr=0\.0001 \| 2 of 2 \| \d+\.\d+ ± \d+\.\d+ \|/);
  assert.match(table.stdout, /\| model\.lr=0\.0002 \| 2 of 2 \|/);
  assert.ok(existsSync(join(work, 'table.md')));
  // Resubmitting a finished sweep adds nothing and runs nothing.
  assert.match(gantry('sweep', file, '--queue', url).stderr, /nothing added/);
  a.child.kill('SIGTERM');
  b.child.kill('SIGTERM');
  assert.equal(await exited(a.child), 0, a.said());
  assert.equal(await exited(b.child), 0, b.said());
});

test('a worker killed with -9 mid-job: another takes the job over and finishes it from the last checkpoint, bit-identical to an uninterrupted run', { skip }, async () => {
  const sweep = { name: 'killed', base: { ...TINY, train: { ...TINY.train, steps: 400 } }, grid: { seed: [3] } };
  const file = sweepFile('killed', sweep);
  assert.equal(gantry('sweep', file, '--queue', url).code, 0);
  const runs = join(work, 'shared');
  const a = startWorker(runs, '--stall-seconds', '2');
  await waitForStep('killed', 10);
  a.child.kill('SIGKILL');
  await exited(a.child);
  assert.notEqual(status('killed')[0][2], 'done', 'killed mid-run');
  const b = startWorker(runs, '--stall-seconds', '2');
  await waitFor('the point done by the second worker', () => status('killed')[0]?.[2] === 'done');
  assert.match(b.said(), /point 000 of sweep killed \(seed=3\), taken over from a worker that stopped/);
  // The same point, run here without a break.
  const straight = gantry('sweep', file, '--runs', join(work, 'straight'), '--quiet');
  assert.equal(straight.code, 0, straight.stderr);
  const resumed = readSafetensors(join(runs, 'killed', '000', 'checkpoint.safetensors')).tensors;
  const whole = readSafetensors(join(work, 'straight', 'killed', '000', 'checkpoint.safetensors')).tensors;
  assert.deepEqual(Object.keys(resumed).sort(), Object.keys(whole).sort());
  for (const k of Object.keys(whole)) assert.deepEqual(resumed[k].data, whole[k].data, `tensor ${k}`);
  b.child.kill('SIGTERM');
  assert.equal(await exited(b.child), 0, b.said());
});

test('SIGTERM checkpoints the running point and hands its job back at once', { skip }, async () => {
  const file = sweepFile('handed', { name: 'handed', base: { ...TINY, train: { ...TINY.train, steps: 4000 } }, grid: { seed: [5] } });
  assert.equal(gantry('sweep', file, '--queue', url).code, 0);
  const runs = join(work, 'shared');
  const a = startWorker(runs);
  await waitForStep('handed', 10);
  // While it runs, status names the worker and the step, with the time left at its pace.
  await waitFor('an ETA in the status', () => / of 4000, ETA \d+(s|m\d\ds)$/.test(status('handed')[0]?.[4] ?? ''), 30_000);
  assert.equal(status('handed')[0][2], 'running');
  a.child.kill('SIGTERM');
  assert.equal(await exited(a.child), 0, a.said());
  assert.match(a.said(), /point 000 stopped after a checkpoint; handed back to the queue/);
  assert.equal(status('handed')[0][2], 'waiting', 'back on the queue');
  assert.ok(existsSync(join(runs, 'handed', '000', 'checkpoint.safetensors')));
  // Off the queue again, so the next test's worker does not spend its time on it.
  await withQueue(async (queue) => (await queue.getJob('handed.000'))?.remove());
});

test('an unreachable Redis, a URL that is not redis:// and a bad sweep file are one line each', { skip }, () => {
  const good = sweepFile('good', { base: TINY, grid: { seed: [0] } });
  const down = gantry('sweep', good, '--queue', 'redis://127.0.0.1:1');
  assert.equal(down.code, 1);
  assert.match(down.stderr, /^gantry sweep: cannot reach Redis at redis:\/\/127\.0\.0\.1:1 \(.*\); start redis-server there, or fix --queue\n$/);
  assert.match(gantry('worker', '--queue', 'redis://127.0.0.1:1', '--runs', join(work, 'w')).stderr, /^gantry worker: cannot reach Redis at redis:\/\/127\.0\.0\.1:1/);
  assert.match(gantry('sweep', good, '--queue', 'http://127.0.0.1:6379').stderr, /--queue http:\/\/127\.0\.0\.1:6379: expected a redis:\/\/ URL/);
  const bad = sweepFile('bad', { base: TINY, grid: { 'model.lr': 'fast' } });
  const r = gantry('sweep', bad, '--queue', url);
  assert.equal(r.code, 1);
  assert.equal(r.stderr.split('\n').filter(Boolean).length, 1, r.stderr);
  assert.match(gantry('sweep', 'status', 'nope', '--queue', url).stderr, /no sweep nope on redis:\/\/127\.0\.0\.1:\d+; submit it with `gantry sweep SWEEP\.json --queue/);
});

test('gantry compare --queue submits the comparison as a sweep over the families; a worker runs it and the table has each family\'s FID', { skip }, async () => {
  // Submitted from the repository with the weights' path relative to it; the worker runs in another folder.
  const weights = join('test', 'golden', 'inception_w8.pth');
  const r = gantryCli(['compare', '--data', 'shapes:40', '--families', 'vae,vae-gan', '--steps', '2', '--batch', '4', '--n', '16', '--weights', weights, '--queue', url], { cwd: root });
  assert.equal(r.code, 0, r.stderr);
  const id = r.stdout.trim();
  assert.match(r.stderr, new RegExp(`compare: sweep ${id} of 2 families \\(2 jobs added\\)`));
  const w = startWorker(join(work, 'shared'));
  await waitFor('both families done', () => status(id).every((row) => row[2] === 'done'));
  const table = gantry('sweep', 'table', id, '--queue', url).stdout;
  assert.match(table, /\| family=vae \| 1 of 1 \| \d+\.\d+ \|/);
  assert.match(table, /\| family=vae-gan \| 1 of 1 \| \d+\.\d+ \|/);
  assert.match(table, /FID \(16 a side, /);
  w.child.kill('SIGTERM');
  assert.equal(await exited(w.child), 0, w.said());
});
