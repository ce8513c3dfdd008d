import * as tf from '@tensorflow/tfjs-core';
import { GantryError, inWords } from '../errors.ts';
import { takesPictures, type Condition, type ModelInfo } from '../models/condition.ts';
import type { FamilyInstance } from '../models/family.ts';
import { tokenize } from '../text/tokenizer.ts';
import { gatherMaps, hasLabelMaps, readImages, type ImageDataset, type ImageRecords } from '../data/dataset.ts';
import { mapTensor } from '../data/label-maps.ts';
import { packedPicture } from '../data/transform.ts';
import type { RawImage } from '../io/pixels.ts';

/**
 * The one place that prepares what a generator is conditioned on: the default conditions of a sample
 * grid, the `--class` / `--text` flags, paths between conditions for interpolation, the conditions of an
 * evaluation, and one clear error for a condition a run does not take. The trainer's grids, sample /
 * interpolate / arith, eval and the studio all build their conditions here; none of them asks what a
 * family is conditioned on.
 *
 * Conditions are prepared on the host as one row per image (class weights [K], one-hot or mixed; sentence
 * vectors [d]) and become a tfjs `Condition` only when images are drawn (`conditionTensor`).
 */

/** A built model with its description. */
export interface Generator {
  info: ModelInfo;
  model: FamilyInstance;
}

/**
 * Label maps of n images (ids back to back, [n, height, width]), with their instance maps where there are
 * any and, for generators that read them, per-pixel instance features ([n, height, width, featNum]).
 */
export interface LabelMaps {
  n: number;
  height: number;
  width: number;
  labels: Int32Array;
  instances: Int32Array | null;
  features?: Float32Array;
  featNum?: number;
}

/** One label map given as numbers (a painted map, an exported example): ids row by row, and its instance ids. */
export interface LabelMapInput {
  width: number;
  height: number;
  labels: ArrayLike<number>;
  instances?: ArrayLike<number>;
}

/** The first pixel whose id is not a label 0 .. labelCount - 1 (-1: none). */
export function unknownLabelAt(ids: ArrayLike<number>, labelCount: number): number {
  for (let p = 0; p < ids.length; p++) {
    const id = ids[p];
    if (!Number.isInteger(id) || id < 0 || id >= labelCount) return p;
  }
  return -1;
}

/**
 * Label maps given as numbers, checked against the run: its size, ids it learned. A run trained with
 * instance maps gets each label region as one object where a map has no instance ids (as Cityscapes
 * writes stuff classes).
 */
export function labelMapsOf(info: ModelInfo, inputs: LabelMapInput[]): LabelMaps {
  const c = info.conditioning;
  if (c.kind !== 'labelMap') throw new GantryError(`this ${info.family} run does not take label maps`);
  if (c.pictures) throw new GantryError(`this ${info.family} run takes pictures as inputs, not label maps`);
  const { height, width } = info;
  const area = height * width;
  const labels = new Int32Array(inputs.length * area);
  const instances = c.instances ? new Int32Array(inputs.length * area) : null;
  inputs.forEach((m, i) => {
    if (m.width !== width || m.height !== height) throw new GantryError(`labelMaps[${i}] is ${m.width}x${m.height}; this generator draws ${width}x${height}`);
    if (m.labels.length !== area) throw new GantryError(`labelMaps[${i}] has ${m.labels.length} labels for ${width}x${height} pixels`);
    if (m.instances && m.instances.length !== area) throw new GantryError(`labelMaps[${i}] has ${m.instances.length} instance ids for ${width}x${height} pixels`);
    const bad = unknownLabelAt(m.labels, c.labelCount);
    if (bad >= 0) throw new GantryError(`labelMaps[${i}] has label ${m.labels[bad]} at pixel ${bad % width},${Math.floor(bad / width)}; this generator knows labels 0..${c.labelCount - 1}`);
    labels.set(m.labels, i * area);
    if (instances) instances.set(m.instances ?? m.labels, i * area);
  });
  return { n: inputs.length, height, width, labels, instances };
}

/**
 * Input pictures of a run on pictures as inputs (pix2pixHD's --label_nc 0), any size and channel count,
 * fitted to the run's size as its training pictures were (fitImage) and kept as its maps are: each pixel's
 * levels packed into one id (data/feature-maps.ts).
 */
