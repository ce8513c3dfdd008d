import * as tf from '@tensorflow/tfjs-core';
import { GantryError, inWords } from '../errors.ts';
import type { RawImage } from '../io/pixels.ts';
import { fittedPixels } from '../data/transform.ts';
import { Adam } from '../optim/adam.ts';
import { latentForSeed } from './latent.ts';
import { drawChunk, vectorsToImages } from './render.ts';
import { conditionChoices, conditionTensor, cycleConditions, stackRows, joinConditions, type ConditionChoice, type ConditionFlags, type ConditionRows, type Generator } from './conditions.ts';
import { conditionTensors } from '../models/condition.ts';
import { RepeatedStep } from '../models/step-runner.ts';

/**
 * Projection (GAN inversion by optimisation, as iGAN, Zhu et al. 2016, and StyleGAN2's projector find
 * theirs): the latent vector whose image is closest to a given image, so that a person's own pictures can
 * be interpolated, added and drawn again like seeds. The closest of a pool of seeds (and of the encoder's
 * guess, where the run has an encoder) start Adam on z; the distance of the drawn image (squared error, or
 * LPIPS) falls, and the best start of each image is kept.
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
  /** The measure's distance between the image drawn from `latent` and the target (mean squared error: pixels in [-1, 1]). */
  distance: number;
  /** The same for the closest start, before the optimisation. */
  startDistance: number;
}

/**
 * How far images are from their targets: one value a pair of [n, H, W, C] images in [-1, 1], differentiable.
 * `pairsAtOnce` bounds how many pairs one step takes (memory).
 */
export interface ImageMeasure {
  name: 'mse' | 'lpips';
  pairs(images: tf.Tensor4D, targets: tf.Tensor4D): tf.Tensor1D;
  pairsAtOnce(height: number, width: number): number;
}

/** Pixels whose squared error one step takes, at most: memory does not grow with the number of images. */
const PROJECT_PIXELS = 64 * 64 * 64;

/** Mean squared error of the pixels, in the networks' [-1, 1] units: the default measure. */
export const SQUARED_ERROR: ImageMeasure = {
  name: 'mse',
  pairs: (images, targets) => tf.tidy(() => tf.mean(tf.squaredDifference(images, targets), [1, 2, 3]) as tf.Tensor1D),
  pairsAtOnce: (height, width) => Math.floor(PROJECT_PIXELS / (height * width)),
};

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
  /** The measure's distance of the vector's image from the picture (mean squared error: pixels in [-1, 1]). */
  distance: number;
  /** The same for the closest start. */
  start: number;
}

/** What a projection reports to, measures with and stops at, each optional. */
export interface ProjectionHooks {
  /** Hears after each step how many of the images' steps are done, of n x steps; a promise it returns is awaited before the next step. */
  progress?: (done: number, total: number) => void | Promise<void>;
  /** Hears the choices made for the user (every class tried). */
  warn?: (line: string) => void;
  /**
   * Hears, as the pool is searched for starts, how many of its images are measured, of pool x the conditions
   * tried x the groups of images optimised at once (each group searches the pool).
   */
  poolProgress?: (done: number, total: number) => void;
  /** The distance minimised (default: SQUARED_ERROR). */
  measure?: ImageMeasure;
  /**
   * Aborted: no further steps, and no more of the pool measured than the first draw of it; each image gets
   * the closest vector found so far (or its closest start, for images whose turn had not come), as at the end.
   */
  signal?: AbortSignal;
}

/**
 * Pictures (any size, fitted to the run's as training data are) projected with the conditions `flags`
 * allows (conditionChoices): what `gantry project` and the API's project() do. Also returns the fitted
 * pictures (the caller disposes them) and each one's condition, for drawing the vectors again.
 */
