import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { Queue, UnrecoverableError, WaitingError, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { GantryError, describeError, formatDuration } from '../errors.ts';
import { anchorSweepPaths, canonicalJson, describeParams, expandPoints, sweepId, type Sweep } from './sweep-file.ts';
import { prepareSweepFolder, sweepExtractor, sweepTableOf, trainPoint, type PointOutcomes, type PointResult } from './local.ts';
import type { FeatureExtractor } from '../metrics/features.ts';

/**
 * Sweeps as jobs on Redis, through BullMQ: `gantry sweep --queue` stores the sweep and adds one job per
 * point (job id = sweep id + point id, so submitting again adds nothing); `gantry worker` on any machine
 * takes jobs one at a time, trains each point into its own --runs folder (resuming a run found there),
 * scores it, and returns the result into the job. BullMQ does the rest: a job whose worker stops renewing
 * its lock (kill -9, a dead machine) is given to another worker; SIGTERM hands a job back at once, after
 * a checkpoint; a GantryError (a diverged run) fails the point for good.
 */
export const QUEUE_NAME = 'gantry-sweeps';
const SWEEP_KEY = (id: string) => `gantry:sweep:${id}`;

export interface PointJob {
  sweep: string;
  point: string;
}

/** What a running point reports into its job. */
export interface PointProgress {
  step: number;
  steps: number;
  losses: Record<string, number>;
  /** Seconds left at this worker's pace since it took the job (absent until it has measured one). */
  etaSeconds?: number;
}

/** The Redis a --queue URL names: redis://[:password@]host[:port][/db]. */
export function redisOptions(url: string): { host: string; port: number; password?: string; db?: number } {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new GantryError(`--queue ${url} is not a URL; give redis://HOST:PORT (e.g. redis://127.0.0.1:6379)`);
  }
  if (u.protocol !== 'redis:') throw new GantryError(`--queue ${url}: expected a redis:// URL (e.g. redis://127.0.0.1:6379)`);
  const db = u.pathname.length > 1 ? Number(u.pathname.slice(1)) : undefined;
  if (db !== undefined && !Number.isInteger(db)) throw new GantryError(`--queue ${url}: the database after the / must be a number`);
  return { host: u.hostname || '127.0.0.1', port: Number(u.port || 6379), ...(u.password ? { password: decodeURIComponent(u.password) } : {}), ...(db !== undefined ? { db } : {}) };
}

/**
 * A connection to the queue's Redis, checked with one PING: an unreachable or refusing server is one
 * error naming the URL, not ioredis's endless retries.
 */
export async function connectRedis(url: string): Promise<Redis> {
  const options = redisOptions(url);
  const probe = new Redis({ ...options, lazyConnect: true, connectTimeout: 3000, maxRetriesPerRequest: 0, retryStrategy: () => null });
  probe.on('error', () => {}); // reported below, once
  try {
    await probe.connect();
    await probe.ping();
  } catch (err) {
    probe.disconnect();
    throw new GantryError(`cannot reach Redis at ${url} (${describeError(err)}); start redis-server there, or fix --queue`);
  }
  probe.disconnect();
  // BullMQ's workers block on Redis and want unlimited retries per request.
  const redis = new Redis({ ...options, maxRetriesPerRequest: null });
  redis.on('error', () => {});
  return redis;
}

function jobId(sweep: string, point: string): string {
  return `${sweep}.${point}`;
}

/** The sweep stored under an id, or one error saying no sweep was submitted under it. */
async function readSweep(redis: Redis, id: string, url: string): Promise<Sweep> {
  const json = await redis.get(SWEEP_KEY(id));
  if (!json) throw new GantryError(`no sweep ${id} on ${url}; submit it with \`gantry sweep SWEEP.json --queue ${url}\``);
  return JSON.parse(json) as Sweep;
}

/**
 * Stores the sweep and adds a job for each point not yet on the queue. Returns the sweep's id and how
 * many jobs it added (0 when the same sweep was submitted before).
 */
