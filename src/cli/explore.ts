import * as tf from '@tensorflow/tfjs-core';
import { GantryError, describeError } from '../errors.ts';
import { initEngine, type Device } from '../engine/index.ts';
import { writePng } from '../io/png.ts';
import { arithmeticVectors, latentForSeed, parseLatentExpression, slerp } from '../explore/latent.ts';
import { imageGrid, inputsAboveOutputs } from '../explore/grid.ts';
import { reconstructImages } from '../explore/reconstruct.ts';
import { openRun, runData, type OpenedRun } from '../train/run.ts';
import { drawImages, renderGrid, vectorsToImages } from '../explore/render.ts';
import { checkPngOut, isFolderOut, MAX_GRID, prepareImageFolder } from './output.ts';
import { Progress } from '../train/progress.ts';
import { join } from 'node:path';
import { existsSync, readFileSync } from 'node:fs';
import {
  checkFlags, conditionCount, NONE, conditionPathOf, encodeCaptions, gridColumns, gridConditions, sampleCaptions, sharedCondition,
  type ConditionRows,
} from '../explore/conditions.ts';
import { intArg, numberArg, parseCommandArgs, refuseFlags } from './args.ts';
import { openDataset } from '../data/index.ts';
import { readImageFile } from '../io/image.ts';
import { fittedPixels } from '../data/transform.ts';
import { SYNOPSIS } from './synopsis.ts';

export const SAMPLE_HELP = `${SYNOPSIS.SAMPLE}
  Draws n latent vectors (seeds N, N+1, ...: image i is seed:N+i in interpolate and arith) and writes a grid
  (up to 1024 images), or, with --out DIR (a folder, or a path without an extension), one PNG per image,
  seed-NNNNNN.png, for any n.
  Class-conditional runs (cgan, acgan): --class K (index or name, e.g. 7 or circle) draws every image of
  class K; without it image i is of class i % classes and each column is one class.
  Text runs (gan-cls, dfgan): --text "a small red circle on a blue background" (repeat --text for one column
  each; default: the run's sample captions). --style-from IMG,... (gan-cls): style transfer, one row per image:
  the image, then the style encoder's latent vector of it drawn with each caption. vae and vae-gan runs: each
  image beside the decoder's drawing of its encoding (the posterior mean).
  --truncation T (sample, interpolate, arith): the truncation trick, every latent number beyond ±T drawn
  again (e.g. 0.7: less variety, more typical images).
  --latent "[0.1, -1.2, ...]" (or a .json file of one): draws that latent vector (one image), e.g. one
  edited in the explorer page (its "copy for the CLI" button gives the whole command).`;
export const INTERPOLATE_HELP = `${SYNOPSIS.INTERPOLATE}
  Spherical interpolation between the latent vectors of the seeds; one row per pair of consecutive seeds.
  --latents A.json,B.json[,...]: between latent vectors of files instead (gantry project's, of your images).
  Class-conditional runs: --class K fixes the class (default: the first); --classes A,B[,C...] instead keeps
  the latent vector of --seed N fixed and blends the class embedding from each class to the next.
  Text runs: --text fixes the caption (default: the first sample caption); --texts "A|B[|C...]" keeps
  the latent vector of --seed N and moves the sentence vector linearly from each caption to the next.`;
export const RECONSTRUCT_HELP = `${SYNOPSIS.RECONSTRUCT}
  Auto-encoder runs (vae): a grid of input rows, each followed by its reconstruction.`;
export const ARITH_HELP = `${SYNOPSIS.ARITH}
  Latent vector arithmetic; a term may average seeds: mean(seed:1,seed:2,seed:3). latent:FILE.json is the
  vector in a file (gantry project's, of an image of yours): --expr "latent:me.json - seed:4 + seed:9".
  The image shows each term's image, then the result (class-conditional runs: all of class K; text
  runs: all with one caption).`;

type Run = OpenedRun;

/** --truncation T: latent numbers beyond ±T are drawn again (the truncation trick); T > 0. */
function truncationArg(value: string | undefined): number | undefined {
  const t = numberArg('truncation', value);
  if (t !== undefined && t <= 0) throw new GantryError(`--truncation must be above 0 (e.g. 0.7), got ${value}`);
  return t;
}

const warn = (line: string) => process.stderr.write(line + '\n');

