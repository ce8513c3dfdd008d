import * as tf from '@tensorflow/tfjs-core';
import { GantryError, inWords } from '../errors.ts';
import type { RawImage } from '../io/pixels.ts';
import { fittedPixels } from '../data/transform.ts';
import { Adam } from '../optim/adam.ts';
import { latentForSeed } from './latent.ts';
import { drawChunk, vectorsToImages } from './render.ts';
import { conditionChoices, conditionTensor, cycleConditions, stackRows, joinConditions, type ConditionChoice, type ConditionFlags, type ConditionRows, type Generator } from './conditions.ts';
import { conditionTensors } from '../models/condition.ts';

/**
 * Projection (GAN inversion by optimisation, as iGAN, Zhu et al. 2016, and StyleGAN2's projector find
 * theirs): the latent vector whose image is closest to a given image, so that a person's own pictures can
 * be interpolated, added and drawn again like seeds. The closest of a pool of seeds (and of the encoder's
 * guess, where the run has an encoder) start Adam on z; the squared error of the drawn image falls,
 * and the best start of each image is kept.
 */
export interface ProjectionSettings {
  /** Adam steps. */
  steps: number;
  /** Vectors optimised at once for each image (the closest of the pool); the closest at the end is kept. */
  starts: number;
  /** Seeds drawn for each condition to choose the starts from. */
  pool: number;
  /** Adam's step size, ramped down over the last quarter of the steps. */
  lr: number;
  /** The pool is seed:seed .. seed:seed + pool - 1. */
  seed: number;
  /**
   * After every step each vector is scaled back to length sqrt(latent size), where N(0, I)'s vectors lie:
   * unconstrained, a GAN's vectors drift to atypical lengths, where interpolation
   * and arithmetic leave what G was trained on. Absent: on for GANs, off for auto-encoders, whose decoders
   * learned from the encoder's vectors, which lie inside the sphere (the README has the measurements).
   */
  sphere?: boolean;
}

export const PROJECTION_DEFAULTS: ProjectionSettings = { steps: 300, starts: 8, pool: 64, lr: 0.1, seed: 0 };

/** Whether a projection into this run keeps its vectors on the sphere (ProjectionSettings.sphere). */
export function keepsToSphere(run: Generator, settings: ProjectionSettings): boolean {
  return settings.sphere ?? !run.model.reconstruct;
}

export interface Projection {
  latent: Float32Array;
  /** Index into the choices given: the condition the latent is drawn with. */
  choice: number;
  /** Mean squared error between the image drawn from `latent` and the target, in the networks' [-1, 1] units. */
  distance: number;
  /** The same for the closest start, before the optimisation. */
  startDistance: number;
}

/** Settings from what a user gave (absent: PROJECTION_DEFAULTS), each checked: one line naming a bad one. */
export function projectionSettings(o: Partial<ProjectionSettings>): ProjectionSettings {
  const s = { ...PROJECTION_DEFAULTS, ...Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) } as ProjectionSettings;
  const whole = (name: 'steps' | 'starts' | 'pool' | 'seed', min: number) => {
    if (!(Number.isInteger(s[name]) && s[name] >= min)) throw new GantryError(`projection: ${name} must be a whole number >= ${min}, got ${s[name]}`);
  };
  whole('steps', 0);
  whole('starts', 1);
  whole('pool', 1);
  whole('seed', 0);
  if (s.starts > s.pool) throw new GantryError(`projection: ${s.starts} starts are more than a pool of ${s.pool} seeds gives; starts are the pool's closest`);
  if (!(typeof s.lr === 'number' && s.lr > 0 && Number.isFinite(s.lr))) throw new GantryError(`projection: lr must be a number above 0 (e.g. 0.1), got ${s.lr}`);
  if (s.sphere !== undefined && typeof s.sphere !== 'boolean') throw new GantryError(`projection: sphere must be true or false, got ${String(s.sphere)}`);
  return s;
}

