import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { GantryError, describeError } from '../errors.ts';
import type { ImageDataset } from '../data/dataset.ts';
import { writeFileAtomic } from '../io/atomic.ts';
import type { Generator, LabelMaps } from './conditions.ts';
import { clusterStyles, collectInstanceFeatures, randomStyles, styleFeatures, type InstanceStyles } from './instance-styles.ts';

/** A run's learned styles (instance-styles.ts) as a file in its folder. */
export const STYLES_FILE = 'styles.json';

export function writeStyles(runDir: string, styles: InstanceStyles): void {
  writeFileAtomic(join(runDir, STYLES_FILE), JSON.stringify(styles) + '\n');
}

export function readStyles(runDir: string): InstanceStyles {
  const path = join(runDir, STYLES_FILE);
  if (!existsSync(path)) throw new GantryError(`${runDir} has no learned styles (${STYLES_FILE}); make them with \`gantry features --run ${runDir}\``);
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as InstanceStyles;
  } catch (err) {
    throw new GantryError(`${path} is not valid JSON (${describeError(err)}); make it again with \`gantry features --run ${runDir}\``);
  }
}

/** Learns a run's styles from its training data and writes them into the run folder; returns a line saying what it found. */
export async function learnRunStyles(run: Generator, data: ImageDataset, runDir: string, k: number, seed: number): Promise<string> {
  const featNum = run.info.conditioning.kind === 'labelMap' ? run.info.conditioning.featNum : 0;
  const byClass = await collectInstanceFeatures(run, data);
  const styles = clusterStyles(byClass, featNum, k, seed);
  writeStyles(runDir, styles);
  const classes = Object.keys(styles.clusters);
  const instances = Object.values(styles.instances).reduce((a, b) => a + b, 0);
  return `styles: ${instances} instances of ${classes.length} classes clustered into ${Object.values(styles.clusters).reduce((a, c) => a + c.length, 0)} styles (${join(runDir, STYLES_FILE)})`;
}

/**
 * Maps as a run draws them with no one choosing styles (FID, the segmentation score): unchanged, or for a
 * run with instance features each object in a seeded random one of its class's learned styles.
 */
export function withRandomStyles(run: Generator, runDir: string, maps: LabelMaps, seed: number, variant = 0): LabelMaps {
  const c = run.info.conditioning;
  if (c.kind !== 'labelMap' || c.featNum === 0) return maps;
  return styleFeatures(maps, readStyles(runDir), randomStyles(seed, variant));
}