export async function projectPictures(run: Generator, pictures: RawImage[], flags: ConditionFlags, settings: ProjectionSettings, hooks: ProjectionHooks = {}): Promise<{ projected: ProjectedPicture[]; targets: tf.Tensor4D; conditions: ConditionRows }> {
  checkProjectable(run);
  const choices = await conditionChoices(run, flags, hooks.warn);
  if (choices.length > 1 && run.info.conditioning.kind === 'class') hooks.warn?.(`trying each of the ${choices.length} classes (${inWords('--class K', 'class')} tries one)`);
  const { height, width, channels, conditioning } = run.info;
  const targets = tf.tensor4d(fittedPixels(pictures, run.info), [pictures.length, height, width, channels]);
  try {
    const found = await projectImages(run, targets, choices, settings, hooks);
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

/** The most pairs one step may take (a measure's pairsAtOnce) times this: the starts of one image, at most. */
const MAX_START_FACTOR = 4;

/** Why no vector can be found for this run's images (a sentence), or null for runs whose images are a function of z and a condition alone. */
export function projectionRefusal(run: Generator): string | null {
  const { family, latentDim, conditioning } = run.info;
  if (conditioning.kind === 'labelMap' || latentDim === 0 || !run.model.generate) {
    return `a ${family} run has no latent space to project into; projection finds the latent vectors of generators (dcgan, cgan, acgan, vae, vae-gan, gan-cls, dfgan)`;
  }
  if (run.model.useReferenceImages) {
    return `a ${family} run draws from reference images' skip connections as much as from z, so no latent vector alone gives an image back; \`gantry reconstruct\` passes images through it`;
  }
  return null;
}

/** Refuses, in one line, a run whose images no latent vector alone gives back (projectionRefusal). */
export function checkProjectable(run: Generator): void {
  const refusal = projectionRefusal(run);
  if (refusal) throw new GantryError(refusal);
}

/** The latent vector (and condition, of `choices`) of each target image [n, H, W, C] in [-1, 1]. */
export async function projectImages(run: Generator, targets: tf.Tensor4D, choices: ConditionChoice[], settings: ProjectionSettings, hooks: ProjectionHooks = {}): Promise<Projection[]> {
  checkProjectable(run);
  const { progress, poolProgress, measure = SQUARED_ERROR, signal } = hooks;
  if (choices.length === 0) throw new Error('projectImages: no condition to project with');
  const [n, height, width, channels] = targets.shape;
  const { info } = run;
  if (height !== info.height || width !== info.width || channels !== info.channels) {
    throw new GantryError(`images of ${width}x${height}x${channels} cannot be projected into a run that draws ${info.width}x${info.height}x${info.channels}; fit them first`);
  }
  const atOnce = measure.pairsAtOnce(height, width);
  const most = Math.max(1, MAX_START_FACTOR * atOnce);
  if (settings.starts > most) throw new GantryError(`${settings.starts} starts of ${width}x${height} images are more than one optimisation holds (measured by ${measure.name}); give at most ${most}`);
  const chunk = Math.max(1, Math.floor(atOnce / settings.starts));
  const out: Projection[] = [];
  const poolTotal = Math.ceil(n / chunk) * choices.length * settings.pool;
  for (let first = 0; first < n; first += chunk) {
    const count = Math.min(chunk, n - first);
    const part = tf.slice(targets, [first, 0, 0, 0], [count, -1, -1, -1]);
    try {
      const poolDone = (first / chunk) * choices.length * settings.pool;
      const starts = await chooseStarts(run, part, choices, settings, measure, { progress: (done) => poolProgress?.(poolDone + done, poolTotal), signal });
      out.push(...await optimise(run, part, starts, choices, settings, measure, (step) => progress?.(first * settings.steps + step * count, n * settings.steps), signal));
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

/**
 * For each target, the `starts` closest images of the pool (every choice's seeds, and the run's encoder's
 * vector of the target where it has one), as (vector, choice) pairs, closest first.
 */
async function chooseStarts(run: Generator, targets: tf.Tensor4D, choices: ConditionChoice[], settings: ProjectionSettings, measure: ImageMeasure, hooks: { progress: (done: number) => void; signal?: AbortSignal }): Promise<Start[][]> {
  const n = targets.shape[0];
  const dim = run.info.latentDim;
  const best: Start[][] = Array.from({ length: n }, () => []);
  const keep = (t: number, start: Start) => {
    const list = best[t];
    list.push(start);
    list.sort((a, b) => a.distance - b.distance);
    if (list.length > settings.starts) list.pop();
  };
  // Each target against a chunk of images at a time: memory does not grow with --pool.
  const chunk = Math.max(1, Math.min(drawChunk(run.info), measure.pairsAtOnce(run.info.height, run.info.width)));
  const measureAll = async (vectors: Float32Array[], c: number) => {
    const images = vectorsToImages(run, vectors, cycleConditions(choices[c].condition, vectors.length));
    for (let t = 0; t < n; t++) {
      const d = tf.tidy(() => measure.pairs(images, tf.tile(tf.slice(targets, [t, 0, 0, 0], [1, -1, -1, -1]), [vectors.length, 1, 1, 1]) as tf.Tensor4D));
      const values = (await d.data()) as Float32Array;
      d.dispose();
      vectors.forEach((latent, i) => keep(t, { latent, choice: c, distance: values[i] }));
    }
    images.dispose();
  };
  const encoded = await encoderGuesses(run, targets);
  for (let c = 0; c < choices.length; c++) {
    for (let first = 0; first < settings.pool; first += chunk) {
      // Stopped: the pool's first draw under each condition is enough to start from.
      if (first > 0 && hooks.signal?.aborted) break;
      const count = Math.min(chunk, settings.pool - first);
      await measureAll(Array.from({ length: count }, (_, i) => latentForSeed(settings.seed + first + i, dim)), c);
      hooks.progress(c * settings.pool + first + count);
      // Let a progress bar draw and Ctrl-C be heard.
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
    // The encoder's vector of each target, drawn with this condition.
    if (encoded) {
      for (let t = 0; t < n; t++) {
        const image = vectorsToImages(run, [encoded[t]], cycleConditions(choices[c].condition, 1));
        const d = tf.tidy(() => measure.pairs(image, tf.slice(targets, [t, 0, 0, 0], [1, -1, -1, -1])));
        keep(t, { latent: encoded[t], choice: c, distance: (await d.data())[0] });
        tf.dispose([image, d]);
      }
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
async function optimise(run: Generator, targets: tf.Tensor4D, starts: Start[][], choices: ConditionChoice[], settings: ProjectionSettings, measure: ImageMeasure, progress: (step: number) => void | Promise<void>, signal?: AbortSignal): Promise<Projection[]> {
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
  // On WebGPU the step is recorded and replayed: its operations and tensors are the same every step.
  const repeated = new RepeatedStep();
  const step = () => {
    // Each start's own distance, summed: a start's gradient does not depend on how many there are.
    const { grads, value } = tf.variableGrads(() => tf.sum(measure.pairs(run.model.generate!(z, condition), goal)) as tf.Scalar, [z]);
    adam.apply(grads);
    tf.dispose(Object.values(grads));
    if (sphere) tf.tidy(() => z.assign(tf.mul(z, tf.div(Math.sqrt(dim), tf.maximum(tf.norm(z, 2, 1, true), 1e-12)))));
    return { value };
  };
  try {
    for (let s = 0; s < settings.steps && !signal?.aborted; s++) {
      adam.lrFactor = projectionRamp(s, settings.steps);
      tf.dispose(repeated.run(step).value);
      if (s % 10 === 9) {
        // A GPU backend queues steps far ahead of its work: waiting for it every 10 steps keeps progress and a
        // stop with the steps done, not the steps queued.
        await z.data();
        // Let a progress bar draw, Ctrl-C be heard and a page answer.
        await new Promise((resolve) => setTimeout(resolve, 0));
      }
      await progress(s + 1);
    }
    const latents = (await z.data()) as Float32Array;
    const vectors = rows.map((_, r) => latents.slice(r * dim, (r + 1) * dim));
    // Scored as sample draws them (networks in evaluation mode, through the same path), so the distance is the one a user sees.
    const images = vectorsToImages(run, vectors, conditionRows);
    const errors = measure.pairs(images, goal);
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
    repeated.dispose();
    adam.dispose();
    tf.dispose([z, goal, ...conditionTensors(condition)]);
  }
}