export function picturesOf(info: ModelInfo, pictures: RawImage[]): LabelMaps {
  if (!takesPictures(info)) throw new GantryError(`this ${info.family} run does not take pictures as inputs`);
  const { height, width } = info;
  const area = height * width;
  const labels = new Int32Array(pictures.length * area);
  pictures.forEach((picture, i) => labels.set(packedPicture(picture, info), i * area));
  return { n: pictures.length, height, width, labels, instances: null };
}

/** Host-side conditions of a batch of images: none, one row each (class weights, sentence vectors), or label maps. */
export type ConditionRows = { kind: 'none' } | { kind: 'class' | 'text'; rows: Float32Array[] } | { kind: 'labelMap'; maps: LabelMaps };

export const NONE: ConditionRows = { kind: 'none' };

/** What a user may name a condition with (CLI flags, studio fields). */
export interface ConditionFlags {
  /** --class K: an index or a name the data gave. */
  class?: string;
  /** --text: captions (repeatable: one column each). */
  text?: string[];
}

/** The tfjs condition of host rows (the caller disposes it, or draws inside tf.tidy). */
export function conditionTensor(c: ConditionRows): Condition {
  if (c.kind === 'none') return { kind: 'none' };
  if (c.kind === 'labelMap') {
    const { n, height, width, labels, instances, features, featNum } = c.maps;
    return {
      kind: 'labelMap', labels: mapTensor(labels, n, height, width), instances: instances ? mapTensor(instances, n, height, width) : undefined,
      features: features && featNum ? tf.tensor4d(features, [n, height, width, featNum]) : undefined,
    };
  }
  const t = tf.tensor2d(stackRows(c.rows), [c.rows.length, c.rows[0].length]);
  return c.kind === 'class' ? { kind: 'class', weights: t } : { kind: 'text', vectors: t };
}

export function stackRows(rows: Float32Array[]): Float32Array {
  const flat = new Float32Array(rows.reduce((n, r) => n + r.length, 0));
  let offset = 0;
  for (const r of rows) {
    flat.set(r, offset);
    offset += r.length;
  }
  return flat;
}

/** The number of images the rows condition (undefined for none: any). */
export function conditionCount(c: ConditionRows): number | undefined {
  return c.kind === 'none' ? undefined : c.kind === 'labelMap' ? c.maps.n : c.rows.length;
}

/** Row i of the result is row i % count of c (none stays none). */
export function cycleConditions(c: ConditionRows, n: number): ConditionRows {
  if (c.kind === 'labelMap') return { kind: 'labelMap', maps: pickMaps(c.maps, Array.from({ length: n }, (_, i) => i % c.maps.n)) };
  return c.kind === 'none' ? c : { kind: c.kind, rows: Array.from({ length: n }, (_, i) => c.rows[i % c.rows.length]) };
}

/** The maps at the given indices, in that order. */
export function pickMaps(maps: LabelMaps, indices: ArrayLike<number>): LabelMaps {
  const area = maps.height * maps.width;
  const per = area * (maps.featNum ?? 0);
  const features = maps.features ? new Float32Array(indices.length * per) : undefined;
  if (features) for (let i = 0; i < indices.length; i++) features.set(maps.features!.subarray(indices[i] * per, (indices[i] + 1) * per), i * per);
  return { ...maps, n: indices.length, labels: gatherMaps(maps.labels, indices, area)!, instances: gatherMaps(maps.instances, indices, area) ?? null, features };
}

/** A label-map dataset's maps at the given indices (a pix2pixHD grid's or evaluation's conditions). */
export function dataMaps(data: ImageDataset, indices: ArrayLike<number>, records?: ImageRecords): { kind: 'labelMap'; maps: LabelMaps } {
  if (!hasLabelMaps(data)) throw new GantryError(`${data.name} has no label maps`);
  records ??= readImages(data, indices);
  const maps = { n: indices.length, height: data.height, width: data.width, labels: records.labelMaps!, instances: records.instanceMaps ?? null };
  return { kind: 'labelMap', maps };
}

function oneHot(k: number, numClasses: number): Float32Array {
  const w = new Float32Array(numClasses);
  w[k] = 1;
  return w;
}

/** Classes (first + i) % K for images i < n: balanced classes for grids and evaluations (in chunks from `first`). */
export function balancedClasses(info: ModelInfo, n: number, first = 0): ConditionRows {
  const c = info.conditioning;
  if (c.kind !== 'class') throw new Error('balancedClasses: not a class-conditional model');
  return classConditions(info, Array.from({ length: n }, (_, i) => (first + i) % c.numClasses));
}

