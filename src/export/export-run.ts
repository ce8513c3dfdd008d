import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { GantryError, describeError, writeFailure } from '../errors.ts';
import { openDataset, openHeldOut } from '../data/index.ts';
import { readImages } from '../data/dataset.ts';
import { readStyles } from '../explore/run-styles.ts';
import { encodeSafetensors, type NamedArray } from '../io/safetensors.ts';
import { writeSafetensors } from '../io/safetensors-file.ts';
import { nearestExisting, removeAbandonedTempFiles } from '../io/atomic.ts';
import type { FamilyInstance } from '../models/family.ts';
import { networkArrays } from '../models/weights.ts';
import { openRun, runData, readRunConfig, referenceImages, type OpenedRun } from '../train/run.ts';
import { EXAMPLE_INSTANCES, EXAMPLE_LABELS, MODEL_FILE, MODEL_FORMAT, MODEL_FORMAT_VERSION, PRETRAINED_ORIGIN, REFERENCE_IMAGES, WEIGHTS_FILE, type ExportedModel } from '../web/model-file.ts';
import { pageFiles } from './page-bundle.ts';
import { inputsFromFiles } from '../explore/label-map-files.ts';
import { openPretrained, type PretrainedOptions } from '../explore/pretrained.ts';

/** The networks a model draws with: all but the critic, which every family names D and only training uses. */
function drawingNetworks(model: FamilyInstance): string[] {
  return Object.keys(model.networks).filter((n) => n !== 'D');
}

/** Label maps a label-map run's page starts from (its held-out maps, else its training maps). */
const EXAMPLE_MAPS = 8;

/** An export's model.json and the arrays of its weights.safetensors. */
export interface ExportedTensors {
  model: ExportedModel;
  tensors: Record<string, NamedArray>;
}

/** The generator of a run as the files of an export: model.json and weights.safetensors (bytes, for the studio to serve). */
export async function generatorFiles(run: OpenedRun, runDir: string): Promise<{ model: ExportedModel; weights: Uint8Array }> {
  const { model, tensors } = await generatorTensors(run, runDir);
  return { model, weights: encodeSafetensors(tensors) };
}

/** The generator of a run as an export describes it, with the arrays its weights file holds. */
export async function generatorTensors(run: OpenedRun, runDir: string): Promise<ExportedTensors> {
  const { config, info, model, state } = run;
  if (!model.generate) throw new GantryError(`${runDir} is a ${config.family} run; it does not generate images, so there is nothing to export`);
  const networks = drawingNetworks(model);
  const tensors: Record<string, NamedArray> = await networkArrays(model, networks);
  if (model.useReferenceImages) {
    const images = referenceImages(openDataset(runData(run), info), config.seed, config.train.samples);
    tensors[REFERENCE_IMAGES] = { shape: images.shape, data: (await images.data()) as Float32Array };
    images.dispose();
  }
  const c = info.conditioning;
  if (c.kind === 'labelMap') Object.assign(tensors, exampleMaps(run));
  // The VGG weights' path is a training file's on this machine: a page to publish does not need it or tell it.
  const { vggWeights: _vggWeights, ...exported } = config.model;
  const description: ExportedModel = {
    format: MODEL_FORMAT, version: MODEL_FORMAT_VERSION, family: config.family, model: exported, seed: config.seed, step: state.step,
    info, networks, run: basename(resolve(runDir)), exportedAt: new Date().toISOString(),
  };
  if (c.kind === 'labelMap' && c.featNum > 0) description.styles = readStyles(runDir);
  return { model: description, tensors };
}

function exampleMaps(run: OpenedRun): Record<string, NamedArray> {
  let data;
  try {
    data = openHeldOut(runData(run), run.info);
  } catch (err) {
    // A data folder without a test split (or with one gantry cannot read) starts the page from training maps.
    if (!(err instanceof GantryError)) throw err;
    data = openDataset(runData(run), run.info);
  }
  const n = Math.min(EXAMPLE_MAPS, data.n);
  const shape = [n, data.height, data.width];
  const examples = readImages(data, Array.from({ length: n }, (_, i) => i));
  const out: Record<string, NamedArray> = { [EXAMPLE_LABELS]: { shape, data: examples.labelMaps! } };
  if (examples.instanceMaps && run.info.conditioning.kind === 'labelMap' && run.info.conditioning.instances) {
    out[EXAMPLE_INSTANCES] = { shape, data: examples.instanceMaps };
  }
  return out;
}

export interface ExportResult {
  out: string;
  files: { name: string; bytes: number }[];
  step: number;
}

/**
 * Writes a run's generator and the explorer page into `out`: a static folder any web server (or a
 * browser opening files, where it allows fetch) serves. The folder is written beside `out` and moved into
 * place at the end, so a failed export leaves nothing half-written; an earlier export there is replaced,
 * anything else is refused.
 */
export async function exportRun(runDir: string, out: string, options: { page?: boolean } = {}): Promise<ExportResult> {
  readRunConfig(runDir); // one clear error for a folder that is not a run, before anything is built
  checkOut(out);
  const run = openRun(runDir);
  try {
    return await writeExport(out, await generatorTensors(run, runDir), options);
  } finally {
    run.model.dispose();
  }
}

