import * as tf from '@tensorflow/tfjs-core';
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Rng } from '../engine/rng.ts';
import { GantryError } from '../errors.ts';
import { openDataset, type ImageDataset } from '../data/index.ts';
import { subset } from '../data/dataset.ts';
import { BatchSampler } from '../data/sampler.ts';
import { writeFileAtomic } from '../io/atomic.ts';
import { writePng } from '../io/png.ts';
import type { ModelInfo } from '../models/condition.ts';
import { conditionTensor, gridColumns, gridConditions, type Generator } from '../explore/conditions.ts';
import { sampleLatent } from '../nn/noise.ts';
import { hasCheckpoint, loadCheckpoint, optimizerSteps, saveCheckpoint } from './checkpoint.ts';
import { imageGrid } from './grid.ts';
import { appendMetrics, truncateMetrics, type MetricsRow } from './metrics.ts';
import { lossCurvesSvg } from './plots.ts';
import { Progress } from './progress.ts';
import { buildModel, CONFIG_FILE, describeModel, provideReferenceImages, readRunConfig, resolveRunConfig } from './run.ts';
import type { RunConfig, TrainConfig } from './run-config.ts';

export interface TrainOptions {
  outDir: string;
  /** A validated config for a new run; ignored on resume (the run folder's config.json rules). */
  config?: RunConfig;
  resume?: boolean;
  /** On resume: train-section values the user set again (steps may grow; others must match). */
  overrides?: Partial<TrainConfig>;
  log?: (line: string) => void;
  quiet?: boolean;
  /** New runs: train this many passes over the data (sets train.steps once the data size is known). */
  epochs?: number;
  /** For tests: stop (with a checkpoint, as on Ctrl-C) once this step is reached. */
  stopAtStep?: number;
}

export interface TrainResult {
  runDir: string;
  step: number;
  losses: Record<string, number>;
  /** The signal that stopped the run before its last step (after a checkpoint), if one did. */
  interrupted: 'SIGINT' | 'SIGTERM' | null;
}

/** Writes the fixed-noise sample grid of the given step (one column a class or caption where conditioned). */
async function writeSampleGrid(runDir: string, run: Generator, config: RunConfig, step: number): Promise<void> {
  if (!run.model.generate) return;
  const n = config.train.samples;
  const z = sampleLatent(new Rng(config.seed, 'fixed-noise'), n, run.info.latentDim);
  const images = tf.tidy(() => run.model.generate!(z, conditionTensor(gridConditions(run, n))));
  writePng(join(runDir, 'samples', `step-${String(step).padStart(6, '0')}.png`), await imageGrid(images, gridColumns(run.info)));
  tf.dispose([z, images]);
}

