import * as tf from '@tensorflow/tfjs-core';
import { existsSync, readFileSync } from 'node:fs';
import { Rng } from '../engine/rng.ts';
import { dataFolder, openDataset, type ImageDataset } from '../data/index.ts';
import { makeBatch } from '../data/sampler.ts';
import { join } from 'node:path';
import { GantryError, describeError } from '../errors.ts';
import { buildModel, describeModel, resolveModelSection } from '../models/index.ts';
import { withPlaceholderWeights } from '../nn/init.ts';
import type { DataShape } from '../data/batch.ts';
import type { ModelInfo } from '../models/condition.ts';
import type { FamilyInstance } from '../models/family.ts';
import { loadCheckpoint, type CheckpointState } from './checkpoint.ts';
import { validateRunConfig, type RunConfig } from './run-config.ts';

export const CONFIG_FILE = 'config.json';

export { buildModel, describeModel } from '../models/index.ts';

/** A run config with the model section resolved against the data (channels etc. filled in). */
export function resolveRunConfig(config: RunConfig, data: DataShape): RunConfig {
  return { ...config, model: resolveModelSection(config, data) };
}

export function readRunConfig(runDir: string): RunConfig {
  const path = join(runDir, CONFIG_FILE);
  if (!existsSync(path)) {
    const why = existsSync(runDir) ? `no ${CONFIG_FILE}` : 'no such folder';
    throw new GantryError(`${runDir} is not a gantry run folder (${why}); give the folder a training run wrote into (gantry train's --out)`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new GantryError(`${path} is not valid JSON (${describeError(err)}); restore it or start a new run`);
  }
  return validateRunConfig(raw, path);
}

/**
 * The seeded choice of real images that families sampling from real images (U-Net skips) are handed: the
 * same seed gives the same references in training grids, later sampling and an exported generator.
 */
export function referenceImages(data: ImageDataset, seed: number, count: number): tf.Tensor4D {
  const ref = makeBatch(data, new Rng(seed, 'reference').permutation(data.n).subarray(0, Math.min(count, data.n)));
  ref.labels?.dispose();
  return ref.images;
}

/** Hands a model that samples from real images its references (referenceImages); others are left alone. */
export function provideReferenceImages(model: FamilyInstance, data: ImageDataset, seed: number, count: number): void {
  if (!model.useReferenceImages) return;
  const images = referenceImages(data, seed, count);
  model.useReferenceImages(images);
  images.dispose();
}

export interface OpenedRun {
  /** The run folder. */
  dir: string;
  config: RunConfig;
  info: ModelInfo;
  model: FamilyInstance;
  state: CheckpointState;
}

/**
 * The data SPEC a run trained on, for a command that reads the run's own data (reference images, held-out
 * maps, evaluation captions, styles): a data folder that is no longer there is named as the run's, with
 * how to tell the run where it went.
 */
export function runData(run: { dir: string; config: RunConfig }): string {
  const path = dataFolder(run.config.data);
  if (path && !existsSync(path)) throw new GantryError(`${run.dir} trained on ${run.config.data}, and ${path} is not there now: put the data back, or write where it is now into "data" in ${join(run.dir, CONFIG_FILE)}`);
  return run.config.data;
}

/** Opens a finished or running run for sampling: its config and its latest weights. */
export function openRun(runDir: string): OpenedRun {
  const config = readRunConfig(runDir);
  const info = describeModel(config);
  // Every network's weights come from the checkpoint (loadCheckpoint sets each one or fails).
  const model = withPlaceholderWeights(() => buildModel(config));
  try {
    if (model.useReferenceImages) provideReferenceImages(model, openDataset(runData({ dir: runDir, config }), info), config.seed, config.train.samples);
    const state = loadCheckpoint(runDir, model, false);
    return { dir: runDir, config, info, model, state };
  } catch (err) {
    model.dispose();
    throw err;
  }
}
