/**
 * gantry in a Node program: what the CLI does, as functions.
 *
 *   import { train, openGenerator, pngBytes } from 'gantry';
 *   const run = await train({ family: 'dcgan', data: 'mnist', train: { steps: 500 }, out: 'runs/digits', onProgress: (p) => console.log(p.step, p.losses) });
 *   const g = await openGenerator(run.runDir);
 *   writeFileSync('seed-12.png', pngBytes(await g.generate({ seeds: [12] })));   // gantry sample --seed 12's first image
 *
 * Runs are the CLI's run folders (every command works on them, and the CLI's on these), configs the
 * --config file's sections, data the --data SPECs; a user's mistake is one GantryError naming it.
 */
import { useApiWords } from '../errors.ts';
import { initEngine } from '../engine/index.ts';
import { exportRun as exportRunFolder, type ExportResult } from '../export/export-run.ts';
import { FAMILIES, type FamilyName } from '../models/index.ts';
import { checkKeys, checkPath } from '../options.ts';

export { train, resume, type TrainRequest, type ResumeRequest, type TrainControls, type TrainProgress, type TrainResult, type TrainEval, type StopReason } from './train.ts';
export { openGenerator, pngBytes, readLabelMaps, readPictures, learnStyles, reconstruct, project, type ProjectOptions } from './generator.ts';
export type { ProjectedPicture } from '../explore/project.ts';
export { fid, kid, precisionRecall, inceptionScore, perceptualPathLength, featureStats, segmentationScore, type ScoreRequest, type PairRequest, type FeatureSource, type FidResult, type KidScore, type PrecisionRecallScore, type InceptionScoreResult, type PplResult, type SegmentationResult } from './scores.ts';
export { tile } from '../web/canvas.ts';
export { slerp, parseLatentExpression, arithmeticVectors } from '../explore/latent.ts';
export { GantryError } from '../errors.ts';
export type { WebGenerator as Generator, GenerateOptions, GeneratedImages, LabelMapInput } from '../web/generator.ts';
export type { FamilyName, ModelConfigs } from '../models/index.ts';
export type { TrainConfig } from '../train/run-config.ts';
export type { ExportResult } from '../export/export-run.ts';
export type { LearnedStyles } from '../explore/run-styles.ts';

// A program that imports gantry is told of its mistakes in its own words: `initFrom`, `resume("runs/a")`,
// not the CLI's `--init-from` and `gantry train --resume`.
useApiWords();

/** The model families `train` takes, with a line each on what they are. */
export const families: Record<FamilyName, string> = Object.fromEntries(Object.entries(FAMILIES).map(([name, f]) => [name, f.description])) as Record<FamilyName, string>;

/**
 * A run's generator and the explorer page as a static web folder (`gantry export`); `page: false` writes
 * only model.json and weights.safetensors, for `gantry/web`'s loadGenerator in a page of your own.
 */
export async function exportRun(run: string, out: string, options: { page?: boolean } = {}): Promise<ExportResult> {
  checkPath(run, 'exportRun()', 'the run folder first', 'exportRun("runs/first", "site")');
  checkPath(out, 'exportRun()', 'the folder to write the site into second', 'exportRun("runs/first", "site")');
  checkKeys(options, ['page'], 'exportRun()');
  await initEngine();
  return exportRunFolder(run, out, options);
}