/** An image of the user's projected: its vector, the class or caption it is drawn with, its squared errors. */
export interface ProjectedPicture {
  latent: Float32Array;
  /** Class runs: the class's name (or index); text runs: the caption. */
  class?: string;
  text?: string;
  /** Mean squared error of the vector's image against the picture (pixels in [-1, 1]). */
  distance: number;
  /** The same for the closest start. */
  start: number;
}

/**
 * Pictures (any size, fitted to the run's as training data are) projected with the conditions `flags`
 * allows (conditionChoices): what `gantry project` and the API's project() do. Also returns the fitted
 * pictures (the caller disposes them) and each one's condition, for drawing the vectors again.
 */
export async function projectPictures(run: Generator, pictures: RawImage[], flags: ConditionFlags, settings: ProjectionSettings, progress?: (done: number, total: number) => void, warn?: (line: string) => void): Promise<{ projected: ProjectedPicture[]; targets: tf.Tensor4D; conditions: ConditionRows }> {
  checkProjectable(run);
  const choices = await conditionChoices(run, flags, warn);
  if (choices.length > 1 && run.info.conditioning.kind === 'class') warn?.(`trying each of the ${choices.length} classes (${inWords('--class K', 'class')} tries one)`);
  const { height, width, channels, conditioning } = run.info;
  const targets = tf.tensor4d(fittedPixels(pictures, run.info), [pictures.length, height, width, channels]);
  try {
    const found = await projectImages(run, targets, choices, settings, progress);
    const projected = found.map((p) => ({
      latent: p.latent,
      ...(conditioning.kind === 'class' ? { class: choices[p.choice].name } : conditioning.kind === 'text' ? { text: choices[p.choice].name } : {}),
      distance: p.distance,
      start: p.startDistance,
    }));
    return { projected, targets, conditions: joinConditions(found.map((p) => choices[p.choice].condition)) };
  } catch (err) {
    targets.dispose();
    throw err;
  }
}

/** Pixels optimised at once, at most (starts x images of a chunk): memory does not grow with the number of images. */
const PROJECT_PIXELS = 64 * 64 * 64;

/** The most pixels the starts of one image may have (256 starts of 64x64, 4 of 512x512). */
const MAX_START_PIXELS = 4 * PROJECT_PIXELS;

/** Families whose images are a function of z and a condition alone. */
export function checkProjectable(run: Generator): void {
  const { family, latentDim, conditioning } = run.info;
  if (conditioning.kind === 'labelMap' || latentDim === 0 || !run.model.generate) {
    throw new GantryError(`a ${family} run has no latent space to project into; projection finds the latent vectors of generators (dcgan, cgan, acgan, vae, vae-gan, gan-cls, dfgan)`);
  }
  if (run.model.useReferenceImages) {
    throw new GantryError(`a ${family} run draws from reference images' skip connections as much as from z, so no latent vector alone gives an image back; \`gantry reconstruct\` passes images through it`);
  }
}

/**
 * The latent vector (and condition, of `choices`) of each target image [n, H, W, C] in [-1, 1]. `progress`
 * hears after each step how many of the images' steps are done, of n x steps.
 */
