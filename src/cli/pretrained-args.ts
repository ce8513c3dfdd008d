import { existsSync, statSync } from 'node:fs';
import { IMAGE_EXTENSIONS, listFiles } from '../data/folder.ts';
import { PNG_ONLY } from '../data/pairs.ts';
import { GantryError } from '../errors.ts';
import type { PretrainedExport } from '../export/export-run.ts';
import type { PretrainedOptions } from '../explore/pretrained.ts';
import { intArg } from './args.ts';

/** A PNG file, or the sorted PNGs of a folder (`--flag PATH`). */
export function imageFiles(path: string, flag: string, extensions = PNG_ONLY): string[] {
  if (!existsSync(path)) throw new GantryError(`--${flag} ${path} does not exist`);
  if (!statSync(path).isDirectory()) return [path];
  const files = listFiles(path, extensions);
  if (files.length === 0) throw new GantryError(`--${flag} ${path}: no ${[...extensions].join('/')} files in this folder`);
  return files;
}

/** The flags with which export and studio take a generator of NVIDIA's pix2pixHD code instead of a run. */
export const PRETRAINED_FLAGS = {
  weights: { type: 'string' }, 'label-nc': { type: 'string' }, height: { type: 'string' }, width: { type: 'string' },
  labels: { type: 'string' }, inputs: { type: 'string' }, instances: { type: 'string' }, features: { type: 'string' }, encoder: { type: 'string' },
  'label-feat': { type: 'boolean' },
} as const;

export const PRETRAINED_HELP = `  --weights latest_net_G.pth --label-nc N: a generator trained by NVIDIA's pix2pixHD code (global or
  local; label count 35 is Cityscapes', whose names and colours the painter then shows), drawn at
  --height x --width, or at the size of the first --labels map scaled to --width. --labels MAP.png|DIR
  (and --instances, for generators with the instance edge channel) are the maps the page starts from (8 at most).
  --features features_clustered_010.npy: the styles of a generator trained with instance features
  (--instance_feat; encode_features.py writes the file), which the painter offers per object.
  --encoder latest_net_E.pth: its feature encoder, with which the painter takes the styles of a photo.
  --label-feat: it was trained with --label_feat (one style per label region, not per object).
  --label-nc 0: a generator trained on pictures as inputs (--label_nc 0); --inputs PICTURE.png|DIR are the
  pictures the page starts from (and whose size it draws at).`;

type PretrainedFlag = keyof typeof PRETRAINED_FLAGS;
type PretrainedValues = { run?: string; 'label-feat'?: boolean } & { [K in Exclude<PretrainedFlag, 'label-feat'>]?: string };

/**
 * One line for a wrong choice between --run and --weights: both, neither, --weights without --label-nc,
 * or one of `weightsOnly` (flags that describe NVIDIA's generator) beside --run.
 */
export function checkGeneratorSource(values: PretrainedValues, weightsOnly: readonly PretrainedFlag[]): void {
  if (values.run && values.weights) throw new GantryError('give --run RUN_DIR or --weights FILE, not both');
  if (!values.run && !values.weights) throw new GantryError('--run RUN_DIR (the --out folder of a gantry train) or --weights latest_net_G.pth --label-nc N (a pix2pixHD generator of NVIDIA\'s code) is required');
  const stray = values.run ? weightsOnly.find((f) => values[f] !== undefined) : undefined;
  if (stray) throw new GantryError(`--${stray} goes with --weights; a run knows its ${weightsOnly.includes('labels') ? 'labels, size and example maps' : 'labels and size'}`);
  if (values.weights && !values['label-nc']) throw new GantryError('--weights needs --label-nc, the label count the generator was trained with (Cityscapes: 35)');
  if (values.weights && values['label-nc'] === '0' && values.labels) throw new GantryError('--labels: with --label-nc 0 the generator draws from pictures (NVIDIA\'s --label_nc 0); give them with --inputs PICTURE.png|DIR');
  if (values.weights && values['label-nc'] !== '0' && values.inputs) throw new GantryError(`--inputs: a generator with --label-nc ${values['label-nc']} draws from label maps; give them with --labels MAP.png|DIR (--label-nc 0 for one trained on pictures)`);
}

/**
 * The generator file and its example maps of `--weights`, or null for `--run`; one line for a wrong mix
 * (checkGeneratorSource, with all the pretrained flags kept for --weights).
 */
export function pretrainedSource(values: PretrainedValues): PretrainedExport | null {
  checkGeneratorSource(values, ['label-nc', 'height', 'width', 'labels', 'inputs', 'instances', 'features', 'encoder', 'label-feat']);
  if (values.run) return null;
  if (values.instances && !values.labels) throw new GantryError('--instances goes with --labels: give the label maps they belong to');
  const labels = values.labels ? imageFiles(values.labels, 'labels') : values.inputs ? imageFiles(values.inputs, 'inputs', IMAGE_EXTENSIONS) : undefined;
  const source: PretrainedOptions = {
    weights: values.weights!, labelNc: intArg('label-nc', values['label-nc'], 0)!, height: intArg('height', values.height, 1),
    width: intArg('width', values.width, 1), sizeOf: labels?.[0], features: values.features, encoder: values.encoder,
    labelFeat: values['label-feat'],
  };
  return { source, examples: { labels, instances: values.instances ? imageFiles(values.instances, 'instances') : null } };
}
