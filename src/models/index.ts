import { GantryError, didYouMean } from '../errors.ts';
import { classifierFamily } from './classifier.ts';
import { dcganFamily } from './dcgan.ts';
import { vaeFamily } from './vae.ts';
import { vaeGanFamily } from './vae-gan.ts';
import { unetVaeGanFamily } from './unet-vae-gan.ts';
import { cganFamily } from './cgan.ts';
import { acganFamily } from './acgan.ts';
import { ganClsFamily } from './gan-cls.ts';
import { dfganFamily } from './dfgan.ts';
import { pix2pixhdFamily } from './pix2pixhd.ts';
import { segmenterFamily } from './segmenter.ts';
import type { DataShape } from '../data/batch.ts';
import type { ModelInfo } from './condition.ts';
import type { Family, FamilyInstance, ModelOptions } from './family.ts';

/** Every model family the CLI can train, by name, with its own config type. */
const REGISTRY = {
  dcgan: dcganFamily,
  classifier: classifierFamily,
  vae: vaeFamily,
  'vae-gan': vaeGanFamily,
  'unet-vae-gan': unetVaeGanFamily,
  cgan: cganFamily,
  acgan: acganFamily,
  'gan-cls': ganClsFamily,
  dfgan: dfganFamily,
  pix2pixhd: pix2pixhdFamily,
  segmenter: segmenterFamily,
};

export type FamilyName = keyof typeof REGISTRY;

/** Each family's model section, as its schema gives it (every field filled in). */
export type ModelConfigs = { [K in FamilyName]: (typeof REGISTRY)[K] extends Family<infer C> ? C : never };

/** The families behind the registry's uniform type: configs are validated by a family's own schema before use. */
export const FAMILIES: Record<string, Family<unknown>> = REGISTRY as unknown as Record<string, Family<unknown>>;

export function getFamily(name: string): Family<unknown> {
  const family = FAMILIES[name];
  if (!family) throw new GantryError(`unknown model family "${name}"${didYouMean(name, Object.keys(FAMILIES))}; known: ${Object.keys(FAMILIES).join(', ')}`);
  return family;
}

/** A run's choice of family and its model section, as a run config holds them. */
export interface ModelSection {
  family: string;
  model: Record<string, unknown>;
}

/*
 * The boundary between a run and its family: the only place a run's model section is handed over. Everything
 * outside src/models/ works from the ModelInfo a family gives, never from the section's fields.
 */

/** The model section with what it left to the data filled in (channels, classes, vocabulary), checked against the data. */
export function resolveModelSection(run: ModelSection, data: DataShape): Record<string, unknown> {
  return getFamily(run.family).resolve(run.model, data) as Record<string, unknown>;
}

/** What a new run of this resolved model section says once before training (what it leaves out, and why); `requested`: the section before resolve. */
export function modelNotices(run: ModelSection, data: DataShape, requested: Record<string, unknown>): string[] {
  return getFamily(run.family).notices?.(run.model, data, requested) ?? [];
}

/** The typed description of a run's model. */
export function describeModel(run: ModelSection): ModelInfo {
  return getFamily(run.family).describe(run.model);
}

/** The run's model, its weights initialised from the seed. */
export function buildModel(run: ModelSection & { seed: number }, options: ModelOptions = {}): FamilyInstance {
  return getFamily(run.family).create(run.model, run.seed, options);
}