export async function projectImages(run: Generator, targets: tf.Tensor4D, choices: ConditionChoice[], settings: ProjectionSettings, progress?: (done: number, total: number) => void): Promise<Projection[]> {
  checkProjectable(run);
  if (choices.length === 0) throw new Error('projectImages: no condition to project with');
  const [n, height, width, channels] = targets.shape;
  const { info } = run;
  if (height !== info.height || width !== info.width || channels !== info.channels) {
    throw new GantryError(`images of ${width}x${height}x${channels} cannot be projected into a run that draws ${info.width}x${info.height}x${info.channels}; fit them first`);
  }
  if (settings.starts * height * width > MAX_START_PIXELS) {
    throw new GantryError(`${settings.starts} starts of ${width}x${height} images are more than one optimisation holds; give at most ${Math.max(1, Math.floor(MAX_START_PIXELS / (height * width)))}`);
  }
  const chunk = Math.max(1, Math.floor(PROJECT_PIXELS / (settings.starts * height * width)));
  const out: Projection[] = [];
  for (let first = 0; first < n; first += chunk) {
    const count = Math.min(chunk, n - first);
    const part = tf.slice(targets, [first, 0, 0, 0], [count, -1, -1, -1]);
    try {
      const starts = await chooseStarts(run, part, choices, settings);
      out.push(...await optimise(run, part, starts, choices, settings, (step) => progress?.(first * settings.steps + step * count, n * settings.steps)));
    } finally {
      part.dispose();
    }
  }
  return out;
}

interface Start {
  latent: Float32Array;
  choice: number;
  distance: number;
}

/** Mean squared errors [targets, images] between every target and every image, without their differences at once. */
function pairwiseSquaredError(targets: tf.Tensor4D, images: tf.Tensor4D): tf.Tensor2D {
  return tf.tidy(() => {
    const a = tf.reshape(targets, [targets.shape[0], -1]) as tf.Tensor2D;
    const b = tf.reshape(images, [images.shape[0], -1]) as tf.Tensor2D;
    const aa = tf.sum(tf.square(a), 1, true);
    const bb = tf.reshape(tf.sum(tf.square(b), 1), [1, -1]);
    const ab = tf.matMul(a, b, false, true);
    return tf.div(tf.relu(tf.sub(tf.add(aa, bb), tf.mul(ab, 2))), a.shape[1]) as tf.Tensor2D;
  });
}

/**
 * For each target, the `starts` closest images of the pool (every choice's seeds, and the run's encoder's
 * vector of the target where it has one), as (vector, choice) pairs, closest first.
 */
async function chooseStarts(run: Generator, targets: tf.Tensor4D, choices: ConditionChoice[], settings: ProjectionSettings): Promise<Start[][]> {
  const n = targets.shape[0];
  const dim = run.info.latentDim;
  const best: Start[][] = Array.from({ length: n }, () => []);
  const keep = (t: number, start: Start) => {
    const list = best[t];
    list.push(start);
    list.sort((a, b) => a.distance - b.distance);
    if (list.length > settings.starts) list.pop();
  };
  const encoded = await encoderGuesses(run, targets);
  // The pool is drawn a chunk at a time: memory does not grow with --pool.
  const chunk = drawChunk(run.info);
  for (let c = 0; c < choices.length; c++) {
    for (let first = 0; first < settings.pool; first += chunk) {
      const part = Array.from({ length: Math.min(chunk, settings.pool - first) }, (_, i) => latentForSeed(settings.seed + first + i, dim));
      const images = vectorsToImages(run, part, cycleConditions(choices[c].condition, part.length));
      const distances = pairwiseSquaredError(targets, images);
      images.dispose();
      const d = (await distances.array()) as number[][];
      distances.dispose();
      for (let t = 0; t < n; t++) for (let i = 0; i < part.length; i++) keep(t, { latent: part[i], choice: c, distance: d[t][i] });
    }
    if (!encoded) continue;
    // The encoder's vector of target t, drawn with this condition.
    for (let t = 0; t < n; t++) {
      const image = vectorsToImages(run, [encoded[t]], cycleConditions(choices[c].condition, 1));
      const target = tf.slice(targets, [t, 0, 0, 0], [1, -1, -1, -1]);
      const e = pairwiseSquaredError(target, image);
      keep(t, { latent: encoded[t], choice: c, distance: (await e.data())[0] });
      tf.dispose([image, target, e]);
    }
  }
  return best;
}

