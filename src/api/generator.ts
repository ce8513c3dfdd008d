import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { GantryError, describeError } from '../errors.ts';
import { initEngine, type Device } from '../engine/index.ts';
import { generatorTensors } from '../export/export-run.ts';
import { labelMapsFromFiles } from '../explore/label-map-files.ts';
import { learnStylesOfRun, type LearnedStyles } from '../explore/run-styles.ts';
import { encodePng } from '../io/png.ts';
import { CONFIG_FILE, openRun, runData } from '../train/run.ts';
import { imageAt } from '../web/canvas.ts';
import { buildGenerator, generatorFrom, MAX_IMAGES, type GeneratedImages, type LabelMapInput, type WebGenerator } from '../web/generator.ts';
import { openDataset } from '../data/index.ts';
import { reconstructImages } from '../explore/reconstruct.ts';
import { MODEL_FILE, WEIGHTS_FILE } from '../web/model-file.ts';
import { checkKeys, checkPath, checkSignal } from '../options.ts';
import { projectionSettings, projectPictures, type ProjectedPicture, type ProjectionSettings } from '../explore/project.ts';
import { projectionMeasure } from '../metrics/lpips.ts';
import { readImageFile } from '../io/image.ts';
import type { RawImage } from '../io/pixels.ts';

/**
 * A trained generator in a Node program: the run folder's newest checkpoint (or a folder `gantry export`
 * wrote), as the same object `gantry/web`'s loadGenerator gives a page: `generate({ seeds })` draws
 * seed:N as `gantry sample --seed N` does, classes, captions, label maps and styles as the CLI takes
 * them. `dispose()` frees its tensors.
 */
export async function openGenerator(path: string, options: { device?: Device } = {}): Promise<WebGenerator> {
  checkPath(path, 'openGenerator()', 'a run folder or an exported generator\'s folder', 'openGenerator("runs/first")');
  checkKeys(options, ['device'], 'openGenerator()');
  await initEngine({ device: options.device ?? 'cpu' });
  if (existsSync(join(path, CONFIG_FILE))) {
    const run = openRun(path);
    try {
      const { model, tensors } = await generatorTensors(run, path);
      return generatorFrom(model, tensors);
    } finally {
      run.model.dispose();
    }
  }
  if (existsSync(join(path, MODEL_FILE))) {
    const read = (name: string) => {
      try {
        return readFileSync(join(path, name));
      } catch (err) {
        throw new GantryError(`cannot read ${join(path, name)} (${describeError(err)}); export the run again (exportRun)`);
      }
    };
    let json: unknown;
    try {
      json = JSON.parse(read(MODEL_FILE).toString('utf8'));
    } catch (err) {
      if (err instanceof GantryError) throw err;
      throw new GantryError(`${join(path, MODEL_FILE)} is not JSON (${describeError(err)}); export the run again (exportRun)`);
    }
    // A view of the file's bytes, not a copy (the generator's arrays are views of them too: 730 MB for NVIDIA's label2city).
    const weights = read(WEIGHTS_FILE);
    return buildGenerator(json, new Uint8Array(weights.buffer, weights.byteOffset, weights.byteLength), join(path, MODEL_FILE));
  }
  throw new GantryError(`${path} is neither a run folder (no ${CONFIG_FILE}) nor an exported generator (no ${MODEL_FILE}); give the folder of a training run or of exportRun`);
}

/** Image i of generated images as PNG bytes (`tile` first for a grid). */
export function pngBytes(images: GeneratedImages, i = 0): Uint8Array {
  const png = encodePng(imageAt(images, i));
  return new Uint8Array(png.buffer, png.byteOffset, png.byteLength);
}

/**
 * Label map PNGs (ids as grey 8/16-bit or palette; with their instance maps where the run was trained
 * with them) fitted to a label-map generator's size as `gantry translate --labels` fits them, for
 * `generate({ labelMaps })`. Without `instanceFiles` a run trained with instance maps reads each label map as
 * its own (each label's area one object), as generate() and the page's painter do. An id the run never
 * learned is one line naming the file.
 */
export function readLabelMaps(generator: WebGenerator, labelFiles: string[], instanceFiles?: string[]): LabelMapInput[] {
  const { maps } = labelMapsFromFiles(generator.info, labelFiles, instanceFiles ?? null);
  const area = maps.height * maps.width;
  return Array.from({ length: maps.n }, (_, i) => ({
    width: maps.width,
    height: maps.height,
    labels: maps.labels.subarray(i * area, (i + 1) * area),
    instances: maps.instances?.subarray(i * area, (i + 1) * area),
  }));
}

/**
 * Pictures read from PNG or JPEG files, for `generate({ pictures })` of a pix2pixHD run on pictures as
 * inputs (a run on pairs:DIR's train_A/ + train_B/); generate() fits them to the run's size as
 * `gantry translate --inputs` does. A missing or corrupt file is one line naming it.
 */
export function readPictures(files: string[]): RawImage[] {
  if (!Array.isArray(files) || !files.every((f) => typeof f === 'string' && f.length > 0)) throw new GantryError('readPictures(): give the picture files as an array, e.g. readPictures(["edges.png"])');
  return files.map(readImageFile);
}

