import * as tf from '@tensorflow/tfjs-core';
import { accessSync, constants, existsSync, mkdirSync, readdirSync, realpathSync, rmdirSync, rmSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { Rng } from '../engine/rng.ts';
import { OutOfMemoryError } from '../engine/memory.ts';
import { GpuLimitError } from '../gpu/device-guard.ts';
import { GantryError, describeError, inWords, resumeAdvice, WriteError } from '../errors.ts';
import { openDataset, type ImageDataset } from '../data/index.ts';
import { dataShape, subset } from '../data/dataset.ts';
import { BatchSampler } from '../data/sampler.ts';
import { reshapeDataset } from '../data/transform.ts';
import { nearestExisting, removeAbandonedTempFiles, writeFileAtomic } from '../io/atomic.ts';
import { writePng } from '../io/png.ts';
import { batchDefaults, dataFit, type ModelInfo } from '../models/condition.ts';
import { gridColumns, gridConditions, type Generator } from '../explore/conditions.ts';
import { labelMapTriplets, renderGrid } from '../explore/render.ts';
import { STYLE_CLUSTERS } from '../explore/instance-styles.ts';
import { ENCODE_PROGRESS_LABEL, learnedStylesLine, learnRunStyles, type LearnedStyles } from '../explore/run-styles.ts';
import { hasCheckpoint, initialiseFrom, loadCheckpoint, optimizerSteps, rollBackCheckpoint, saveCheckpoint } from './checkpoint.ts';
import { appendMetrics, truncateMetrics, type MetricsRow } from './metrics.ts';
import { BEST_DIR, bestScore, forgetBestAfter, keepIfBest, type BestScore } from './best.ts';
import { MetricsCurves, writePlots } from './plots.ts';
import { Progress, progressLines, slowWorkProgress, type ProgressOut } from './progress.ts';
import { DivergenceWatch } from './divergence.ts';
import { acquireRunLock } from './lock.ts';
import { applyResumeChanges, lowerLearningRates, recordConfigChange, type ChangeLog, type ConfigChanges } from './resume.ts';
import { withPlaceholderWeights } from '../nn/init.ts';
import { buildModel, CONFIG_FILE, describeModel, provideReferenceImages, readRunConfig, resolveRunConfig, runData } from './run.ts';
import { modelNotices } from '../models/index.ts';
import type { FamilyInstance } from '../models/family.ts';
import { TrainSteps } from '../models/step-runner.ts';
import { WeightAverage } from '../optim/weight-average.ts';
import { anchorRunPaths, type RunConfig, type TrainConfig } from './run-config.ts';

export interface TrainOptions {
  outDir: string;
  /** A validated config for a new run; ignored on resume (the run folder's config.json rules). */
  config?: RunConfig;
  resume?: boolean;
  /**
   * On resume: the parts of a config the user gave again (a --config file, --steps, --seed, ...). What
   * may change (learning rates, steps, cadence) is applied and recorded; the rest must match.
   */
  changes?: ConfigChanges;
  /** Where the changes came from, for messages ("config fix.json"). */
  changesSource?: string;
  log?: (line: string) => void;
  quiet?: boolean;
  /** New runs: train this many passes over the data (sets train.steps once the data size is known). */
  epochs?: number;
  /** For tests: stop (with a checkpoint, as on Ctrl-C) once this step is reached. */
  stopAtStep?: number;
  /** Stops the run after the current step, with a checkpoint, as Ctrl-C does (the result says 'abort'). */
  signal?: AbortSignal;
  /** Whether Ctrl-C and SIGTERM checkpoint and stop the run rather than end the process (default true). */
  catchSignals?: boolean;
  /**
   * Makes the scorer of a run with an eval section (FID while training; metrics/scores.ts's fidScorer), from
   * the run's config as it trains (a resume's included). Needed by runs with eval.
   */
  scorerFor?: (config: RunConfig) => RunScorer;
  /** Hears each sample grid written (its step and PNG file), the step-0 grid of a new run included. */
  onSample?: (step: number, file: string) => void;
  /** Hears each logged step's losses (a queue worker reports them into its job). */
  onProgress?: (step: number, steps: number, losses: Record<string, number>) => void;
  /**
   * Take the run folder's writer lock whoever holds it (a queue worker: the queue gave it this run
   * because the previous holder stopped answering, perhaps on another machine).
   */
  takeOverLock?: boolean;
}

export interface TrainResult {
  runDir: string;
  step: number;
  losses: Record<string, number>;
  /** What stopped the run before its last step (after a checkpoint), if anything did. */
  interrupted: StopReason | null;
  /** A run with an eval section: its lowest FID so far, whose checkpoint is RUN/best (train/best.ts). */
  best?: BestScore;
}

/** Scores of a run folder's newest checkpoint (FID while training), recorded in metrics.jsonl at its step. */
export interface RunScorer {
  score(runDir: string): Promise<Record<string, number>>;
  dispose(): void;
}

/** A process signal, or the caller's AbortSignal. */
export type StopReason = 'SIGINT' | 'SIGTERM' | 'abort';

/** Label-map runs show this many fixed training maps a grid, each as label | result | real. */
const MAP_GRID_ROWS = 8;

/**
 * Writes the sample grid of the given step: fixed noise (one column a class or caption where conditioned),
 * or for label-map runs fixed training maps, each beside its result and its real image.
 */
async function writeSampleGrid(runDir: string, run: Generator & { data: ImageDataset }, config: RunConfig, step: number): Promise<string | null> {
  if (!run.model.generate) return null;
  const file = join(runDir, 'samples', `step-${String(step).padStart(6, '0')}.png`);
  if (run.info.conditioning.kind === 'labelMap') {
    const picked = new Rng(config.seed, 'fixed-maps').permutation(run.data.n).subarray(0, Math.min(MAP_GRID_ROWS, config.train.samples, run.data.n));
    writePng(file, await labelMapTriplets(run, run.data, picked));
    return file;
  }
  const n = config.train.samples;
  const dim = run.info.latentDim;
  const noise = new Rng(config.seed, 'fixed-noise').fillNormal(new Float32Array(n * dim));
  const vectors = Array.from({ length: n }, (_, i) => noise.subarray(i * dim, (i + 1) * dim));
  writePng(file, await renderGrid(run, vectors, await gridConditions(run, n), gridColumns(run.info)));
  return file;
}

/** `draw` with the networks holding the weights' average where the run keeps one (train.ema): what the run shows and scores. */
function withAverages<T>(average: WeightAverage | null, draw: () => Promise<T>): Promise<T> {
  return average ? average.withAverages(draw) : draw();
}

/** Where a run's progress goes: the caller's log as lines where it gave one, else stderr (a bar on a terminal). */
function progressOut(options: TrainOptions): ProgressOut {
  return options.log ? progressLines(options.log) : process.stderr;
}

/** Temp files of atomic writes that a killed run left behind (`x.tmp-PID`), and folders staged so (train/best.ts). */
function removeStaleTempFiles(runDir: string): void {
  for (const sub of ['.', 'samples', 'plots']) {
    const dir = join(runDir, sub);
    if (existsSync(dir)) removeAbandonedTempFiles(dir);
  }
}

function splitHoldout(data: ImageDataset, fraction: number, seed: number): { train: ImageDataset; test: ImageDataset | null } {
  if (!fraction) return { train: data, test: null };
  const order = new Rng(seed, 'holdout').permutation(data.n);
  const k = Math.max(1, Math.round(fraction * data.n));
  return { train: subset(data, order.subarray(k)), test: subset(data, order.subarray(0, k), `${data.name} (held out)`) };
}

function isEmptyDir(dir: string): boolean {
  return readdirSync(dir).length === 0;
}

/**
 * The learning-rate factor of step `step` (0-based): 1, then from train.decayFrom a linear decay that
 * reaches 0 at train.steps (pix2pixHD's niter / niter_decay, per step). A function of the step alone,
 * so a resumed run continues the schedule exactly.
 */
export function learningRateFactor(train: TrainConfig, step: number): number {
  const { decayFrom, steps } = train;
  if (decayFrom === undefined || step < decayFrom || decayFrom >= steps) return 1;
  return Math.max(0, (steps - step) / (steps - decayFrom));
}

/** Whether step `step` (0-based) also updates G: D takes train.dSteps steps per G step. */
export function updatesGenerator(train: TrainConfig, step: number): boolean {
  return (step + 1) % train.dSteps === 0;
}

/** A run's config, description and data, resolved and checked before anything is written. */
interface ResolvedRun {
  config: RunConfig;
  /** On resume: what the user's changes changed (recorded in the run's config history). */
  changed: ChangeLog;
  info: ModelInfo;
  data: ImageDataset;
  testData: ImageDataset | null;
  sampler: BatchSampler;
}

/**
 * Works out what a train command will run: the config (the folder's on resume, with the train-section
 * values that may change), the data fitted to the model, the held-out split and the batch order.
 * Everything that can fail on bad input fails here, before the run folder is touched.
 */
function resolveRun(options: TrainOptions): ResolvedRun {
  const runDir = options.outDir;
  checkRunFolderPath(runDir);
  let config: RunConfig;
  let changed: ChangeLog = {};
  if (options.resume) {
    if (!existsSync(join(runDir, CONFIG_FILE))) {
      throw new GantryError(`${runDir} is not a run folder to resume (no ${CONFIG_FILE}); start a new run there instead`);
    }
    // A run made before its paths were recorded absolute reads them from here, as it always did.
    config = anchorRunPaths(readRunConfig(runDir), process.cwd());
  } else {
    if (!options.config) throw new Error('train: a config is needed for a new run');
    config = anchorRunPaths(options.config, process.cwd());
    if (existsSync(runDir) && !isEmptyDir(runDir)) {
      throw new GantryError(`${runDir} already exists and is not empty; ${resumeAdvice(runDir)}, or choose another run folder`);
    }
  }
  const fit = dataFit(describeModel(config));
  const loadSize = config.train.loadSize;
  if (loadSize && (loadSize[0] < fit.height || loadSize[1] < fit.width)) {
    throw new GantryError(`train.loadSize [${loadSize.join(', ')}] is smaller than the model's images (${fit.height}x${fit.width}); it is the size crops of the model's size are cut from, so make it at least [${fit.height}, ${fit.width}]`);
  }
  const allData = openDataset(options.resume ? runData({ dir: runDir, config }) : config.data, loadSize ? { ...fit, height: loadSize[0], width: loadSize[1] } : fit, options.quiet ? undefined : slowWorkProgress(`reading ${config.data}`, progressOut(options)));
  // Families size their networks for the model's images, which crops of loadSize data are cut to.
  const shape = { ...dataShape(allData), height: fit.height, width: fit.width };
  if (options.resume) {
    const run = config;
    const changes = options.changes && anchorRunPaths(options.changes, process.cwd());
    ({ config, changed } = applyResumeChanges(run, changes, options.changesSource ?? 'the resume', (model) => resolveRunConfig({ ...run, model }, shape).model));
  } else {
    config = resolveRunConfig(config, shape);
  }
  const info = describeModel(config);
  // Families that report held-out scores (a holdout) never train on a seeded fraction of the data.
  const { train, test } = splitHoldout(allData, info.holdout, config.seed);
  const batching = batchDefaults(info);
  const flip = config.train.flip ?? batching.flip;
  const sampler = new BatchSampler(train, config.train.batch, config.seed, flip, loadSize ? { height: info.height, width: info.width } : undefined, batching.captionsPerImage);
  if (options.epochs && !options.resume) config = { ...config, train: { ...config.train, steps: options.epochs * sampler.batchesPerEpoch } };
  // Everything but the batches (grids, held-out scores, styles) sees whole images at the model's size.
  const atModelSize = (ds: ImageDataset) => (loadSize ? reshapeDataset(ds, { height: info.height, width: info.width, channels: ds.channels }) : ds);
  return { config, changed, info, data: atModelSize(train), testData: test && atModelSize(test), sampler };
}

/**
 * A run folder path gantry can write: not a file, not under the kernel's /proc or /sys, inside a folder
 * this process may write. Each problem is one line naming the path and the fix.
 */
function checkRunFolderPath(runDir: string): void {
  // A blank name (an empty --out, or a stray space) would make a folder no one meant, or none at all.
  if (!runDir.trim() || /^\s+$/.test(basename(runDir))) throw new GantryError(`the run folder "${runDir}" has a blank name; give a folder path, e.g. runs/dcgan (gantry train's --out)`);
  if (existsSync(runDir) && !statSync(runDir).isDirectory()) throw new GantryError(`the run folder ${runDir} is a file; choose a folder path for the run`);
  const existing = nearestExisting(runDir);
  if (!statSync(existing).isDirectory()) throw new GantryError(`the run folder ${runDir}: ${existing} is a file, so no folder can be made below it; choose another run folder`);
  const real = realpathSync(existing);
  if (/^\/(proc|sys)(\/|$)/.test(real)) throw new GantryError(`the run folder ${runDir} is under ${real.split('/')[1] === 'proc' ? '/proc' : '/sys'}, the kernel's own files; choose a folder on a disk`);
  try {
    accessSync(existing, constants.W_OK);
  } catch {
    throw new GantryError(`the run folder ${runDir}: ${existing} is not writable by this user; choose a folder you can write to`);
  }
}

/**
 * Opens the run folder for writing and returns the step to continue from: on resume, the checkpoint's
 * weights, optimizer state and metrics up to its step (each row handed to `onLoggedRow`); for a new
 * run, a new folder with config.json, the step-0 checkpoint and sample grid (removed again if any of
 * that fails).
 */
async function openRunFolder(options: TrainOptions, run: ResolvedRun & Generator & { average: WeightAverage | null }, log: (line: string) => void, onLoggedRow: (row: MetricsRow) => void): Promise<{ step: number; release: () => void; discard: () => void; grid?: string | null }> {
  const runDir = options.outDir;
  const writeConfig = () => writeFileAtomic(join(runDir, CONFIG_FILE), JSON.stringify(run.config, null, 2) + '\n');
  const createdDir = !existsSync(runDir);
  try {
    mkdirSync(runDir, { recursive: true });
  } catch (err) {
    throw new GantryError(`cannot create the run folder ${runDir} (${describeError(err)}); choose another run folder`);
  }
  // Nothing is written before the lock is ours; a folder another writer holds is left as it is.
  let release: () => void;
  try {
    release = acquireRunLock(runDir, log, options.takeOverLock);
  } catch (err) {
    // A folder made just now goes again while empty (a full disk refused the lock); one that another writer fills stays.
    if (createdDir) {
      try {
        rmdirSync(runDir);
      } catch {
        // not empty: another writer's
      }
    }
    throw err;
  }
  // What a new run wrote, removed (a folder that was there empty stays, empty); after release().
  const discard = () => {
    rmSync(runDir, { recursive: true, force: true });
    if (!createdDir) mkdirSync(runDir);
  };
  try {
    if (options.resume && hasCheckpoint(runDir)) {
      removeStaleTempFiles(runDir);
      const { step, dataImages } = loadCheckpoint(runDir, run.model, true, run.average);
      // Batches are drawn by position in the data: other data gives other batches from here on.
      if (dataImages !== undefined && dataImages !== run.data.n) log(`warning: ${run.config.data} has ${run.data.n} training images and had ${dataImages} at the checkpoint (step ${step}): the run goes on, but on other batches than an uninterrupted run's; for an exact resume, give it its data as it was`);
      truncateMetrics(runDir, step, onLoggedRow);
      forgetBestAfter(runDir, step);
      writeConfig();
      recordConfigChange(runDir, step, run.changed);
      return { step, release, discard: () => {} };
    }
    // A new run, or one killed before its first checkpoint (config.json only): it starts at step 0.
    if (options.resume) log(`${runDir} has no checkpoint yet (it was stopped before its first); starting it at step 0`);
    removeStaleTempFiles(runDir);
    mkdirSync(join(runDir, 'samples'), { recursive: true });
    mkdirSync(join(runDir, 'plots'), { recursive: true });
    writeConfig();
    truncateMetrics(runDir, -1);
    forgetBestAfter(runDir, -1);
    await saveCheckpoint(runDir, run.model, { step: 0, family: run.config.family, optimizerSteps: optimizerSteps(run.model), dataImages: run.data.n }, run.average);
    const grid = await withAverages(run.average, () => writeSampleGrid(runDir, run, run.config, 0));
    recordConfigChange(runDir, 0, run.changed);
    return { step: 0, release, discard: options.resume ? () => {} : discard, grid };
  } catch (err) {
    release();
    // A new run leaves nothing behind.
    if (!options.resume) discard();
    throw err;
  }
}

/**
 * The generic training loop: a family's train step over seeded batches, with logging, sample grids,
 * loss plots and atomic checkpoints. Ctrl-C (SIGINT/SIGTERM; unless catchSignals is false) and options.signal
 * checkpoint and stop the run after the current step (and its samples and scores); a second Ctrl-C stops
 * the process at once.
 */
export async function train(options: TrainOptions): Promise<TrainResult> {
  const log = options.log ?? ((line: string) => process.stderr.write(line + '\n'));
  const runDir = options.outDir;
  const resolved = resolveRun(options);
  const { config, sampler, testData } = resolved;
  // The scorer first: a missing feature network is named before a run folder is made.
  if (config.eval && !options.scorerFor) throw new Error('train: a run with an eval section needs TrainOptions.scorerFor');
  const scorer = config.eval ? options.scorerFor!(config) : null;
  let model: FamilyInstance;
  try {
    // A resumed run's weights all come from its checkpoint (loadCheckpoint sets each one or fails): not drawn first.
    const resuming = options.resume && hasCheckpoint(runDir);
    const built = { weightsAveraged: config.train.ema !== undefined };
    model = resuming ? withPlaceholderWeights(() => buildModel(config, built)) : buildModel(config, built);
    if (scorer && !model.generate) throw new GantryError(`eval.fid: a ${config.family} run does not generate images to score; leave the eval section out`);
  } catch (err) {
    scorer?.dispose();
    throw err;
  }
  const run = { ...resolved, model, average: null as WeightAverage | null };
  const advice = lowerLearningRateAdvice(config, runDir);
  // What a resumed run logged before, a row at a time: its plots' curves, the losses that set the
  // divergence watch's scale, and its last step's losses and scores (reported even when no step is left).
  const curves = new MetricsCurves();
  const divergence = new DivergenceWatch(log, advice);
  let lastRow: MetricsRow = { step: 0 };
  let step: number;
  let release: () => void;
  let discard: () => void;
  let grid: string | null | undefined;
  try {
    provideReferenceImages(model, resolved.data, config.seed, config.train.samples);
    // A run that starts at step 0 (new, or killed before its first checkpoint) takes --init-from's weights.
    if (config.initFrom && !(options.resume && hasCheckpoint(runDir))) {
      const line = initialiseFrom(model, config.initFrom);
      if (!options.quiet) log(line);
    }
    // Starts as the weights (a resumed run's comes from its checkpoint).
    if (config.train.ema !== undefined) run.average = new WeightAverage(model.networks, config.train.ema);
    ({ step, release, discard, grid } = await openRunFolder(options, run, log, (row) => {
      curves.add(row);
      divergence.recall(row);
      lastRow = row.step === lastRow.step ? { ...lastRow, ...row } : row;
    }));
  } catch (err) {
    run.average?.dispose();
    model.dispose();
    scorer?.dispose();
    throw err;
  }
  const average = run.average;
  if (options.resume && !options.quiet) log(`resuming ${runDir} at step ${step}`);
  if (resolved.data.note && !options.quiet) log(`data: ${resolved.data.note}`);
  if (!options.resume && !options.quiet) for (const line of modelNotices(config, dataShape(resolved.data), options.config!.model)) log(`${config.family}: ${line}`);

  let stopRequested: StopReason | null = options.signal?.aborted ? 'abort' : null;
  const onSignal = (signal: 'SIGINT' | 'SIGTERM') => {
    stopRequested = signal;
    // The step, its scores or its checkpoint may take minutes (FID of 10,000 images on a CPU): a second
    // Ctrl-C is Node's own and ends the process at once, keeping the last checkpoint (writes are atomic).
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    if (!options.quiet) log(`\n${signal === 'SIGINT' ? 'Ctrl-C' : signal}: stopping after the work under way, with a checkpoint (again to stop at once, keeping the last one)`);
  };
  const onAbort = () => {
    stopRequested ??= 'abort';
  };
  const catchSignals = options.catchSignals !== false;
  if (catchSignals) {
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }
  options.signal?.addEventListener('abort', onAbort);

  const { steps, logEvery, sampleEvery, checkpointEvery } = config.train;
  const progress = new Progress(steps, step, config.family, progressOut(options), options.quiet);
  const { step: _step, imagesPerSec: _rate, seconds: _seconds, ...logged } = lastRow;
  let lastLosses: Record<string, number> = logged;
  const startTime = performance.now();
  let lastLogStep = step;
  let lastLogTime = startTime;
  // The checkpoint's step, and the last step whose weights are known to give finite losses (losses
  // logged after step l were computed with the weights of step l - 1).
  let checkpointed = step;
  let verifiedThrough = step - 1;
  const checkpoint = async () => {
    await saveCheckpoint(runDir, model, { step, family: config.family, optimizerSteps: optimizerSteps(model), dataImages: resolved.data.n }, average);
    checkpointed = step;
  };
  const plot = () => writePlots(runDir, curves, `${config.family} — ${runDir}`);
  const scoreEvery = config.eval?.every ?? checkpointEvery;
  // A run with instance features: its styles (styles.json) learned from the weights of the step they were
  // learned at; once a step, for the scores and the run's end alike.
  const c = run.info.conditioning;
  let styles: { at: number; learned: LearnedStyles } | null = null;
  const learnStyles = async (): Promise<LearnedStyles | null> => {
    if (c.kind !== 'labelMap' || c.featNum === 0) return null;
    if (styles?.at !== step) {
      const encoding = options.quiet ? undefined : slowWorkProgress(ENCODE_PROGRESS_LABEL, progressOut(options));
      styles = { at: step, learned: await withAverages(average, () => learnRunStyles(run, resolved.data, runDir, STYLE_CLUSTERS, config.seed, encoding)) };
    }
    return styles.learned;
  };
  // Held-out scores and FID: on the step's metrics row, in metrics.jsonl, in the result's losses.
  const recordScores = (scores: Record<string, number>, note = '') => {
    appendMetrics(runDir, { step, ...scores });
    curves.add({ step, ...scores });
    if (!options.quiet) log(`step ${step}: ${Object.entries(scores).map(([k, v]) => `${k} ${v.toFixed(4)}`).join(' ')}${note}`);
    lastLosses = { ...lastLosses, ...scores };
  };

  // On WebGPU each kind of step is recorded once and replayed; elsewhere steps run as written.
  const stepRunner = new TrainSteps(model, { log: options.quiet ? undefined : log, afterStep: average ? () => average.update() : undefined });
  const firstStep = step;
  let discardRun = false;
  try {
    if (grid) options.onSample?.(0, grid);
    while (step < steps && !stopRequested && step !== options.stopAtStep) {
      const batch = sampler.batchAt(step);
      const lrFactor = learningRateFactor(config.train, step);
      for (const optimizer of Object.values(model.optimizers)) optimizer.lrFactor = lrFactor;
      const losses = stepRunner.run(batch, { step, rng: new Rng(config.seed, 'step', step), updateG: updatesGenerator(config.train, step) });
      tf.dispose([batch.images, batch.labels ?? []]);
      await stepRunner.settle();
      step += 1;
      // Scores read the run folder's checkpoint, so a step that is scored is checkpointed.
      const mustScore = scorer !== null && (step % scoreEvery === 0 || step === steps);
      const mustCheckpoint = step % checkpointEvery === 0 || step === steps || mustScore;
      if (step % logEvery === 0 || mustCheckpoint) {
        const read = await Promise.all(Object.values(losses).map((t) => t.data()));
        lastLosses = Object.fromEntries(Object.keys(losses).map((k, i) => [k, read[i][0] as number]));
        const bad = Object.entries(lastLosses).find(([, v]) => !Number.isFinite(v));
        if (bad) {
          tf.dispose(Object.values(losses));
          // A checkpoint written after the last finite losses may hold the weights that broke: go back one.
          const kept = checkpointed > verifiedThrough ? rollBackCheckpoint(runDir) ?? checkpointed : checkpointed;
          throw new GantryError(`${bad[0]} became ${bad[1]} at step ${step}; the run stopped and ${runDir} keeps its last good checkpoint (step ${kept}). ${advice}`);
        }
        verifiedThrough = step - 1;
        const now = performance.now();
        const row: MetricsRow = { step, ...lastLosses, imagesPerSec: ((step - lastLogStep) * config.train.batch) / ((now - lastLogTime) / 1000), seconds: (now - startTime) / 1000 };
        lastLogStep = step;
        lastLogTime = now;
        appendMetrics(runDir, row);
        curves.add(row);
        divergence.observe(row);
        progress.update(step, Object.entries(lastLosses).map(([k, v]) => `${k} ${v.toFixed(3)}`).join(' '));
        options.onProgress?.(step, steps, lastLosses);
      }
      tf.dispose(Object.values(losses));
      if (step % sampleEvery === 0 || step === steps) {
        const grid = await withAverages(average, () => writeSampleGrid(runDir, run, config, step));
        if (grid) options.onSample?.(step, grid);
        plot();
      }
      if (mustCheckpoint && model.evaluate && testData) recordScores(await withAverages(average, () => model.evaluate!(testData)));
      if (mustCheckpoint) await checkpoint();
      if (mustScore) {
        // Scores draw each held-out object in one of the styles of the weights they score.
        await learnStyles();
        const scores = await scorer.score(runDir);
        const best = keepIfBest(runDir, step, scores.fid);
        recordScores(scores, best ? ` (the lowest so far: kept in ${join(runDir, BEST_DIR)})` : '');
        plot();
      }
      // Let signal handlers run between steps.
      await new Promise((resolve) => setImmediate(resolve));
    }
    if (checkpointed !== step) {
      await checkpoint();
      plot();
    }
    progress.done();
    if (step === steps) {
      // A finished run with instance features learns its styles for translate (gantry features redoes it).
      const learned = await learnStyles();
      if (learned && !options.quiet) log(learnedStylesLine(learned));
    }
    const interrupted = step < steps ? stopRequested : null;
    if (interrupted && !options.quiet) log(`stopped at step ${step}; checkpoint saved; ${resumeAdvice(runDir)}`);
    const best = bestScore(runDir);
    return { runDir, step, losses: lastLosses, interrupted, ...(best ? { best } : {}) };
  } catch (err) {
    // A full or read-only disk: writes are atomic, so the last checkpoint is whole.
    if (err instanceof WriteError) throw new GantryError(`cannot write ${err.path}: ${err.reason}; the run stopped at step ${step} and keeps its checkpoint at step ${checkpointed}: ${err.repair}, then ${resumeAdvice(runDir)}`);
    if (!(err instanceof OutOfMemoryError) && !(err instanceof GpuLimitError)) throw err;
    // A new run that could not take its first step is not kept: it is the config that must change.
    discardRun = step === 0 && firstStep === 0 && !options.resume;
    const { height, width } = run.info;
    const kept = discardRun ? `nothing was trained, so ${runDir} is not kept` : `${runDir} keeps its checkpoint at step ${checkpointed}`;
    // Out of the machine's memory, a GPU may help; past the GPU's limits, the CPU may.
    const elsewhere = err instanceof GpuLimitError ? inWords('the CPU (--device cpu)', 'the CPU (device: "cpu")') : inWords('a GPU (--device webgpu)', 'a GPU (device: "webgpu")');
    const smaller = inWords(`a smaller batch (--batch), image size or network (the model section), or ${elsewhere}`, `a smaller batch (train.batch), image size or network (model), or ${elsewhere}`);
    throw new GantryError(`${config.family} at ${height}x${width}, batch ${config.train.batch}, step ${step + 1}: ${err.summary}; train with ${smaller}; ${kept}`);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    options.signal?.removeEventListener('abort', onAbort);
    stepRunner.dispose();
    average?.dispose();
    model.dispose();
    scorer?.dispose();
    release();
    if (discardRun) discard();
  }
}

/** What to do about a diverged run, with the numbers filled in: following it continues the run with lower learning rates. */
function lowerLearningRateAdvice(config: RunConfig, runDir: string): string {
  return `Lower the learning rate: ${resumeAdvice(runDir, { model: lowerLearningRates(config) })} (from its last checkpoint)`;
}