/** One-hot rows of the given classes, an image each, in a class-conditional run. */
export function classConditions(info: ModelInfo, classes: ArrayLike<number>): ConditionRows {
  const c = info.conditioning;
  if (c.kind !== 'class') throw new Error('classConditions: not a class-conditional model');
  const rows = Array.from({ length: c.numClasses }, (_, k) => oneHot(k, c.numClasses));
  return { kind: 'class', rows: Array.from(classes, (k) => rows[k]) };
}

/** Conditions of one image each (none, a class, a caption), one row each in their order. */
export function joinConditions(parts: ConditionRows[]): ConditionRows {
  if (parts.length === 0 || parts[0].kind === 'none') return NONE;
  const kind = parts[0].kind;
  if (kind === 'labelMap' || parts.some((p) => p.kind !== kind)) throw new Error('joinConditions: rows of one kind (class or text) only');
  return { kind, rows: parts.flatMap((p) => (p as { rows: Float32Array[] }).rows) };
}

/** Images start .. start + count of the rows (none stays none). */
export function sliceConditions(c: ConditionRows, start: number, count: number): ConditionRows {
  if (c.kind === 'labelMap') return { kind: 'labelMap', maps: pickMaps(c.maps, Array.from({ length: Math.min(count, c.maps.n - start) }, (_, i) => start + i)) };
  return c.kind === 'none' ? c : { kind: c.kind, rows: c.rows.slice(start, start + count) };
}

/** The class a --class value names in a class-conditional run: an index, or a name the data gave. */
export function resolveClass(info: ModelInfo, value: string, flag = 'class'): number {
  const c = info.conditioning;
  const what = inWords(`--${flag}`, flag);
  if (c.kind !== 'class') throw new GantryError(`${what}: this ${info.family} run is not class-conditional; train a cgan or acgan run to choose classes`);
  const byName = c.classNames.indexOf(value);
  if (byName >= 0) return byName;
  const n = Number(value);
  if (Number.isInteger(n) && n >= 0 && n < c.numClasses) return n;
  const known = c.classNames.length ? ` or a name (${c.classNames.join(', ')})` : '';
  throw new GantryError(`${what} "${value}": expected a class index 0..${c.numClasses - 1}${known}`);
}

/** The class names a page or a message shows: the data's names, else the indices. */
export function classLabels(info: ModelInfo): string[] | null {
  const c = info.conditioning;
  if (c.kind !== 'class') return null;
  return Array.from({ length: c.numClasses }, (_, k) => c.classNames[k] ?? String(k));
}

/** A text run's sample captions (one grid column each); null for other runs. */
export function sampleCaptions(info: ModelInfo): string[] | null {
  return info.conditioning.kind === 'text' ? info.conditioning.sampleCaptions : null;
}

/** Words of a caption that a text run never saw in training (each reads as one unknown word). */
export function unknownWords(info: ModelInfo, caption: string): string[] {
  const known = new Set(info.conditioning.kind === 'text' ? info.conditioning.vocabulary : []);
  return tokenize(caption).filter((w) => !known.has(w));
}

/** Sentence vectors of captions, one row each (a text run). `warn` hears of words the run never saw, once a caption. */
export async function encodeCaptions(run: Generator, captions: string[], warn?: (line: string) => void): Promise<{ kind: 'text'; rows: Float32Array[] }> {
  if (run.info.conditioning.kind !== 'text' || !run.model.encodeText) throw new GantryError(`a ${run.info.family} run is not conditioned on text`);
  if (warn) {
    for (const c of new Set(captions)) {
      const unknown = unknownWords(run.info, c);
      if (unknown.length) warn(`warning: "${c}": the run's captions never had ${unknown.map((w) => `"${w}"`).join(', ')}; read as an unknown word`);
    }
  }
  const phi = run.model.encodeText(captions);
  // Read asynchronously: WebGPU (in Node and in a browser) has no synchronous read of a GPU tensor.
  const values = (await phi.data()) as Float32Array;
  const d = phi.shape[1];
  phi.dispose();
  return { kind: 'text', rows: captions.map((_, i) => values.slice(i * d, (i + 1) * d)) };
}