export async function submitSweep(given: Sweep, url: string): Promise<{ id: string; added: number; points: number }> {
  // Workers run in folders of their own: the paths it names go as absolute ones, from here.
  const sweep = anchorSweepPaths(given, process.cwd());
  const redis = await connectRedis(url);
  const queue = new Queue<PointJob>(QUEUE_NAME, { connection: redis });
  try {
    const id = sweepId(sweep);
    const stored = await redis.get(SWEEP_KEY(id));
    if (stored && stored !== canonicalJson(sweep)) throw new GantryError(`${url} holds another sweep named ${id}; give this one another name (or none: an unnamed sweep is named by its content)`);
    if (!stored) await redis.set(SWEEP_KEY(id), canonicalJson(sweep));
    const points = expandPoints(sweep);
    const missing = [];
    for (const p of points) if (!(await queue.getJob(jobId(id, p.id)))) missing.push(p);
    // Kept when done or failed: the results live in the jobs, and a kept id is what makes submitting again add nothing.
    await queue.addBulk(missing.map((p) => ({ name: p.id, data: { sweep: id, point: p.id }, opts: { jobId: jobId(id, p.id), removeOnComplete: false, removeOnFail: false } })));
    return { id, added: missing.length, points: points.length };
  } finally {
    await queue.close();
    redis.disconnect();
  }
}

export interface WorkerOptions {
  runsDir: string;
  concurrency: number;
  /** Seconds a worker may go silent before the queue gives its job to another worker. */
  stallSeconds: number;
  log: (line: string) => void;
}

/**
 * Takes jobs until SIGINT or SIGTERM: each point is trained into runsDir/<sweep>/<point>/ and scored,
 * its progress and result written into its job. Resolves when the worker has stopped.
 */
export async function runWorker(url: string, o: WorkerOptions): Promise<void> {
  const redis = await connectRedis(url);
  const name = `${hostname()}:${process.pid}`;
  // One feature network per sweep for the worker's life: reading Inception's weights takes seconds a point.
  const extractors = new Map<string, FeatureExtractor | null>();
  const extractorOf = (sweep: Sweep): FeatureExtractor | null => {
    const id = sweepId(sweep);
    if (!extractors.has(id)) extractors.set(id, sweepExtractor(sweep));
    return extractors.get(id)!;
  };
  const process_ = async (job: Job<PointJob>, token?: string): Promise<PointResult> => {
    const sweep = await readSweep(redis, job.data.sweep, url);
    const point = expandPoints(sweep).find((p) => p.id === job.data.point);
    if (!point) throw new UnrecoverableError(`sweep ${job.data.sweep} has no point ${job.data.point}`);
    const dir = prepareSweepFolder(o.runsDir, sweep);
    const pointDir = join(dir, point.id);
    const again = job.attemptsMade > 0 || (job.stalledCounter ?? 0) > 0;
    o.log(`${name}: point ${point.id} of sweep ${sweep.name ?? job.data.sweep} (${describeParams(point.params)})${again ? ', taken over from a worker that stopped' : ''}`);
    if (again && !existsSync(join(pointDir, 'config.json'))) {
      o.log(`${name}: no run folder of point ${point.id} in ${o.runsDir} (not shared with the worker that had it): starting over from step 0, seeded as before`);
    }
    let reported = 0;
    const started = { at: Date.now(), step: -1 };
    try {
      const outcome = await trainPoint(sweep.eval.fid, point, pointDir, extractorOf(sweep), {
        quiet: true, log: o.log, takeOverLock: true,
        onProgress: (step, steps, losses) => {
          // The pace is measured from the first step this worker logged (a resumed run starts late).
          if (started.step < 0) Object.assign(started, { at: Date.now(), step });
          // At most one progress write a second: Redis hears the run, not every step.
          if (Date.now() - reported < 1000 && step < steps) return;
          reported = Date.now();
          const pace = step > started.step ? (Date.now() - started.at) / 1000 / (step - started.step) : undefined;
          const progress: PointProgress = { step, steps, losses, ...(pace !== undefined ? { etaSeconds: pace * (steps - step) } : {}) };
          void job.updateProgress(progress).catch(() => {});
        },
      });
      if ('interrupted' in outcome) {
        // Stopped by a signal after a checkpoint: the job goes back to the queue for any worker.
        await job.moveToWait(token);
        o.log(`${name}: point ${point.id} stopped after a checkpoint; handed back to the queue`);
        throw new WaitingError();
      }
      o.log(`${name}: point ${point.id} done at step ${outcome.step}${outcome.fid !== undefined ? `, FID ${outcome.fid.toFixed(2)}` : ''}`);
      return outcome;
    } catch (err) {
      // A mistake in the point (a diverged run, data that does not fit) fails it for good; anything else is retried.
      if (err instanceof GantryError) throw new UnrecoverableError(err.message);
      throw err;
    }
  };
  const worker = new Worker<PointJob, PointResult>(QUEUE_NAME, process_, {
    connection: redis, concurrency: o.concurrency, name,
    lockDuration: o.stallSeconds * 1000, stalledInterval: o.stallSeconds * 1000, maxStalledCount: 3,
  });
  worker.on('error', (err) => o.log(`${name}: ${describeError(err)}`));
  worker.on('failed', (job, err) => {
    if (job && !(err instanceof WaitingError)) o.log(`${name}: point ${job.data.point} failed: ${err.message}`);
  });
  await worker.waitUntilReady();
  o.log(`${name}: waiting for jobs on ${url} (runs in ${o.runsDir})`);
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  // The trainer heard the same signal: it checkpoints, the job goes back, then the worker closes.
  await worker.close();
  redis.disconnect();
  for (const extractor of extractors.values()) extractor?.dispose();
}