export async function withRun(runDir: string | undefined, device: string | undefined, fn: (run: Run) => Promise<void>): Promise<void> {
  if (!runDir) throw new GantryError('--run RUN_DIR is required (the --out folder of a gantry train)');
  await initEngine({ device: (device ?? 'cpu') as Device });
  const run = openRun(runDir);
  try {
    await fn(run);
  } finally {
    run.model.dispose();
  }
}

/** Writes a grid tensor (small: a style-transfer or reconstruction grid) as a PNG. */
async function save(out: string, images: tf.Tensor4D, cols?: number): Promise<void> {
  writePng(out, await imageGrid(images, cols));
  images.dispose();
  process.stdout.write(`${out}\n`);
}

/** --latent: a JSON array of the run's latent size, given inline or as a file holding one. */
function latentArg(value: string, dim: number): Float32Array {
  if (value.trim().startsWith('[')) return latentVector(value, dim, '--latent');
  if (!existsSync(value)) throw new GantryError(`--latent ${value}: neither a JSON array of numbers nor a file; give e.g. --latent "[0.1, -1.2, ...]"`);
  return readLatentFile(value, dim, '--latent');
}

/** A file holding one latent vector of the run's size, as `gantry project` writes them; `what` names it in messages. */
export function readLatentFile(path: string, dim: number, what = path): Float32Array {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new GantryError(`${what}: cannot read ${path} (${describeError(err)}); give a .json file of one latent vector, as gantry project writes`);
  }
  return latentVector(text, dim, what);
}

function latentVector(text: string, dim: number, what: string): Float32Array {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new GantryError(`${what} is not JSON (${describeError(err)}); give an array of numbers, e.g. [0.1, -1.2, ...]`);
  }
  if (!Array.isArray(parsed) || !parsed.every((v) => typeof v === 'number' && Number.isFinite(v))) throw new GantryError(`${what} must be an array of finite numbers, e.g. [0.1, -1.2, ...]`);
  if (parsed.length !== dim) throw new GantryError(`${what} has ${parsed.length} numbers; this run's latent vectors have ${dim}`);
  return Float32Array.from(parsed);
}

async function saveGrid(run: Run, out: string, vectors: Float32Array[], conditions: ConditionRows, cols: number | undefined, fix: string): Promise<void> {
  if (vectors.length > MAX_GRID) throw new GantryError(`${vectors.length} images are more than one grid holds (${MAX_GRID}); ${fix}`);
  writePng(out, await renderGrid(run, vectors, conditions, cols));
  process.stdout.write(`${out}\n`);
}

export async function sampleCommand(argv: string[]): Promise<void> {
  const { values } = parseCommandArgs('sample', argv, {
    run: { type: 'string' }, n: { type: 'string' }, out: { type: 'string' }, seed: { type: 'string' },
    cols: { type: 'string' }, device: { type: 'string' }, class: { type: 'string' },
    text: { type: 'string', multiple: true }, 'style-from': { type: 'string' }, truncation: { type: 'string' }, latent: { type: 'string' },
  });
  // --style-from draws each image's own latent, --latent the one given: the seeded grid's flags do not apply.
  if (values['style-from'] !== undefined) refuseFlags('sample', values, ['n', 'seed', 'cols', 'truncation', 'latent', 'class'], '--style-from');
  if (values.latent !== undefined) refuseFlags('sample', values, ['n', 'seed', 'cols', 'truncation'], '--latent');
  const n = intArg('n', values.n, 1) ?? 64;
  const seed = intArg('seed', values.seed) ?? 0;
  const out = values.out ?? (values['style-from'] !== undefined ? 'style.png' : 'samples.png');
  // A folder --out (or more images than a grid holds) gets one PNG per image, named by its seed.
  const toFolder = values['style-from'] === undefined && isFolderOut(out);
  if (!toFolder) checkPngOut(out);
  if (!toFolder && n > MAX_GRID) throw new GantryError(`--n ${n} is more images than one grid holds (${MAX_GRID}); give --out DIR (a folder) to write one PNG per image`);
  const cols = intArg('cols', values.cols, 1);
  const truncation = truncationArg(values.truncation);
  await withRun(values.run, values.device, async (run) => {
    if (values['style-from'] !== undefined) {
      await drawFromImages(run, values['style-from'].split(',').map((f) => f.trim()).filter(Boolean), values.text, out);
      return;
    }
    if (values.latent !== undefined) {
      const flags = { class: values.class, text: values.text };
      return saveGrid(run, out, [latentArg(values.latent, run.info.latentDim)], await gridConditions(run, 1, flags, warn), 1, 'give one vector');
    }
    // Vectors and conditions are small (conditions repeat one row per class or caption); images are drawn in chunks.
    const vectors = Array.from({ length: n }, (_, i) => latentForSeed(seed + i, run.info.latentDim, truncation));
    // A conditional grid without --class has one class (or caption) per column.
    const flags = { class: values.class, text: values.text };
    const conditions = await gridConditions(run, n, flags, warn);
    if (!toFolder) return saveGrid(run, out, vectors, conditions, cols ?? gridColumns(run.info, flags), 'give --out DIR');
    prepareImageFolder(out);
    const { height, width, channels } = run.info;
    const per = height * width * channels;
    const progress = new Progress(n, 0, 'sample', process.stderr);
    await drawImages(run, vectors, conditions, (pixels, first, count) => {
      for (let i = 0; i < count; i++) {
        const data = pixels.subarray(i * per, (i + 1) * per);
        writePng(join(out, `seed-${String(seed + first + i).padStart(6, '0')}.png`), { width, height, channels, data });
      }
      progress.update(first + count);
    });
    progress.done();
    process.stdout.write(`${out}/ (${n} images)\n`);
  });
}

