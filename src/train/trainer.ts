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
import type { FamilyInstance } from '../models/family.ts';
import { hasCheckpoint, loadCheckpoint, optimizerSteps, saveCheckpoint } from './checkpoint.ts';
import { imageGrid } from './grid.ts';
import { appendMetrics, truncateMetrics, type MetricsRow } from './metrics.ts';
import { lossCurvesSvg } from './plots.ts';
import { Progress } from './progress.ts';
import { buildModel, CONFIG_FILE, provideReferenceImages, readRunConfig, resolveRunConfig } from './run.ts';
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
  interrupted: boolean;
}

/** Writes the fixed-noise sample grid of the given step. */
async function writeSampleGrid(runDir: string, model: FamilyInstance, config: RunConfig, step: number): Promise<void> {
  if (!model.generate) return;
  const n = config.train.samples;
  const z = tf.tensor2d(new Rng(config.seed, 'fixed-noise').fillNormal(new Float32Array(n * model.latentDim)), [n, model.latentDim]);
  const images = model.generate(z);
  // Conditional families draw image i of class (or caption) i % K: one column each.
  writePng(join(runDir, 'samples', `step-${String(step).padStart(6, '0')}.png`), await imageGrid(images, model.gridColumns ?? model.numClasses));
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
 * The generic training loop: a family's train step over seeded batches, with logging, sample grids,
 * loss plots and atomic checkpoints. Ctrl-C (SIGINT/SIGTERM) checkpoints and stops after the current step.
 */
export async function train(options: TrainOptions): Promise<TrainResult> {
  const log = options.log ?? ((line: string) => process.stderr.write(line + '\n'));
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

  // Everything that can fail on bad input happens before the run folder is created.
  const modelSize = Number(config.model.imageSize);
  const allData = openDataset(config.data, { size: modelSize, channels: Number(config.model.channels ?? 0) });
  if (!options.resume) config = resolveRunConfig(config, { height: allData.height, width: allData.width, channels: allData.channels, numClasses: allData.classNames?.length ?? 0, classNames: allData.classNames ?? [], captions: allData.captions ?? undefined });
  // Families that report held-out scores (model.holdout) never train on a seeded fraction of the data.
  const { train: data, test: testData } = splitHoldout(allData, Number(config.model.holdout ?? 0), config.seed);
  const sampler = new BatchSampler(data, config.train.batch, config.seed);
  if (options.epochs && !options.resume) config = { ...config, train: { ...config.train, steps: options.epochs * sampler.batchesPerEpoch } };
  const model = buildModel(config);
  provideReferenceImages(model, data, config.seed, config.train.samples);

  const createdDir = !existsSync(runDir);
  let step = 0;
  let history: MetricsRow[] = [];
  try {
    if (options.resume) {
      removeStaleTempFiles(runDir);
      step = loadCheckpoint(runDir, model).step;
      history = truncateMetrics(runDir, step);
      if (!options.quiet) log(`resuming ${runDir} at step ${step}`);
      writeFileAtomic(join(runDir, CONFIG_FILE), JSON.stringify(config, null, 2) + '\n');
    } else {
      mkdirSync(join(runDir, 'samples'), { recursive: true });
      mkdirSync(join(runDir, 'plots'), { recursive: true });
      writeFileAtomic(join(runDir, CONFIG_FILE), JSON.stringify(config, null, 2) + '\n');
      truncateMetrics(runDir, -1);
      await saveCheckpoint(runDir, model, { step: 0, family: config.family, optimizerSteps: optimizerSteps(model) });
      await writeSampleGrid(runDir, model, config, 0);
    }
  } catch (err) {
    model.dispose();
    if (createdDir && !options.resume) rmSync(runDir, { recursive: true, force: true });
    throw err;
  }

  let stopRequested = false;
  const onSignal = () => {
    stopRequested = true;
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
      const losses = model.trainStep(batch, { step, rng: new Rng(config.seed, 'step', step) });
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
        await writeSampleGrid(runDir, model, config, step);
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
    if (stopRequested && !options.quiet) log(`stopped at step ${step}; checkpoint saved. Continue with --resume`);
    return { runDir, step, losses: lastLosses, interrupted: stopRequested };
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    model.dispose();
  }
}
