import * as tf from '@tensorflow/tfjs-core';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { existsSync, linkSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { GantryError, describeError, given, resumeAdvice } from '../errors.ts';
import { arrayFor, type NamedArray, type SafetensorsEntry } from '../io/safetensors.ts';
import { readSafetensors, readSafetensorsMetadata, writeSafetensors } from '../io/safetensors-file.ts';
import { floatValues } from '../kernels/cpu/backend-data.ts';
import { floatsForTensor } from '../kernels/cpu/float-pool.ts';
import type { FamilyInstance } from '../models/family.ts';
import { assignTensor, networkTensorName } from '../models/weights.ts';
import { AVERAGE_PREFIX, averagedNetworks, averageTensorName, type WeightAverage } from '../optim/weight-average.ts';

export const CHECKPOINT_FILE = 'checkpoint.safetensors';
/** The checkpoint before the latest, kept (as a second name of its file) until the next one is written. */
export const PREVIOUS_CHECKPOINT_FILE = 'checkpoint.previous.safetensors';
/** Where a checkpoint keeps optimizer moments: `opt/<network>/m|v/<param name>`. */
const OPTIMIZER_PREFIX = 'opt/';

/** What a checkpoint holds besides tensors. Randomness is a function of (seed, step), so this is all. */
export interface CheckpointState {
  step: number;
  family: string;
  optimizerSteps: Record<string, number>;
  /** The checkpoint holds an average of the weights (train.ema): `ema/<network>/<name>`, what the run draws with. */
  averaged?: boolean;
  /** How many images the batches were drawn from (the training data, a holdout aside): a resume on other data is told. */
  dataImages?: number;
}

/**
 * Reads are asynchronous (tensor.data()): the WebGPU backend has no synchronous read in Node.
 *
 * Every network's tensors (`net/<network>/<name>`), every optimizer's moments
 * (`opt/<network>/m|v/<param name>`), the weights' average where the run keeps one
 * (`ema/<network>/<name>`) and the state, in one safetensors file written atomically. The
 * checkpoint it replaces stays as checkpoint.previous.safetensors (a hard link: no copy), so a run whose
 * latest weights turn out broken (NaN at the next log) can go back one (rollBackCheckpoint).
 */
export async function saveCheckpoint(runDir: string, model: FamilyInstance, state: CheckpointState, average: WeightAverage | null = null): Promise<void> {
  model.syncVariables?.();
  const entries: [string, tf.Tensor][] = [];
  const put = (name: string, t: tf.Tensor) => entries.push([name, t]);
  if (average) {
    for (const [name, t] of average.named()) put(name, t);
    state = { ...state, averaged: true };
  }
  for (const [net, params] of Object.entries(model.networks)) {
    for (const [name, v] of params.named()) put(networkTensorName(net, name), v);
    const opt = model.optimizers[net];
    if (!opt) continue;
    const names = params.trainableNames();
    opt.m.forEach((m, i) => put(`${OPTIMIZER_PREFIX}${net}/m/${names[i]}`, m));
    opt.v.forEach((v, i) => put(`${OPTIMIZER_PREFIX}${net}/v/${names[i]}`, v));
  }
  // On the cpu backend the tensors' own arrays, written below with no await between: read with
  // data(), they would count as handed out for good, and Adam would then write its next update into new
  // arrays instead of in place (2.2 GB of fresh memory after each checkpoint of pix2pixHD's official G).
  const backend = tf.getBackend() === 'cpu' ? tf.backend() as MathBackendCPU : null;
  const values = backend
    ? entries.map(([, t]) => floatValues(backend, t) ?? t.dataSync())
    : await Promise.all(entries.map(([, t]) => t.data()));
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
  return stepOf(join(runDir, CHECKPOINT_FILE));
}

/** The step in a checkpoint file's metadata; its header is checked whole (every tensor within the file). */
function stepOf(path: string): number {
  return (JSON.parse(readSafetensorsMetadata(path, `checkpoint ${path}`).gantry ?? '{}') as CheckpointState).step;
}

/** The run's previous checkpoint and its step, where its layout is whole; null where there is none such. */
function wholePreviousCheckpoint(runDir: string): { path: string; step: number } | null {
  const path = join(runDir, PREVIOUS_CHECKPOINT_FILE);
  if (!existsSync(path)) return null;
  try {
    const step = stepOf(path);
    return typeof step === 'number' ? { path, step } : null;
  } catch {
    return null;
  }
}

export function hasCheckpoint(runDir: string): boolean {
  return existsSync(join(runDir, CHECKPOINT_FILE));
}

/**
 * Restores weights (and, when `withOptimizers`, optimizer moments and steps, and the weights' average into
 * `average`); returns the state. Opened to draw (`withOptimizers` false), a run that keeps an average
 * takes it as its averaged networks' weights: the average is what it draws, scores and exports with.
 */
export function loadCheckpoint(runDir: string, model: FamilyInstance, withOptimizers = true, average: WeightAverage | null = null): CheckpointState {
  const path = join(runDir, CHECKPOINT_FILE);
  const what = `checkpoint ${path}`;
  if (!existsSync(path)) {
    if (existsSync(join(runDir, 'config.json'))) throw new GantryError(`${runDir} has no checkpoint yet (its training stopped before the first); ${resumeAdvice(runDir)}`);
    throw new GantryError(`${runDir} has no ${CHECKPOINT_FILE}; train a run into that folder first`);
  }
  let file: ReturnType<typeof readSafetensors>;
  // Opened to draw, the names each tensor of the model is read from: the averages where there are some.
  const drawnFrom = new Map<string, string>();
  try {
    if (!withOptimizers && (JSON.parse(readSafetensorsMetadata(path, what).gantry ?? '{}') as Partial<CheckpointState>).averaged) {
      for (const [net, params] of averagedNetworks(model.networks)) {
        for (const [name] of params.named()) drawnFrom.set(networkTensorName(net, name), averageTensorName(net, name));
      }
    }
    const drawing = new Set(drawnFrom.values());
    // A run opened to draw (withOptimizers false) leaves Adam's moments, twice its weights, unread, and
    // where it keeps an average, the averaged networks' last weights.
    const wanted = (name: string) => withOptimizers || (!name.startsWith(OPTIMIZER_PREFIX) && !drawnFrom.has(name) && (!name.startsWith(AVERAGE_PREFIX) || drawing.has(name)));
    file = readSafetensors(path, what, (e) => (wanted(e.name) ? arrayForVariable(e) : null));
  } catch (err) {
    // gantry writes checkpoints atomically, so a damaged one was damaged afterwards (a disk, a copy, an edit).
    const previous = wholePreviousCheckpoint(runDir);
    const back = previous ? `go back to the one before it (step ${previous.step}) with \`mv ${previous.path} ${path}\`, ` : '';
    throw new GantryError(`${describeError(err)}; ${back}restore ${CHECKPOINT_FILE} from a copy, or train the run again into a new folder`);
  }
  let state: CheckpointState;
  try {
    state = JSON.parse(file.metadata.gantry ?? '');
  } catch {
    throw new GantryError(`${what} has no gantry state in its metadata; it was not written by gantry train`);
  }
  const fix = `it belongs to a different model configuration than ${join(runDir, 'config.json')}`;
  const assign = (name: string, v: tf.Variable) => assignTensor(v, file.tensors, name, what, fix);
  for (const [net, params] of Object.entries(model.networks)) {
    for (const [name, v] of params.named()) {
      const tensorName = networkTensorName(net, name);
      assign(drawnFrom.get(tensorName) ?? tensorName, v);
    }
    const opt = model.optimizers[net];
    if (!opt || !withOptimizers) continue;
    const names = params.trainableNames();
    opt.m.forEach((m, i) => assign(`${OPTIMIZER_PREFIX}${net}/m/${names[i]}`, m));
    opt.v.forEach((v, i) => assign(`${OPTIMIZER_PREFIX}${net}/v/${names[i]}`, v));
    opt.step = state.optimizerSteps[net] ?? 0;
  }
  if (average) {
    if (!state.averaged) throw new GantryError(`${what} holds no average of the weights, but ${join(runDir, 'config.json')} asks for one (train.ema); ${fix.replace('it belongs', 'the checkpoint belongs')}`);
    for (const [name, v] of average.named()) assign(name, v);
    average.count = state.step;
  }
  return state;
}

/**
 * Into the arrays the variables will keep (the pool's): Adam then updates them in place from the first
 * step, rather than leaving the loaded weights and moments to the collector in the middle of it.
 */
function arrayForVariable(e: SafetensorsEntry): Float32Array | Int32Array {
  return e.dtype === 'F32' ? floatsForTensor((e.end - e.begin) / 4) : arrayFor(e);
}

export function optimizerSteps(model: FamilyInstance): Record<string, number> {
  return Object.fromEntries(Object.entries(model.optimizers).map(([k, o]) => [k, o.step]));
}

/**
 * Starts a new run from another run's latest weights (`--init-from RUN`): every tensor of this model's
 * networks that the other checkpoint has under the same network and name, with the same shape, is copied;
 * the rest keep their seeded initial values (pix2pixHD's local run takes a global run's G1 and D this way,
 * as the official --load_pretrain). A tensor of the same name but another shape, or nothing in common, is
 * one error. Returns one line saying what was taken.
 */
export function initialiseFrom(model: FamilyInstance, fromDir: string): string {
  const path = join(fromDir, CHECKPOINT_FILE);
  if (!existsSync(path)) throw new GantryError(`${given('initFrom', fromDir)}: no ${CHECKPOINT_FILE} there; name the folder of a trained run`);
  let file: ReturnType<typeof readSafetensors>;
  try {
    // This model's tensors alone: the other run's optimizer moments are twice its weights and not taken.
    const wanted = new Set(Object.entries(model.networks).flatMap(([net, params]) => params.named().map(([name]) => networkTensorName(net, name))));
    file = readSafetensors(path, `checkpoint ${path}`, (e) => (wanted.has(e.name) ? arrayForVariable(e) : null));
  } catch (err) {
    throw new GantryError(`${given('initFrom', fromDir)}: ${describeError(err)}`);
  }
  const counts: string[] = [];
  let total = 0;
  for (const [net, params] of Object.entries(model.networks)) {
    let taken = 0;
    for (const [name, v] of params.named()) {
      const t = file.tensors[networkTensorName(net, name)];
      if (!t) continue;
      if (t.shape.join('x') !== v.shape.join('x')) {
        throw new GantryError(`${given('initFrom', fromDir)}: ${net} tensor ${name} is ${t.shape.join('x')} there but ${v.shape.join('x')} in this model; build this run with sizes that fit that run's (a pix2pixhd local run takes a global run of twice its ngf)`);
      }
      tf.tidy(() => v.assign(tf.tensor(t.data, t.shape)));
      taken++;
    }
    total += taken;
    counts.push(`${net} ${taken}/${params.named().length}`);
  }
  if (total === 0) throw new GantryError(`${given('initFrom', fromDir)}: its checkpoint has no tensor of this model (another family or network?); name a run of the same family`);
  return `initialised from ${fromDir}: ${counts.join(', ')} tensors (the rest as seeded)`;
}