/**
 * An image encoder's latent vector of each image, drawn again: Reed et al.'s style transfer for gan-cls
 * (the style encoder's vector of the image's background, pose and placement, drawn with each caption) or
 * a vae's / vae-gan's posterior mean (the image as the decoder draws it). One row per image: the image
 * itself, then one column per caption (text runs) or its drawing.
 */
async function drawFromImages(run: Run, files: string[], texts: string[] | undefined, out: string): Promise<void> {
  if (!run.model.inferLatent) throw new GantryError(`--style-from: a ${run.config.family} run has no image encoder; gan-cls (its style encoder), vae and vae-gan runs have one`);
  if (files.length === 0) throw new GantryError('--style-from needs image files, e.g. --style-from bird.jpg,flower.png');
  checkFlags(run.info, { text: texts });
  const isText = run.info.conditioning.kind === 'text';
  const captions = isText ? (texts?.length ? texts : sampleCaptions(run.info) ?? []) : [];
  const columns = isText ? captions.length : 1;
  const { height, width, channels } = run.info;
  const pixels = fittedPixels(files.map(readImageFile), run.info);
  const images = tf.tensor4d(pixels, [files.length, height, width, channels]);
  const latent = run.model.inferLatent(images);
  const z = (await latent.data()) as Float32Array;
  latent.dispose();
  const dim = run.info.latentDim;
  const vectors = files.flatMap((_, r) => Array.from({ length: columns }, () => z.slice(r * dim, (r + 1) * dim)));
  const conditions = isText ? await encodeCaptions(run, files.flatMap(() => captions), warn) : NONE;
  const generated = vectorsToImages(run, vectors, conditions);
  const rows = tf.tidy(() => tf.concat(files.map((_, r) => tf.concat([
    tf.slice(images, [r, 0, 0, 0], [1, -1, -1, -1]),
    tf.slice(generated, [r * columns, 0, 0, 0], [columns, -1, -1, -1]),
  ], 0)), 0) as tf.Tensor4D);
  tf.dispose([images, generated]);
  await save(out, rows, columns + 1);
}

