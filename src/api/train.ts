import { GantryError } from '../errors.ts';
import { initEngine, type Device } from '../engine/index.ts';
import type { FamilyName, ModelConfigs } from '../models/index.ts';
import { fidScorer } from '../metrics/scores.ts';
import { trainSchema, validateRunConfig, type EvalConfig, type RunConfig, type TrainConfig } from '../train/run-config.ts';
import { train as runTraining, type TrainResult } from '../train/trainer.ts';
import { checkKeys, checkPath, checkSignal, optionKeys } from '../options.ts';

export type { TrainResult, StopReason } from '../train/trainer.ts';

/** A logged step: its number, the run's last step, and the losses (and held-out scores) read back then. */
export interface TrainProgress {
  step: number;
  steps: number;
  losses: Record<string, number>;
}

/** What every call that trains takes beside its config: where lines go, how to hear progress, how to stop. */
export interface TrainControls {
  /** cpu (default) or webgpu; one process trains on one device. */
  device?: Device;
  /** Hears every logged step (train.logEvery). */
  onProgress?: (progress: TrainProgress) => void;
  /** Hears each sample grid the run writes (every train.sampleEvery steps, and at its first and last): the step and the PNG file. */
  onSample?: (sample: { step: number; file: string }) => void;
  /** Aborting it stops the run after the current step, with a checkpoint; the result's `interrupted` is 'abort'. */
  signal?: AbortSignal;
  /** Whether Ctrl-C and SIGTERM checkpoint and stop the run (true, as the CLI) rather than end the process at once. */
  catchSignals?: boolean;
  /** Where the run's lines go (default: stderr). */
  log?: (line: string) => void;
  /** No lines and no progress bar (onProgress still hears every logged step). */
  quiet?: boolean;
}

/** A new run: the family, its data and config sections (as a --config file holds them), and the run folder. */
export interface TrainRequest<F extends FamilyName = FamilyName> extends TrainControls {
  family: F;
  /** The run folder (`gantry train --out`); a new or empty folder. */
  out: string;
  /** A data SPEC, as `--data` takes it: 'mnist' (default), 'folder:DIR', 'cifar10:DIR', 'pairs:DIR', ... */
  data?: string;
  seed?: number;
  /** The family's model section; fields left out take their defaults. */
  model?: Partial<ModelConfigs[F]>;
  /** Steps, batch size, cadence and the rest of a config's train section. */
  train?: Partial<TrainConfig>;
  /** Train this many passes over the data instead of train.steps. */
  epochs?: number;
  /** Start from another run's weights where tensors match by name and shape (`--init-from`). */
  initFrom?: string;
  /** FID while training: { fid: { n, weights | vgg16 | features, real? }, every? } (every: train.checkpointEvery). */
  eval?: TrainEval;
}

/** A config's eval section as given (defaults left out). */
export type TrainEval = { fid: Partial<EvalConfig['fid']>; precisionRecall?: boolean; every?: number };

/** What a resume may change: learning rates and Adam betas, steps, decayFrom, the cadence and eval (recorded in config-history.jsonl). */
export interface ResumeRequest extends TrainControls {
  model?: Record<string, unknown>;
  train?: Partial<TrainConfig>;
  /** What is scored while training from now on (null: nothing). */
  eval?: TrainEval | null;
}

const CONTROLS = { device: true, onProgress: true, onSample: true, signal: true, catchSignals: true, log: true, quiet: true } as const;
const RESUME_KEYS = optionKeys<ResumeRequest>({ model: true, train: true, eval: true, ...CONTROLS });
const REQUEST_KEYS = optionKeys<TrainRequest>({ family: true, out: true, data: true, seed: true, model: true, train: true, eval: true, epochs: true, initFrom: true, ...CONTROLS });
const TRAIN_FIELDS = new Set(Object.keys(trainSchema.shape));

/** A train-section field given at the top level: where it goes. */
const inTrainSection = (key: string) => (TRAIN_FIELDS.has(key) ? `; it goes in the train section: { train: { ${key}: ... } }` : undefined);

/** The run this process is training, if any: runs share the engine and its recorded steps, so they go one at a time. */
let training: string | null = null;

async function exclusive<T>(out: string, work: () => Promise<T>): Promise<T> {
  if (training !== null) throw new GantryError(`${out}: this process is already training ${training}; await that run first (or train in another process)`);
  training = out;
  try {
    return await work();
  } finally {
    training = null;
  }
}

function controls(c: TrainControls) {
  const { onProgress, onSample } = c;
  return {
    scorerFor: (config: RunConfig) => fidScorer(config, { quiet: c.quiet }),
    onProgress: onProgress && ((step: number, steps: number, losses: Record<string, number>) => onProgress({ step, steps, losses })),
    onSample: onSample && ((step: number, file: string) => onSample({ step, file })),
    signal: c.signal, catchSignals: c.catchSignals, log: c.log, quiet: c.quiet,
  };
}

/**
 * Trains a new run into `request.out`, as `gantry train` does: the same config validation (one line
 * naming a wrong field), run folder, checkpoints, sample grids and metrics, so every CLI command works on
 * the result. Resolves when the run reaches its last step or is stopped (see `interrupted`).
 */
export async function train<F extends FamilyName>(request: TrainRequest<F>): Promise<TrainResult> {
  if (typeof request !== 'object' || request === null) throw new GantryError('train() takes an options object');
  checkKeys(request, REQUEST_KEYS, 'train()', inTrainSection);
  checkPath(request.out, 'train()', 'the run folder as out', '{ out: "runs/first" }');
  checkSignal(request.signal, 'train()');
  const { family, data, seed, model, train: trainSection, initFrom, eval: evalSection, epochs } = request;
  // The config file's fields, those given: the rest take their defaults.
  const given = Object.fromEntries(Object.entries({ family, data, seed, model, train: trainSection, initFrom, eval: evalSection }).filter(([, v]) => v !== undefined));
  const config = validateRunConfig(given, 'train()');
  if (epochs !== undefined) {
    if (!(Number.isInteger(epochs) && epochs >= 1)) throw new GantryError(`train(): epochs must be a whole number >= 1, got ${epochs}`);
    if (trainSection?.steps !== undefined) throw new GantryError('train(): give epochs or train.steps, not both');
  }
  await initEngine({ device: request.device ?? 'cpu', log: request.log });
  return exclusive(request.out, () => runTraining({ outDir: request.out, config, epochs, ...controls(request) }));
}

/**
 * Continues the run in `out` from its last checkpoint (`gantry train --resume`); it ends bit-identical to
 * an unbroken run. `model`, `train` and `eval` may change what a resume may (learning rates, steps, cadence, scores).
 */
export async function resume(out: string, request: ResumeRequest = {}): Promise<TrainResult> {
  checkPath(out, 'resume()', 'the run folder first', 'resume("runs/first", { train: { steps: 2000 } })');
  checkKeys(request, RESUME_KEYS, 'resume()', inTrainSection);
  checkSignal(request.signal, 'resume()');
  await initEngine({ device: request.device ?? 'cpu', log: request.log });
  const changes = { model: request.model, train: request.train as Record<string, unknown> | undefined, eval: request.eval };
  return exclusive(out, () => runTraining({ outDir: out, resume: true, changes, changesSource: 'resume()', ...controls(request) }));
}