/**
 * A pix2pixhd run's instance styles learned again from its training data (`gantry features`): each
 * class's encoded objects clustered into `clusters` (10) styles, seeded (the run's seed), written into the
 * run folder for openGenerator and exportRun. A finished run with instance features has learned them already.
 */
export async function learnStyles(run: string, options: { clusters?: number; seed?: number; device?: Device } = {}): Promise<LearnedStyles> {
  checkPath(run, 'learnStyles()', 'a pix2pixhd run folder', 'learnStyles("runs/label2photo")');
  checkKeys(options, ['clusters', 'seed', 'device'], 'learnStyles()');
  const { clusters, seed } = options;
  if (clusters !== undefined && !(Number.isInteger(clusters) && clusters >= 1)) throw new GantryError(`learnStyles(): clusters must be a whole number >= 1, got ${clusters}`);
  await initEngine({ device: options.device ?? 'cpu' });
  return learnStylesOfRun(run, { clusters, seed });
}

/**
 * An auto-encoder run's reconstructions (`gantry reconstruct`; vae, vae-gan, unet-vae-gan): `n` (32)
 * images of `data` (the run's data SPEC by default), picked by `seed` (0) as the CLI picks them, and what
 * the run makes of each; image i of `reconstructions` is image i of `inputs` through the encoder and decoder.
 */
export async function reconstruct(run: string, options: { data?: string; n?: number; seed?: number; device?: Device } = {}): Promise<{ inputs: GeneratedImages; reconstructions: GeneratedImages }> {
  checkPath(run, 'reconstruct()', 'a vae, vae-gan or unet-vae-gan run folder', 'reconstruct("runs/vae")');
  checkKeys(options, ['data', 'n', 'seed', 'device'], 'reconstruct()');
  const n = options.n ?? 32;
  if (!(Number.isInteger(n) && n >= 1 && n <= MAX_IMAGES)) throw new GantryError(`reconstruct(): n must be a whole number from 1 to ${MAX_IMAGES}, got ${options.n}`);
  await initEngine({ device: options.device ?? 'cpu' });
  const opened = openRun(run);
  try {
    return await reconstructImages(opened, openDataset(options.data ?? runData(opened), opened.info), n, options.seed ?? 0);
  } finally {
    opened.model.dispose();
  }
}

/** What project() takes besides the run and the pictures: ProjectionSettings's, the condition, progress. */
export interface ProjectOptions extends Partial<ProjectionSettings> {
  /** Class runs: try this class only (an index or a name); absent: every class. */
  class?: number | string;
  /** Text runs: the captions to try (absent: the run's first sample caption). */
  text?: string | string[];
  /** Hears how many image-steps are done, of images x steps. */
  onProgress?: (done: number, total: number) => void;
  /** Hears how many of the pool's images are measured in the search for starts, before the steps. */
  onPoolProgress?: (done: number, total: number) => void;
  /** Aborted: no more steps; each image gets the closest vector found so far. */
  signal?: AbortSignal;
  /** Measure by LPIPS on VGG-16 (both files: LPIPS's linear layers and torchvision's VGG-16) rather than squared error. */
  lpips?: string;
  vgg16?: string;
  device?: Device;
}

const PROJECT_KEYS = ['steps', 'starts', 'pool', 'lr', 'seed', 'sphere', 'class', 'text', 'onProgress', 'onPoolProgress', 'signal', 'lpips', 'vgg16', 'device'] as const;

/**
 * The latent vectors of pictures of yours (`gantry project`): for each image file, the vector whose image
 * is closest to it, found by Adam on z from the closest seeds of a pool. Draw one again with
 * `openGenerator(run)` and `generate({ latents: [p.latent], class: p.class, text: p.text })`; interpolate
 * or add them like seeds' vectors (`slerp`, latent arithmetic). Measured by squared error, or by LPIPS with
 * `lpips` and `vgg16` given.
 */
export async function project(run: string, images: string[], options: ProjectOptions = {}): Promise<(ProjectedPicture & { image: string })[]> {
  checkPath(run, 'project()', 'a run folder first', 'project("runs/digits", ["me.png"])');
  if (!Array.isArray(images) || images.length === 0 || !images.every((f) => typeof f === 'string' && f.length > 0)) {
    throw new GantryError('project(): give the image files as an array second, e.g. project("runs/digits", ["me.png", "you.jpg"])');
  }
  checkKeys(options, PROJECT_KEYS, 'project()');
  const { class: cls, text, onProgress, onPoolProgress, signal, lpips: lin, vgg16, device, ...rest } = options;
  const settings = projectionSettings(rest);
  checkSignal(signal, 'project()');
  const openMeasure = projectionMeasure({ lpips: lin, vgg16 }, 'project(): projection by LPIPS');
  const pictures = images.map(readImageFile);
  await initEngine({ device: device ?? 'cpu' });
  const opened = openRun(run);
  const { measure, dispose } = openMeasure();
  try {
    const flags = { class: cls === undefined ? undefined : String(cls), text: text === undefined ? undefined : [text].flat() };
    const { projected, targets } = await projectPictures(opened, pictures, flags, settings, { progress: onProgress, poolProgress: onPoolProgress, measure, signal });
    targets.dispose();
    return projected.map((p, i) => ({ image: images[i], ...p }));
  } finally {
    dispose();
    opened.model.dispose();
  }
}
