import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { GantryError, describeError, learnStylesHow } from '../errors.ts';
import type { ImageDataset, LoadProgress } from '../data/dataset.ts';
import { openDataset } from '../data/index.ts';
import { openRun, runData } from '../train/run.ts';
import { writeFileAtomic } from '../io/atomic.ts';
import { dataFit, featuresByLabel } from '../models/condition.ts';
import type { Generator, LabelMaps } from './conditions.ts';
import { clusterStyles, collectInstanceFeatures, randomStyles, STYLE_CLUSTERS, styleFeatures, stylesSchema, type InstanceStyles } from './instance-styles.ts';

/** A run's learned styles (instance-styles.ts) as a file in its folder. */
export const STYLES_FILE = 'styles.json';


export function readStyles(runDir: string): InstanceStyles {
  const path = join(runDir, STYLES_FILE);
  if (!existsSync(path)) throw new GantryError(`${runDir} has no learned styles (${STYLES_FILE}); make them with ${learnStylesHow(runDir)}`);
  return readStylesFile(path, `make it again with ${learnStylesHow(runDir)}`);
}

/** A styles file (styles.json, or `gantry features --weights`'s --out); `fix` says how to make it again. */
export function readStylesFile(path: string, fix: string): InstanceStyles {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new GantryError(`${path} is not valid JSON (${describeError(err)}); ${fix}`);
  }
  const parsed = stylesSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new GantryError(`${path} is not a styles file (${issue.path.join('.') || 'the file'}: ${issue.message}); ${fix}`);
  }
  return parsed.data;
}

/**
 * What learning a run's styles found: instances seen (label regions where the features are per label:
 * byLabel), the classes they belong to, styles kept, and the file.
 */
export interface LearnedStyles {
  instances: number;
  byLabel: boolean;
  classes: number;
  styles: number;
  file: string;
}

export const learnedStylesLine = (s: LearnedStyles) => `styles: ${s.instances} ${s.byLabel ? 'label regions' : 'instances'} of ${s.classes} classes clustered into ${s.styles} styles (${s.file})`;

/** Images encoded so far of the data's `total`, while styles are learned (a progress line's callback). */
export type EncodeProgress = (done: number, total: number) => void;

/** The label of that progress line (minutes for Cityscapes on a CPU). */
export const ENCODE_PROGRESS_LABEL = 'styles: encoding objects';

/** Learns a run's styles from its training data and writes them into the run folder. */
export function learnRunStyles(run: Generator, data: ImageDataset, runDir: string, k: number, seed: number, onProgress?: EncodeProgress): Promise<LearnedStyles> {
  return learnStylesInto(run, data, join(runDir, STYLES_FILE), k, seed, onProgress);
}

/** Learns a generator's styles from data (each class's instance features, `k` clusters) and writes them to `file`. */
export async function learnStylesInto(run: Generator, data: ImageDataset, file: string, k: number, seed: number, onProgress?: EncodeProgress): Promise<LearnedStyles> {
  const featNum = run.info.conditioning.kind === 'labelMap' ? run.info.conditioning.featNum : 0;
  const byClass = await collectInstanceFeatures(run, data, onProgress && ((done) => onProgress(done, data.n)));
  const styles = await clusterStyles(byClass, featNum, k, seed);
  writeFileAtomic(file, JSON.stringify(styles) + '\n');
  return {
    instances: Object.values(styles.instances ?? {}).reduce((a, b) => a + b, 0),
    byLabel: featuresByLabel(run.info),
    classes: Object.keys(styles.clusters).length,
    styles: Object.values(styles.clusters).reduce((a, c) => a + c.length, 0),
    file,
  };
}

/**
 * `gantry features`: a pix2pixhd run's styles learned again from its training data (`clusters` per class,
 * seeded; the run's seed by default) and written into its folder.
 */
export async function learnStylesOfRun(runDir: string, o: { clusters?: number; seed?: number; loadProgress?: (label: string) => LoadProgress; encodeProgress?: EncodeProgress } = {}): Promise<LearnedStyles> {
  const run = openRun(runDir);
  try {
    const c = run.info.conditioning;
    if (c.kind !== 'labelMap' || c.featNum === 0) throw new GantryError(`${runDir} has no instance feature encoder to learn styles from; a pix2pixhd run trained with model.featNum > 0 (3 in the paper) has one`);
    const data = openDataset(runData(run), dataFit(run.info), o.loadProgress?.(`reading ${run.config.data}`));
    return await learnRunStyles(run, data, runDir, o.clusters ?? STYLE_CLUSTERS, o.seed ?? run.config.seed, o.encodeProgress);
  } finally {
    run.model.dispose();
  }
}

/**
 * Maps as a run draws them with no one choosing styles (FID, the segmentation score): unchanged, or for a
 * run with instance features each object in a seeded random one of its class's learned styles.
 */
export function withRandomStyles(run: Generator, runDir: string, maps: LabelMaps, seed: number, variant = 0): LabelMaps {
  const c = run.info.conditioning;
  if (c.kind !== 'labelMap' || c.featNum === 0) return maps;
  return styleFeatures(maps, readStyles(runDir), randomStyles(seed, variant), featuresByLabel(run.info));
}