/** Temp files of atomic writes that a killed run left behind (`x.tmp-PID`). */
function removeStaleTempFiles(runDir: string): void {
  for (const sub of ['.', 'samples', 'plots']) {
    const dir = join(runDir, sub);
    if (!existsSync(dir)) continue;
    for (const f of readdirSync(dir)) if (/\.tmp-\d+$/.test(f)) rmSync(join(dir, f), { force: true });
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
  let config: RunConfig;
  if (options.resume) {
    if (!hasCheckpoint(runDir)) throw new GantryError(`--resume: ${runDir} has no checkpoint to resume from; start it without --resume`);
    config = readRunConfig(runDir);
    for (const [key, value] of Object.entries(options.overrides ?? {})) {
      const k = key as keyof TrainConfig;
      if (value === undefined || value === config.train[k]) continue;
      if (k === 'batch') throw new GantryError(`--resume: the run was trained with batch ${config.train.batch}; resuming with --batch ${value} would not continue it exactly`);
      config = { ...config, train: { ...config.train, [k]: value } };
    }
  } else {
    if (!options.config) throw new Error('train: a config is needed for a new run');
    config = options.config;
    if (existsSync(runDir) && !isEmptyDir(runDir)) {
      throw new GantryError(`${runDir} already exists and is not empty; pass --resume to continue that run, or choose another --out`);
    }
  }
  const allData = openDataset(config.data, describeModel(config));
  if (!options.resume) config = resolveRunConfig(config, { height: allData.height, width: allData.width, channels: allData.channels, numClasses: allData.classNames?.length ?? 0, classNames: allData.classNames ?? [], captions: allData.captions ?? undefined });
  const info = describeModel(config);
  // Families that report held-out scores (a holdout) never train on a seeded fraction of the data.
  const { train: data, test: testData } = splitHoldout(allData, info.holdout, config.seed);
  const sampler = new BatchSampler(data, config.train.batch, config.seed);
  if (options.epochs && !options.resume) config = { ...config, train: { ...config.train, steps: options.epochs * sampler.batchesPerEpoch } };
  return { config, info, data, testData, sampler };
}

/**
 * Opens the run folder for writing and returns the step to continue from: on resume, the checkpoint's
 * weights, optimizer state and metrics up to its step; for a new run, a new folder with config.json,
 * the step-0 checkpoint and sample grid (removed again if any of that fails).
 */
async function openRunFolder(options: TrainOptions, run: ResolvedRun & Generator): Promise<{ step: number; history: MetricsRow[] }> {
  const runDir = options.outDir;
  const writeConfig = () => writeFileAtomic(join(runDir, CONFIG_FILE), JSON.stringify(run.config, null, 2) + '\n');
  if (options.resume) {
    removeStaleTempFiles(runDir);
    const step = loadCheckpoint(runDir, run.model).step;
    const history = truncateMetrics(runDir, step);
    writeConfig();
    return { step, history };
  }
  const createdDir = !existsSync(runDir);
  try {
    mkdirSync(join(runDir, 'samples'), { recursive: true });
    mkdirSync(join(runDir, 'plots'), { recursive: true });
    writeConfig();
    truncateMetrics(runDir, -1);
    await saveCheckpoint(runDir, run.model, { step: 0, family: run.config.family, optimizerSteps: optimizerSteps(run.model) });
    await writeSampleGrid(runDir, run, run.config, 0);
    return { step: 0, history: [] };
  } catch (err) {
    if (createdDir) rmSync(runDir, { recursive: true, force: true });
    throw err;
  }
}

/**
 * The generic training loop: a family's train step over seeded batches, with logging, sample grids,
 * loss plots and atomic checkpoints. Ctrl-C (SIGINT/SIGTERM) checkpoints and stops after the current step.
 */
export async function train(options: TrainOptions): Promise<TrainResult> {
  const log = options.log ?? ((line: string) => process.stderr.write(line + '\n'));
  const runDir = options.outDir;
  const resolved = resolveRun(options);
  const { config, sampler, testData } = resolved;
  const model = buildModel(config);
  const run = { ...resolved, model };
  let step: number;
  let history: MetricsRow[];
  try {
    provideReferenceImages(model, resolved.data, config.seed, config.train.samples);
    ({ step, history } = await openRunFolder(options, run));
  } catch (err) {
    model.dispose();
    throw err;
  }
  if (options.resume && !options.quiet) log(`resuming ${runDir} at step ${step}`);

  let stopRequested: 'SIGINT' | 'SIGTERM' | null = null;
  const onSignal = (signal: 'SIGINT' | 'SIGTERM') => {
    stopRequested = signal;
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const { steps, logEvery, sampleEvery, checkpointEvery } = config.train;
  const progress = new Progress(steps, step, config.family, process.stderr, options.quiet);
  let lastLosses: Record<string, number> = {};
  const startTime = performance.now();
  let lastLogStep = step;
  let lastLogTime = startTime;
  const checkpoint = () => saveCheckpoint(runDir, model, { step, family: config.family, optimizerSteps: optimizerSteps(model) });
  const plot = () => writeFileAtomic(join(runDir, 'plots', 'losses.svg'), lossCurvesSvg(history, `${config.family} — ${runDir}`));

  try {
    while (step < steps && !stopRequested && step !== options.stopAtStep) {
      const batch = sampler.batchAt(step);
      const lrFactor = learningRateFactor(config.train, step);
      for (const optimizer of Object.values(model.optimizers)) optimizer.lrFactor = lrFactor;
      const losses = model.trainStep(batch, { step, rng: new Rng(config.seed, 'step', step), updateG: updatesGenerator(config.train, step) });
      tf.dispose([batch.images, batch.labels ?? []]);
      step += 1;
      const mustCheckpoint = step % checkpointEvery === 0 || step === steps;
      if (step % logEvery === 0 || mustCheckpoint) {
        const read = await Promise.all(Object.values(losses).map((t) => t.data()));
        lastLosses = Object.fromEntries(Object.keys(losses).map((k, i) => [k, read[i][0] as number]));
        const bad = Object.entries(lastLosses).find(([, v]) => !Number.isFinite(v));
        if (bad) {
          tf.dispose(Object.values(losses));
          throw new GantryError(`${bad[0]} became ${bad[1]} at step ${step}; the run stopped and ${runDir} keeps its last good checkpoint. Lower model.lr (in a --config file) and rerun with --resume`);
        }
        const now = performance.now();
        const row: MetricsRow = { step, ...lastLosses, imagesPerSec: ((step - lastLogStep) * config.train.batch) / ((now - lastLogTime) / 1000), seconds: (now - startTime) / 1000 };
        lastLogStep = step;
        lastLogTime = now;
        appendMetrics(runDir, row);
        history.push(row);
        progress.update(step, Object.entries(lastLosses).map(([k, v]) => `${k} ${v.toFixed(3)}`).join(' '));
      }
      tf.dispose(Object.values(losses));
      if (step % sampleEvery === 0 || step === steps) {
        await writeSampleGrid(runDir, run, config, step);
        plot();
      }
      if (mustCheckpoint && model.evaluate && testData) {
        const scores = await model.evaluate(testData);
        Object.assign(history[history.length - 1] ?? {}, scores);
        appendMetrics(runDir, { step, ...scores });
        if (!options.quiet) log(`step ${step}: ${Object.entries(scores).map(([k, v]) => `${k} ${v.toFixed(4)}`).join(' ')}`);
        lastLosses = { ...lastLosses, ...scores };
      }
      if (mustCheckpoint) await checkpoint();
      // Let signal handlers run between steps.
      await new Promise((resolve) => setImmediate(resolve));
    }
    if (step % checkpointEvery !== 0 && step !== steps) {
      await checkpoint();
      plot();
    }
    progress.done();
    const interrupted = step < steps ? stopRequested : null;
    if (interrupted && !options.quiet) log(`stopped at step ${step}; checkpoint saved. Continue with --resume`);
    return { runDir, step, losses: lastLosses, interrupted };
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    model.dispose();
  }
}