export async function interpolateCommand(argv: string[]): Promise<void> {
  const { values } = parseCommandArgs('interpolate', argv, {
    run: { type: 'string' }, seeds: { type: 'string' }, frames: { type: 'string' }, out: { type: 'string' },
    seed: { type: 'string' }, device: { type: 'string' }, class: { type: 'string' }, classes: { type: 'string' },
    text: { type: 'string' }, texts: { type: 'string' }, truncation: { type: 'string' }, latents: { type: 'string' },
  });
  // --latents names every vector of the path by its file (gantry project's): seeds and truncation do not apply.
  if (values.latents !== undefined) refuseFlags('interpolate', values, ['seeds', 'seed', 'classes', 'texts', 'truncation'], '--latents');
  const frames = intArg('frames', values.frames, 2) ?? 8;
  if (frames > MAX_GRID) throw new GantryError(`--frames ${frames} is more than one strip holds (${MAX_GRID}); use fewer`);
  const out = values.out ?? 'interpolation.png';
  checkPngOut(out);
  const base = intArg('seed', values.seed) ?? 0;
  const truncation = truncationArg(values.truncation);
  if (values.classes !== undefined && values.seeds !== undefined) {
    throw new GantryError('interpolate: give --seeds (move through latent space) or --classes (move between classes at one --seed), not both');
  }
  if (values.texts !== undefined && (values.seeds !== undefined || values.text !== undefined)) {
    throw new GantryError('interpolate: give --seeds with one --text (move through latent space) or --texts "A|B" (move between captions at one --seed), not both');
  }
  // --seed is the one latent vector of a path between classes or captions; --seeds names every vector.
  if (values.seeds !== undefined) refuseFlags('interpolate', values, ['seed'], '--seeds (they name every vector of the path)');
  await withRun(values.run, values.device, async (run) => {
    const dim = run.info.latentDim;
    let vectors: Float32Array[];
    let conditions: ConditionRows;
    if (values.texts !== undefined || values.classes !== undefined) {
      // One latent vector; the condition moves from each class (caption) to the next.
      conditions = await conditionPathOf(run, { classes: values.classes, texts: values.texts }, frames, warn);
      const z = latentForSeed(base, dim, truncation);
      vectors = Array.from({ length: conditionCount(conditions)! }, () => z);
    } else {
      const files = values.latents?.split(',').map((f) => f.trim()).filter(Boolean);
      const seeds = files ? [] : values.seeds ? values.seeds.split(',').map((s) => intArg('seeds', s.trim())!) : [base, base + 1];
      const count = files?.length ?? seeds.length;
      if (count < 2) throw new GantryError(files ? '--latents needs at least two files, e.g. --latents me.json,you.json' : '--seeds needs at least two seeds, e.g. --seeds 3,17');
      // The condition first: a flag the run does not take, or a run that draws from label maps, is refused before any vector is made.
      conditions = await sharedCondition(run, { class: values.class, text: values.text === undefined ? undefined : [values.text] }, (count - 1) * frames, warn);
      const ends = files ? files.map((f) => readLatentFile(f, dim, `--latents ${f}`)) : seeds.map((s) => latentForSeed(s, dim, truncation));
      vectors = [];
      for (let p = 0; p + 1 < ends.length; p++) {
        for (let f = 0; f < frames; f++) vectors.push(slerp(ends[p], ends[p + 1], f / (frames - 1)));
      }
    }
    await saveGrid(run, out, vectors, conditions, frames, 'use fewer --frames or seeds');
  });
}

export async function reconstructCommand(argv: string[]): Promise<void> {
  const { values } = parseCommandArgs('reconstruct', argv, {
    run: { type: 'string' }, data: { type: 'string' }, n: { type: 'string' }, out: { type: 'string' }, seed: { type: 'string' }, device: { type: 'string' },
  });
  const n = intArg('n', values.n, 1) ?? 32;
  if (n > MAX_GRID) throw new GantryError(`--n ${n} is more inputs than one grid holds (${MAX_GRID}); use fewer`);
  const out = values.out ?? 'reconstruct.png';
  checkPngOut(out);
  await withRun(values.run, values.device, async (run) => {
    const data = openDataset(values.data ?? runData(run), run.info);
    const { inputs, reconstructions } = await reconstructImages(run, data, n, intArg('seed', values.seed) ?? 0);
    writePng(out, inputsAboveOutputs(inputs, reconstructions, 8));
    process.stdout.write(`${out}\n`);
  });
}

export async function arithCommand(argv: string[]): Promise<void> {
  const { values } = parseCommandArgs('arith', argv, {
    run: { type: 'string' }, expr: { type: 'string' }, out: { type: 'string' }, device: { type: 'string' }, class: { type: 'string' },
    text: { type: 'string' }, truncation: { type: 'string' },
  });
  if (!values.expr) throw new GantryError('--expr is required, e.g. --expr "seed:12 - seed:40 + seed:7"');
  const terms = parseLatentExpression(values.expr);
  const out = values.out ?? 'arith.png';
  checkPngOut(out);
  await withRun(values.run, values.device, async (run) => {
    const truncation = truncationArg(values.truncation);
    const vectors = arithmeticVectors(terms, run.info.latentDim, truncation, (path, dim) => readLatentFile(path, dim, `latent:${path}`));
    const conditions = await sharedCondition(run, { class: values.class, text: values.text === undefined ? undefined : [values.text] }, vectors.length, warn);
    await saveGrid(run, out, vectors, conditions, vectors.length, 'use fewer terms');
  });
}