/** The run's image encoder's latent vector of each target (vae, vae-gan, gan-cls's style encoder), or null. */
async function encoderGuesses(run: Generator, targets: tf.Tensor4D): Promise<Float32Array[] | null> {
  if (!run.model.inferLatent) return null;
  const z = run.model.inferLatent(targets);
  const values = (await z.data()) as Float32Array;
  z.dispose();
  const dim = run.info.latentDim;
  return Array.from({ length: targets.shape[0] }, (_, t) => values.slice(t * dim, (t + 1) * dim));
}

/** Adam's step-size factor at step s of steps: 1, then a cosine down to 0 over the last quarter (StyleGAN2's projector's ramp-down). */
export function projectionRamp(s: number, steps: number): number {
  const left = (steps - s) / steps;
  return left >= 0.25 ? 1 : 0.5 - 0.5 * Math.cos(Math.PI * left / 0.25);
}

/** Every start of `count` targets optimised at once; the closest of each target's starts at the end. */
async function optimise(run: Generator, targets: tf.Tensor4D, starts: Start[][], choices: ConditionChoice[], settings: ProjectionSettings, progress: (step: number) => void): Promise<Projection[]> {
  const dim = run.info.latentDim;
  const sphere = keepsToSphere(run, settings);
  const rows = starts.flat();
  // tidy frees the initial values; the variable keeps its own reference.
  const z = tf.tidy(() => tf.variable(tf.tensor2d(stackRows(rows.map((s) => s.latent)), [rows.length, dim]), true));
  const conditionRows = joinConditions(rows.map((s) => choices[s.choice].condition));
  const condition = conditionTensor(conditionRows);
  // Each start's target, repeated beside it.
  const goal = tf.tidy(() => tf.gather(targets, starts.flatMap((list, t) => list.map(() => t))) as tf.Tensor4D);
  const adam = new Adam([z], { lr: settings.lr, beta1: 0.9, beta2: 0.999 });
  try {
    for (let s = 0; s < settings.steps; s++) {
      adam.lrFactor = projectionRamp(s, settings.steps);
      // Each start's own squared error, summed: a start's gradient does not depend on how many there are.
      const { grads, value } = tf.variableGrads(() => tf.sum(tf.mean(tf.squaredDifference(run.model.generate!(z, condition), goal), [1, 2, 3])) as tf.Scalar, [z]);
      adam.apply(grads);
      tf.dispose([value, ...Object.values(grads)]);
      if (sphere) tf.tidy(() => z.assign(tf.mul(z, tf.div(Math.sqrt(dim), tf.maximum(tf.norm(z, 2, 1, true), 1e-12)))));
      progress(s + 1);
      // Let a progress bar draw and Ctrl-C be heard between steps.
      if (s % 10 === 9) await new Promise((resolve) => setImmediate(resolve));
    }
    const latents = (await z.data()) as Float32Array;
    const vectors = rows.map((_, r) => latents.slice(r * dim, (r + 1) * dim));
    // Scored as sample draws them (networks in evaluation mode, through the same path), so the distance is the one a user sees.
    const images = vectorsToImages(run, vectors, conditionRows);
    const errors = tf.tidy(() => tf.mean(tf.squaredDifference(images, goal), [1, 2, 3]));
    const e = (await errors.data()) as Float32Array;
    tf.dispose([images, errors]);
    let r = 0;
    return starts.map((list) => {
      let pick = r;
      for (let i = r; i < r + list.length; i++) if (e[i] < e[pick]) pick = i;
      r += list.length;
      // Never farther than where it started: the closest start stands where no vector Adam found beats it
      // (an encoder's guess off the sphere, say).
      const start = list[0];
      if (start.distance <= e[pick]) return { latent: start.latent, choice: start.choice, distance: start.distance, startDistance: start.distance };
      return { latent: vectors[pick], choice: rows[pick].choice, distance: e[pick], startDistance: start.distance };
    });
  } finally {
    adam.dispose();
    tf.dispose([z, goal, ...conditionTensors(condition)]);
  }
}
