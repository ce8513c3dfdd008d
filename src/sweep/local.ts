import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { GantryError } from '../errors.ts';
import { writeFileAtomic } from '../io/atomic.ts';
import type { FeatureExtractor } from '../metrics/features.ts';
import { parseEvalInput } from '../metrics/evaluate.ts';
import { fidExtractor, fidOf, fidScorer } from '../metrics/scores.ts';
import type { RunConfig } from '../train/run-config.ts';
import { checkpointStep, hasCheckpoint } from '../train/checkpoint.ts';
import { train, type StopReason } from '../train/trainer.ts';
import { canonicalJson, describeParams, expandPoints, sweepId, type Sweep, type SweepPoint } from './sweep-file.ts';

/** What a finished point wrote: its params, its last losses and its score. */
export interface PointResult {
  id: string;
  params: Record<string, unknown>;
  step: number;
  losses: Record<string, number>;
  fid?: number;
  /** Images a side and the feature network the FID used. */
  n?: number;
  features?: string;
}

const SWEEP_FILE = 'sweep.json';
const RESULT_FILE = 'result.json';
/** A point that failed (a diverged run, data that does not fit its config): its error, next to where its run would be. */
const FAILED_FILE = 'failed.json';

/** The folder of a sweep under the runs folder, by the sweep's id. */
export function sweepFolder(runsDir: string, sweep: Sweep): string {
  return join(runsDir, sweepId(sweep));
}

/** The sweep a sweep folder holds (its sweep.json), or one error naming the folder. */
export function readSweepFolder(dir: string): Sweep {
  const path = join(dir, SWEEP_FILE);
  if (!existsSync(path)) throw new GantryError(`${dir} is not a sweep folder (no ${SWEEP_FILE}); give the folder \`gantry sweep\` printed, or its id with --runs`);
  return JSON.parse(readFileSync(path, 'utf8')) as Sweep;
}

/** A point's result (its result.json), or null where it has none yet. */
export function readResult(pointDir: string): PointResult | null {
  const path = join(pointDir, RESULT_FILE);
  return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as PointResult) : null;
}

function readFailure(dir: string, id: string): string | null {
  const path = join(dir, `${id}.${FAILED_FILE}`);
  return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as { error: string }).error : null;
}

/** What a point's training and scoring options are (the local runner's and a queue worker's). */
export interface PointOptions {
  quiet?: boolean;
  log: (line: string) => void;
  onProgress?: (step: number, steps: number, losses: Record<string, number>) => void;
  takeOverLock?: boolean;
}

/**
 * Trains one point into pointDir (resuming its run where one was stopped there) and scores it, writing
 * its result.json; returns the result, or the signal that stopped it (after a checkpoint). A GantryError
 * (a diverged run, data that does not fit) is thrown to the caller.
 */
export async function trainPoint(fid: Sweep['eval']['fid'], point: SweepPoint, pointDir: string, extractor: FeatureExtractor | null, o: PointOptions): Promise<PointResult | { interrupted: StopReason }> {
  const resume = existsSync(join(pointDir, 'config.json'));
  const common = { quiet: o.quiet, onProgress: o.onProgress, takeOverLock: o.takeOverLock, scorerFor: (config: RunConfig) => fidScorer(config, { quiet: o.quiet }) };
  const result = await train(resume ? { outDir: pointDir, resume: true, ...common } : { outDir: pointDir, config: point.config, ...common });
  if (result.interrupted) return { interrupted: result.interrupted };
  const scored: PointResult = { id: point.id, params: point.params, step: result.step, losses: result.losses };
  if (fid && extractor) {
    const options = { n: fid.n, seed: 0, quiet: o.quiet };
    const note = o.quiet ? () => {} : o.log;
    const score = await fidOf(parseEvalInput(fid.real ?? point.config.data), parseEvalInput(pointDir), extractor, options, note);
    Object.assign(scored, { fid: score.value, n: fid.n, features: extractor.id });
  }
  writeFileAtomic(join(pointDir, RESULT_FILE), JSON.stringify(scored, null, 2) + '\n');
  return scored;
}

/** The feature network a sweep scores with (null: no FID), checked before anything trains. */
export function sweepExtractor(sweep: Sweep): FeatureExtractor | null {
  const fid = sweep.eval.fid;
  return fid ? fidExtractor(fid, 'eval.fid') : null;
}

/**
 * The folder of a sweep under a runs folder, with its sweep.json: written the first time, checked to be
 * the same sweep after (an id names one sweep).
 */
export function prepareSweepFolder(runsDir: string, sweep: Sweep): string {
  const dir = sweepFolder(runsDir, sweep);
  mkdirSync(dir, { recursive: true });
  const saved = join(dir, SWEEP_FILE);
  if (!existsSync(saved)) writeFileAtomic(saved, JSON.stringify(sweep, null, 2) + '\n');
  else if (canonicalJson(readSweepFolder(dir)) !== canonicalJson(sweep)) {
    throw new GantryError(`${dir} holds another sweep named ${sweepId(sweep)}; give this one another name (or none: an unnamed sweep is named by its content)`);
  }
  return dir;
}

/**
 * Runs a sweep's points here, one after another, into runsDir/<sweep id>/<point>/: each trained (resumed
 * where a run of it was stopped), then scored; a point with a result is done and left alone, so running
 * the same sweep again finishes what is missing and adds nothing else. A point that fails (one
 * GantryError: a diverged run, a batch larger than the data) is recorded as failed and the others go on;
 * it is left alone too until its record (<sweep>/<point>.failed.json) is removed. Returns at the first
 * point a signal stopped (after its checkpoint), with the signal.
 */
