import * as tf from '@tensorflow/tfjs-core';
import { existsSync, linkSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { GantryError, describeError } from '../errors.ts';
import { readSafetensors, writeSafetensors, type NamedArray } from '../io/safetensors.ts';
import type { FamilyInstance } from '../models/family.ts';

export const CHECKPOINT_FILE = 'checkpoint.safetensors';
/** The checkpoint before the latest, kept (as a second name of its file) until the next one is written. */
export const PREVIOUS_CHECKPOINT_FILE = 'checkpoint.previous.safetensors';

/** What a checkpoint holds besides tensors. Randomness is a function of (seed, step), so this is all. */
export interface CheckpointState {
  step: number;
  family: string;
  optimizerSteps: Record<string, number>;
}

/**
 * Reads are asynchronous (tensor.data()): the WebGPU backend has no synchronous read in Node.
 *
 * Every network's tensors (`net/<network>/<name>`), every optimizer's moments
 * (`opt/<network>/m|v/<param name>`) and the state, in one safetensors file written atomically. The
 * checkpoint it replaces stays as checkpoint.previous.safetensors (a hard link: no copy), so a run whose
 * latest weights turn out broken (NaN at the next log) can go back one (rollBackCheckpoint).
 */
export async function saveCheckpoint(runDir: string, model: FamilyInstance, state: CheckpointState): Promise<void> {
  model.syncVariables?.();
  const entries: [string, tf.Tensor][] = [];
  const put = (name: string, t: tf.Tensor) => entries.push([name, t]);
  for (const [net, params] of Object.entries(model.networks)) {
    for (const [name, v] of params.named()) put(`net/${net}/${name}`, v);
    const opt = model.optimizers[net];
    if (!opt) continue;
    const names = params.trainableNames();
    opt.m.forEach((m, i) => put(`opt/${net}/m/${names[i]}`, m));
    opt.v.forEach((v, i) => put(`opt/${net}/v/${names[i]}`, v));
  }
  const values = await Promise.all(entries.map(([, t]) => t.data()));
  const tensors: Record<string, NamedArray> = {};
  entries.forEach(([name, t], i) => (tensors[name] = { shape: t.shape, data: values[i] as Float32Array }));
  const path = join(runDir, CHECKPOINT_FILE);
  const previous = join(runDir, PREVIOUS_CHECKPOINT_FILE);
  rmSync(previous, { force: true });
  if (existsSync(path)) linkSync(path, previous);
  writeSafetensors(path, tensors, { gantry: JSON.stringify(state) });
}

/** Puts the previous checkpoint back as the run's checkpoint; returns its step, or null where there is none. */
export function rollBackCheckpoint(runDir: string): number | null {
  const previous = join(runDir, PREVIOUS_CHECKPOINT_FILE);
  if (!existsSync(previous)) return null;
  renameSync(previous, join(runDir, CHECKPOINT_FILE));
  return checkpointStep(runDir);
}

/** The step a run's checkpoint was written at (from its metadata alone). */
export function checkpointStep(runDir: string): number {
  const path = join(runDir, CHECKPOINT_FILE);
  return (JSON.parse(readSafetensors(path, `checkpoint ${path}`).metadata.gantry ?? '{}') as CheckpointState).step;
}

export function hasCheckpoint(runDir: string): boolean {
  return existsSync(join(runDir, CHECKPOINT_FILE));
}

/** Restores weights (and, when `withOptimizers`, optimizer moments and steps); returns the state. */
export function loadCheckpoint(runDir: string, model: FamilyInstance, withOptimizers = true): CheckpointState {
  const path = join(runDir, CHECKPOINT_FILE);
  const what = `checkpoint ${path}`;
  if (!existsSync(path)) {
    if (existsSync(join(runDir, 'config.json'))) throw new GantryError(`${runDir} has no checkpoint yet (its training stopped before the first); continue it with \`gantry train --resume --out ${runDir}\``);
    throw new GantryError(`${runDir} has no ${CHECKPOINT_FILE}; train first with \`gantry train ... --out ${runDir}\``);
  }
  let file: ReturnType<typeof readSafetensors>;
  try {
    file = readSafetensors(path, what);
  } catch (err) {
    // gantry writes checkpoints atomically, so a damaged one was damaged afterwards (a disk, a copy, an edit).
    throw new GantryError(`${describeError(err)}; restore ${CHECKPOINT_FILE} from a copy, or train the run again into a new --out`);
  }
  let state: CheckpointState;
  try {
    state = JSON.parse(file.metadata.gantry ?? '');
  } catch {
    throw new GantryError(`${what} has no gantry state in its metadata; it was not written by gantry train`);
  }
  const assign = (name: string, v: tf.Variable) => {
    const t = file.tensors[name];
    if (!t) throw new GantryError(`${what} lacks tensor ${name}; it belongs to a different model configuration than ${join(runDir, 'config.json')}`);
    if (t.shape.join('x') !== v.shape.join('x')) {
      throw new GantryError(`${what}: tensor ${name} is ${t.shape.join('x')} but the model built from config.json expects ${v.shape.join('x')}`);
    }
    tf.tidy(() => v.assign(tf.tensor(t.data, t.shape)));
  };
  for (const [net, params] of Object.entries(model.networks)) {
    for (const [name, v] of params.named()) assign(`net/${net}/${name}`, v);
    const opt = model.optimizers[net];
    if (!opt || !withOptimizers) continue;
    const names = params.trainableNames();
    opt.m.forEach((m, i) => assign(`opt/${net}/m/${names[i]}`, m));
    opt.v.forEach((v, i) => assign(`opt/${net}/v/${names[i]}`, v));
    opt.step = state.optimizerSteps[net] ?? 0;
  }
  return state;
}

export function optimizerSteps(model: FamilyInstance): Record<string, number> {
  return Object.fromEntries(Object.entries(model.optimizers).map(([k, o]) => [k, o.step]));
}