/** Refuses the flags a run does not take, each with one line that says what the run takes. */
export function checkFlags(info: ModelInfo, flags: ConditionFlags): void {
  const kind = info.conditioning.kind;
  if (kind === 'labelMap' && takesPictures(info)) throw new GantryError(`this ${info.family} run turns pictures into pictures; draw them with \`gantry translate --run RUN --inputs PICTURE.png\` (its sample grids show input | result | real)`);
  if (kind === 'labelMap') throw new GantryError(`this ${info.family} run turns label maps into images; draw them with \`gantry translate --run RUN --labels MAP.png\` (its sample grids show label | result | real)`);
  if (flags.text?.length && kind !== 'text') {
    throw new GantryError(`--text: this ${info.family} run is not conditioned on text; train a gan-cls or dfgan run on captioned data (captions:DIR or shapes)`);
  }
  if (flags.text?.some((t) => !t.trim())) throw new GantryError('--text is empty; give a caption, e.g. --text "a small red circle on a blue background"');
  if (flags.class !== undefined && kind === 'text') throw new GantryError(`--class: this ${info.family} run is conditioned on text; use --text "..."`);
  if (flags.class !== undefined) resolveClass(info, flags.class);
}

/** The captions of --text, or the run's sample captions. */
function captionsOf(info: ModelInfo, flags: ConditionFlags): string[] {
  return flags.text?.length ? flags.text : sampleCaptions(info) ?? [];
}

/** One condition an image may be drawn with, named as a user names it: a class, a caption, or none (""). */
export interface ConditionChoice {
  name: string;
  condition: ConditionRows;
}

/**
 * The conditions to choose among for an image of the user's (gantry project): --class K alone, else every
 * class of a class-conditional run; each --text, else the run's first sample caption; none.
 */
export async function conditionChoices(run: Generator, flags: ConditionFlags, warn?: (line: string) => void): Promise<ConditionChoice[]> {
  checkFlags(run.info, flags);
  const c = run.info.conditioning;
  if (c.kind === 'class') {
    const classes = flags.class !== undefined ? [resolveClass(run.info, flags.class)] : Array.from({ length: c.numClasses }, (_, k) => k);
    const names = classLabels(run.info)!;
    return classes.map((k) => ({ name: names[k], condition: classConditions(run.info, [k]) }));
  }
  if (c.kind === 'text') {
    const captions = [...new Set(captionsOf(run.info, flags).slice(0, flags.text?.length ? undefined : 1))];
    const encoded = await encodeCaptions(run, captions, warn);
    return captions.map((name, i) => ({ name, condition: { kind: 'text', rows: [encoded.rows[i]] } }));
  }
  return [{ name: '', condition: NONE }];
}

/**
 * Conditions of a grid of n images: every image of --class when given, else class i % K (one column a
 * class); caption i % C of --text or of the run's sample captions (one column a caption); none.
 */
export async function gridConditions(run: Generator, n: number, flags: ConditionFlags = {}, warn?: (line: string) => void): Promise<ConditionRows> {
  checkFlags(run.info, flags);
  switch (run.info.conditioning.kind) {
    case 'class':
      if (flags.class !== undefined) return cycleConditions(classRow(run.info, flags.class), n);
      return balancedClasses(run.info, n);
    case 'text':
      // Each caption encoded once, however many images (rows share their vector).
      return cycleConditions(await encodeCaptions(run, captionsOf(run.info, flags), warn), n);
    default:
      return NONE;
  }
}

/** The columns of a grid drawn with gridConditions: one a class or a caption (undefined: square-ish). */
export function gridColumns(info: ModelInfo, flags: ConditionFlags = {}): number | undefined {
  const c = info.conditioning;
  if (c.kind === 'class') return flags.class === undefined ? c.numClasses : undefined;
  if (c.kind === 'text') return captionsOf(info, flags).length;
  return undefined;
}

function classRow(info: ModelInfo, value: string): ConditionRows {
  const c = info.conditioning;
  const k = resolveClass(info, value);
  return { kind: 'class', rows: [oneHot(k, c.kind === 'class' ? c.numClasses : 0)] };
}

/**
 * The one condition every image of a strip or an arithmetic row shares: --class, or the first class;
 * --text, or the first sample caption; none.
 */
export async function sharedCondition(run: Generator, flags: ConditionFlags, n: number, warn?: (line: string) => void): Promise<ConditionRows> {
  checkFlags(run.info, flags);
  switch (run.info.conditioning.kind) {
    case 'class':
      return cycleConditions(classRow(run.info, flags.class ?? '0'), n);
    case 'text':
      return cycleConditions(await encodeCaptions(run, captionsOf(run.info, flags).slice(0, 1), warn), n);
    default:
      return NONE;
  }
}