export interface PointState {
  id: string;
  params: string;
  state: string;
  worker: string;
  step: string;
  fid: string;
}

/** Every point of a sweep on the queue: its state (waiting, running, done, failed), worker, step and FID. */
export async function queueStatus(url: string, id: string): Promise<{ sweep: Sweep; points: PointState[]; outcomes: PointOutcomes }> {
  const redis = await connectRedis(url);
  const queue = new Queue<PointJob, PointResult>(QUEUE_NAME, { connection: redis });
  try {
    const sweep = await readSweep(redis, id, url);
    const outcomes: PointOutcomes = { results: new Map(), failed: new Set() };
    const points: PointState[] = [];
    for (const p of expandPoints(sweep)) {
      const job = await queue.getJob(jobId(id, p.id));
      const state = job ? await job.getState() : 'not on the queue';
      const progress = (job?.progress ?? null) as PointProgress | null;
      const result = state === 'completed' ? job!.returnvalue : null;
      if (result) outcomes.results.set(p.id, result);
      if (state === 'failed') outcomes.failed.add(p.id);
      points.push({
        id: p.id, params: describeParams(p.params),
        state: state === 'completed' ? 'done' : state === 'failed' ? `failed: ${job!.failedReason}` : state === 'active' ? 'running' : state === 'prioritized' || state === 'delayed' ? 'waiting' : state,
        worker: job?.processedBy && state !== 'waiting' ? job.processedBy : '',
        step: result ? String(result.step) : progress && typeof progress === 'object'
          ? `${progress.step} of ${progress.steps}${state === 'active' && progress.etaSeconds !== undefined ? `, ETA ${formatDuration(progress.etaSeconds)}` : ''}` : '',
        fid: result?.fid !== undefined ? result.fid.toFixed(2) : '',
      });
    }
    return { sweep, points, outcomes };
  } finally {
    await queue.close();
    redis.disconnect();
  }
}

/** The status as a markdown table. */
export function statusTable(points: PointState[]): string {
  const rows = points.map((p) => `| ${p.id} | ${p.params} | ${p.state} | ${p.worker} | ${p.step} | ${p.fid} |`);
  return ['| point | params | state | worker | step | FID |', '|---|---|---|---|---|---|', ...rows].join('\n') + '\n';
}

/** The results table of a sweep on the queue (the same table as a local sweep's). */
export async function queueTable(url: string, id: string): Promise<string> {
  const { sweep, outcomes } = await queueStatus(url, id);
  return sweepTableOf(sweep, outcomes);
}
