import { join } from 'node:path';
import { GantryError } from '../errors.ts';
import { appendToFile } from '../io/atomic.ts';
import { getFamily } from '../models/index.ts';
import { validateRunConfig, type RunConfig } from './run-config.ts';

/**
 * What may change when a run is resumed: the learning rates and Adam betas (each family lists its own:
 * Family.resumable), the number of steps, the schedule, logging / sample / checkpoint cadence and what is
 * scored while training (eval). The
 * rest (family, seed, data, batch, D steps, architecture) is the run's identity: resuming with another
 * value would not continue the same run, so it is refused with one line.
 */
const RESUMABLE_TRAIN = new Set(['steps', 'logEvery', 'sampleEvery', 'checkpointEvery', 'samples', 'decayFrom']);

/** What a resume asks to change: any part of a config (a --config file and flags), as given. */
export interface ConfigChanges {
  family?: unknown;
  seed?: unknown;
  data?: unknown;
  model?: Record<string, unknown>;
  train?: Record<string, unknown>;
  eval?: unknown;
}

/** Each changed field's path ("model.lr") with its value before and after. */
export type ChangeLog = Record<string, [unknown, unknown]>;

export const CONFIG_HISTORY_FILE = 'config-history.jsonl';

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/**
 * The run's config with the allowed changes applied (validated as a whole), and what changed; a change
 * that is not allowed is one error naming the field, both values and what to do instead.
 */
export function applyResumeChanges(
  config: RunConfig,
  changes: ConfigChanges | undefined,
  source: string,
  /** Fills what a model section leaves to the data, as a new run's is: `channels: 0` given again is the run's channels. */
  resolveModel: (model: Record<string, unknown>) => Record<string, unknown>,
): { config: RunConfig; changed: ChangeLog } {
  const changed: ChangeLog = {};
  if (!changes) return { config, changed };
  const refuse = (path: string, before: unknown, after: unknown): never => {
    throw new GantryError(`${path} is ${JSON.stringify(before)} in the run and ${JSON.stringify(after)} in ${source}; a resumed run keeps its family, seed, data, batch and architecture (learning rates, steps and logging may change): leave it out, or start a new run in another folder`);
  };
  for (const key of ['family', 'seed', 'data'] as const) {
    if (changes[key] !== undefined && !same(changes[key], config[key])) refuse(key, config[key], changes[key]);
  }
  const resumableModel = new Set(getFamily(config.family).resumable);
  const given = Object.fromEntries(Object.entries(changes.model ?? {}).filter(([, v]) => v !== undefined));
  // The section as the run would have had it with these values: validated, defaults and data filled in,
  // but for fields the run's section lacks and the change does not give: a field newer than the run keeps
  // the meaning its absence has (dfgan's noiseInFusion).
  const resolved = resolveModel(validateRunConfig({ ...config, model: { ...config.model, ...given } }, source).model);
  const model = Object.fromEntries(Object.entries(resolved).filter(([key]) => key in config.model || key in given));
  for (const key of Object.keys(given)) {
    if (same(model[key], config.model[key])) continue;
    if (!resumableModel.has(key)) refuse(`model.${key}`, config.model[key], given[key]);
    changed[`model.${key}`] = [config.model[key], model[key]];
  }
  const train: Record<string, unknown> = { ...config.train };
  for (const [key, value] of Object.entries(changes.train ?? {})) {
    if (value === undefined || same(value, train[key])) continue;
    if (!RESUMABLE_TRAIN.has(key)) refuse(`train.${key}`, train[key], value);
    changed[`train.${key}`] = [train[key], value];
    train[key] = value;
  }
  // What is scored while training does not change the training: it may change, or go with null.
  let evalSection = config.eval;
  if (changes.eval !== undefined) {
    // As the run stores it (defaults filled, the schema's order), so that the same section again is no change.
    const given = changes.eval === null ? undefined : validateRunConfig({ ...config, eval: changes.eval }, source).eval;
    if (!same(given ?? null, config.eval ?? null)) changed.eval = [config.eval ?? null, given ?? null];
    evalSection = given;
  }
  if (Object.keys(changed).length === 0) return { config, changed };
  const { eval: _before, ...rest } = config;
  return { config: validateRunConfig({ ...rest, model, train, ...(evalSection ? { eval: evalSection } : {}) }, source), changed };
}

/** Appends one line to the run's config history: the step a resume continued from and what it changed. */
export function recordConfigChange(runDir: string, step: number, changed: ChangeLog): void {
  if (Object.keys(changed).length === 0) return;
  appendToFile(join(runDir, CONFIG_HISTORY_FILE), JSON.stringify({ step, time: new Date().toISOString(), changed }) + '\n');
}

/**
 * A model section that lowers each learning rate of the run: to the family's default where it is above
 * it, else ten times. Advice that works when followed (`--resume --config` applies it).
 */
export function lowerLearningRates(config: RunConfig): Record<string, number> {
  const family = getFamily(config.family);
  const defaults = family.schema.parse({}) as Record<string, unknown>;
  const fields = family.resumable.filter((f) => /^lr|Lr$/.test(f) && typeof config.model[f] === 'number');
  return Object.fromEntries(fields.map((f) => {
    const now = config.model[f] as number;
    const fallback = defaults[f] as number;
    return [f, now > fallback ? fallback : Number((now / 10).toPrecision(3))];
  }));
}