/** Rows that move linearly from each of the given conditions to the next, `frames` each step (ends included). */
export function conditionPath(ends: ConditionRows, frames: number): ConditionRows {
  if (ends.kind === 'none') return ends;
  if (ends.kind === 'labelMap') throw new Error('conditionPath: label maps have no path between them');
  if (ends.rows.length < 2) throw new Error('conditionPath: needs two or more conditions');
  const rows: Float32Array[] = [];
  for (let p = 0; p + 1 < ends.rows.length; p++) {
    const [a, b] = [ends.rows[p], ends.rows[p + 1]];
    for (let f = 0; f < frames; f++) {
      const t = f / (frames - 1);
      rows.push(a.map((v, i) => (1 - t) * v + t * b[i]));
    }
  }
  return { kind: ends.kind, rows };
}

/**
 * The path of `interpolate --classes A,B,...` (class weights moving from one class's row to the next:
 * their embeddings blend) or `--texts "A|B|..."` (GAN-INT's linear path between sentence vectors).
 */
export async function conditionPathOf(run: Generator, path: { classes?: string; texts?: string }, frames: number, warn?: (line: string) => void): Promise<ConditionRows> {
  const captions = path.classes === undefined ? (path.texts ?? '').split('|').map((t) => t.trim()) : undefined;
  checkFlags(run.info, { text: captions });
  if (captions === undefined) {
    const classes = path.classes!.split(',').map((c) => c.trim());
    const ks = classes.map((c) => resolveClass(run.info, c, 'classes'));
    if (ks.length < 2) throw new GantryError('--classes needs at least two classes, e.g. --classes 3,8');
    const k = (run.info.conditioning as { numClasses: number }).numClasses;
    return conditionPath({ kind: 'class', rows: ks.map((c) => oneHot(c, k)) }, frames);
  }
  if (captions.length < 2) throw new GantryError('--texts needs at least two captions separated by |, e.g. --texts "a red circle on a blue background|a green square on a white background"');
  return conditionPath(await encodeCaptions(run, captions, warn), frames);
}

/**
 * Conditions of images start .. start + count of an evaluation: balanced classes over the whole set, or
 * captions of the run's training data (`captions`, in the evaluation's seeded order).
 */
export async function evaluationConditions(run: Generator, start: number, count: number, captions: string[] | null, maps?: ConditionRows): Promise<ConditionRows> {
  switch (run.info.conditioning.kind) {
    case 'labelMap':
      if (maps?.kind !== 'labelMap') throw new GantryError(`a ${run.info.family} run draws its images from label maps; its data has none`);
      return cycleConditions(sliceConditions(cycleConditions(maps, start + count), start, count), count);
    case 'class':
      return balancedClasses(run.info, count, start);
    case 'text':
      if (!captions?.length) throw new GantryError(`a ${run.info.family} run draws its images with captions; its data has none`);
      return await encodeCaptions(run, Array.from({ length: count }, (_, i) => captions[(start + i) % captions.length]));
    default:
      return NONE;
  }
}

/**
 * Conditions given as raw rows (a page's class weights), checked against the run: one message for a
 * wrong kind, count or size. Without rows, a grid's defaults (gridConditions).
 */
export async function conditionRows(run: Generator, rows: number[][] | undefined, n: number): Promise<ConditionRows> {
  const { info } = run;
  const c = info.conditioning;
  if (c.kind === 'labelMap') checkFlags(info, {});
  if (!rows) return await gridConditions(run, n);
  if (c.kind === 'none' || c.kind === 'labelMap') throw new GantryError(`this ${info.family} run takes no conditions; leave them out`);
  const width = c.kind === 'class' ? c.numClasses : c.dim;
  const what = c.kind === 'class' ? 'class weights' : 'sentence vectors';
  if (rows.length !== n) throw new GantryError(`${n} latent vectors but ${rows.length} conditions; give one each`);
  rows.forEach((r, i) => {
    if (r.length !== width) throw new GantryError(`${what} must be [${n}, ${width}]; conditions[${i}] has ${r.length} numbers`);
  });
  return { kind: c.kind, rows: rows.map((r) => Float32Array.from(r)) };
}