/**
 * A generator of NVIDIA's pix2pixHD code to export: its file and size, and the label maps (up to
 * EXAMPLE_MAPS of them, with their instance maps) the page starts from.
 */
export interface PretrainedExport {
  source: PretrainedOptions;
  examples: { labels?: string[]; instances?: string[] | null };
}

/** exportRun for a generator of NVIDIA's pix2pixHD code: the same folder, its page a label-map painter. */
export async function exportPretrained(pretrained: PretrainedExport, out: string, options: { page?: boolean } = {}): Promise<ExportResult> {
  checkOut(out);
  return writeExport(out, await pretrainedTensors(pretrained), options);
}

/** pretrainedTensors as the bytes of the files, for the studio to serve. */
export async function pretrainedFiles(pretrained: PretrainedExport): Promise<{ model: ExportedModel; weights: Uint8Array }> {
  const { model, tensors } = await pretrainedTensors(pretrained);
  return { model, weights: encodeSafetensors(tensors) };
}

/** A generator of NVIDIA's pix2pixHD code as an export describes it, with example maps from the user's files. */
export async function pretrainedTensors({ source, examples }: PretrainedExport): Promise<ExportedTensors> {
  const { model, info, styles } = openPretrained(source);
  try {
    // Without its encoder file, E is not read (the page draws styles from the clustered features).
    const networks = drawingNetworks(model).filter((net) => net !== 'E' || source.encoder);
    const tensors: Record<string, NamedArray> = await networkArrays(model, networks);
    if (examples.labels?.length) {
      const files = examples.labels.slice(0, EXAMPLE_MAPS);
      const { maps } = inputsFromFiles(info, files, examples.instances?.slice(0, files.length) ?? null);
      const shape = [maps.n, maps.height, maps.width];
      tensors[EXAMPLE_LABELS] = { shape, data: maps.labels };
      if (maps.instances) tensors[EXAMPLE_INSTANCES] = { shape, data: maps.instances };
    }
    const description: ExportedModel = {
      format: MODEL_FORMAT, version: MODEL_FORMAT_VERSION, family: info.family, model: { ...model.config }, seed: 0, step: 0,
      info, networks, run: basename(source.weights), origin: PRETRAINED_ORIGIN, exportedAt: new Date().toISOString(),
    };
    if (styles) description.styles = styles;
    return { model: description, tensors };
  } finally {
    model.dispose();
  }
}

/**
 * Writes an export's files (and the page's, unless options.page is false) into `out` in one move. The
 * weights go to their file a tensor at a time, never joined into one buffer (730 MB for NVIDIA's label2city).
 */
async function writeExport(out: string, generator: ExportedTensors, options: { page?: boolean }): Promise<ExportResult> {
  const parent = dirname(resolve(out));
  const prefix = `.${basename(resolve(out))}.export-`;
  const temp = join(parent, `${prefix}${process.pid}`);
  // An export killed while writing left its folder beside `out` (as large as the weights): gone now.
  if (existsSync(parent)) removeAbandonedTempFiles(parent, (name) => (name.startsWith(prefix) ? name.slice(prefix.length) : undefined));
  try {
    const page = options.page !== false ? await pageFiles() : {};
    rmSync(temp, { recursive: true, force: true });
    mkdirSync(temp, { recursive: true });
    writeFileSync(join(temp, MODEL_FILE), JSON.stringify(generator.model) + '\n');
    writeSafetensors(join(temp, WEIGHTS_FILE), generator.tensors);
    for (const [name, data] of Object.entries(page)) writeFileSync(join(temp, name), data);
    rmSync(out, { recursive: true, force: true });
    renameSync(temp, out);
    const names = [MODEL_FILE, WEIGHTS_FILE, ...Object.keys(page)];
    return { out, step: generator.model.step, files: names.map((name) => ({ name, bytes: statSync(join(out, name)).size })) };
  } catch (err) {
    rmSync(temp, { recursive: true, force: true });
    throw writeFailure(out, err);
  }
}

/** `out` may be new, empty, or an earlier export (its model.json says so); anything else is someone's folder. */
function checkOut(out: string): void {
  const existing = nearestExisting(dirname(resolve(out)));
  if (!statSync(existing).isDirectory()) throw new GantryError(`the export folder ${out}: ${existing} is a file, so no folder can be made below it; give another folder`);
  if (!existsSync(out)) return;
  if (!statSync(out).isDirectory()) throw new GantryError(`the export folder ${out} is a file; give a folder to write the site into`);
  const entries = readdirSync(out);
  if (entries.length === 0) return;
  let format: unknown;
  try {
    format = JSON.parse(readFileSync(join(out, MODEL_FILE), 'utf8')).format;
  } catch (err) {
    format = describeError(err);
  }
  if (format !== MODEL_FORMAT) throw new GantryError(`the export folder ${out} holds other files (${entries.slice(0, 3).join(', ')}${entries.length > 3 ? ', ...' : ''}); give a new or empty folder, or an earlier export to replace`);
}