export async function runSweepLocally(sweep: Sweep, runsDir: string, o: { quiet?: boolean; log: (line: string) => void }): Promise<{ dir: string; interrupted: StopReason | null; failed: number }> {
  const points = expandPoints(sweep);
  const extractor = sweepExtractor(sweep);
  try {
    const dir = prepareSweepFolder(runsDir, sweep);
    const done = points.filter((p) => readResult(join(dir, p.id))).length;
    const failed = points.filter((p) => readFailure(dir, p.id)).length;
    o.log(`sweep ${sweepId(sweep)}: ${points.length} points in ${dir}${done ? `, ${done} already done` : ''}${failed ? `, ${failed} failed before` : ''}`);
    for (const point of points) {
      const pointDir = join(dir, point.id);
      if (readResult(pointDir) || readFailure(dir, point.id)) continue;
      if (!o.quiet) o.log(`point ${point.id} (${describeParams(point.params)})`);
      try {
        const outcome = await trainPoint(sweep.eval.fid, point, pointDir, extractor, o);
        if ('interrupted' in outcome) return { dir, interrupted: outcome.interrupted, failed: 0 };
      } catch (err) {
        if (!(err instanceof GantryError)) throw err;
        o.log(`point ${point.id} (${describeParams(point.params)}) failed: ${err.message}`);
        writeFileAtomic(join(dir, `${point.id}.${FAILED_FILE}`), JSON.stringify({ id: point.id, params: point.params, error: err.message }, null, 2) + '\n');
      }
    }
    writeFileAtomic(join(dir, 'table.md'), sweepTable(dir));
    return { dir, interrupted: null, failed: points.filter((p) => readFailure(dir, p.id)).length };
  } finally {
    extractor?.dispose();
  }
}

/** Each point's state: done (with its score), stopped at a step, or not started. */
export function sweepStatus(dir: string): string {
  const points = expandPoints(readSweepFolder(dir));
  const rows = points.map((p) => {
    const pointDir = join(dir, p.id);
    const result = readResult(pointDir);
    const failure = readFailure(dir, p.id);
    const state = result ? 'done' : failure ? `failed: ${failure}` : hasCheckpoint(pointDir) ? `stopped at step ${checkpointStep(pointDir)} of ${p.config.train.steps}` : 'not started';
    const score = result?.fid !== undefined ? result.fid.toFixed(2) : '';
    return `| ${p.id} | ${describeParams(p.params)} | ${state} | ${result?.step ?? ''} | ${score} |`;
  });
  return ['| point | params | state | step | FID |', '|---|---|---|---|---|', ...rows].join('\n') + '\n';
}

/** mean ± std (sample standard deviation) of numbers, or the one number. */
function meanStd(values: number[]): string {
  if (values.length === 0) return '';
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  if (values.length === 1) return mean.toFixed(3);
  const std = Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / (values.length - 1));
  return `${mean.toFixed(3)} ± ${std.toFixed(3)}`;
}

/** Each point's outcome as a table needs it: its result, or that it failed. */
export interface PointOutcomes {
  results: Map<string, PointResult>;
  failed: Set<string>;
}

/** The outcomes written in a sweep folder. */
function folderOutcomes(dir: string, points: SweepPoint[]): PointOutcomes {
  const results = new Map<string, PointResult>();
  const failed = new Set<string>();
  for (const p of points) {
    const result = readResult(join(dir, p.id));
    if (result) results.set(p.id, result);
    if (readFailure(dir, p.id)) failed.add(p.id);
  }
  return { results, failed };
}

/** The results table of a sweep folder (sweepTableOf). */
export function sweepTable(dir: string): string {
  const sweep = readSweepFolder(dir);
  return sweepTableOf(sweep, folderOutcomes(dir, expandPoints(sweep)));
}

/**
 * The sweep's results as a markdown table: one row per combination of the axes other than seed, with
 * the FID and last losses as mean ± std over the seeds that finished.
 */
export function sweepTableOf(sweep: Sweep, outcomes: PointOutcomes): string {
  const points = expandPoints(sweep);
  const groups = new Map<string, { points: SweepPoint[]; results: PointResult[]; failed: number }>();
  for (const p of points) {
    const { seed: _, ...rest } = p.params;
    const key = describeParams(rest) || '(base)';
    const group = groups.get(key) ?? { points: [], results: [], failed: 0 };
    group.points.push(p);
    const result = outcomes.results.get(p.id);
    if (result) group.results.push(result);
    if (outcomes.failed.has(p.id)) group.failed++;
    groups.set(key, group);
  }
  const all = [...outcomes.results.values()];
  const lossNames = [...new Set(all.flatMap((r) => Object.keys(r.losses)))];
  const scored = all.find((r) => r.fid !== undefined);
  const header = ['params', 'seeds done', ...(scored ? [`FID (${scored.n} a side, ${scored.features})`] : []), ...lossNames];
  const rows = [...groups].map(([key, g]) => [
    key, `${g.results.length} of ${g.points.length}${g.failed ? ` (${g.failed} failed)` : ''}`,
    ...(scored ? [meanStd(g.results.filter((r) => r.fid !== undefined).map((r) => r.fid!))] : []),
    ...lossNames.map((l) => meanStd(g.results.map((r) => r.losses[l]).filter((v) => v !== undefined))),
  ]);
  return [`Sweep ${sweepId(sweep)}: ${describeParams(Object.fromEntries(Object.entries(sweep.grid).map(([k, v]) => [k, v])))}`, '',
    `| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n') + '\n';
}
