import * as tf from '@tensorflow/tfjs-core';
import { GantryError, inWords } from '../errors.ts';
import {
  classLabels, conditionPath, conditionRows, encodeCaptions, gridConditions, labelMapsOf, regionsOf, sampleCaptions, unknownWords,
  type ConditionRows, type Generator, type LabelMapInput, type LabelMaps,
} from '../explore/conditions.ts';
import { instanceClass, randomStyles, styleFeatures, type StylePick } from '../explore/instance-styles.ts';
import { labelPalette } from '../explore/label-colours.ts';
import { latentForSeed } from '../explore/latent.ts';
import { drawImages } from '../explore/render.ts';
import type { GeneratedImages } from '../explore/grid.ts';
import { decodeSafetensors } from '../io/safetensors.ts';
import type { RawImage } from '../io/pixels.ts';
import { fitImage } from '../data/transform.ts';
import type { ModelInfo } from '../models/condition.ts';
import type { FamilyInstance } from '../models/family.ts';
import { replayedGenerations } from '../models/step-runner.ts';
import { buildModel } from '../models/index.ts';
import { withPlaceholderWeights } from '../nn/init.ts';
import { assignNetworks } from '../models/weights.ts';
import { EXAMPLE_INSTANCES, EXAMPLE_LABELS, MODEL_FILE, parseModelFile, REFERENCE_IMAGES, WEIGHTS_FILE, type ExportedModel } from './model-file.ts';
import type { NamedArray } from '../io/safetensors.ts';
import { checkKeys, optionKeys } from '../options.ts';

export type { GeneratedImages };

export type { LabelMapInput } from '../explore/conditions.ts';

/** Images one generate() call may ask for: the pixels it returns are held at once. */
export const MAX_IMAGES = 1024;

export interface GenerateOptions {
  /** Image i is drawn from seed:seeds[i]'s latent vector, as `gantry sample --seed` numbers them. */
  seeds?: number[];
  /** Or the latent vectors themselves (slider edits, interpolation, arithmetic). */
  latents?: ArrayLike<number>[];
  /** The truncation trick on seeds' vectors (as the CLI's --truncation): numbers beyond ±truncation drawn again. */
  truncation?: number;
  /** Class runs: every image's class (an index or a name); absent: class i % K, as a sample grid. */
  class?: number | string;
  /** Class runs: each image's class weights (one-hot or a mixture of classes). */
  classWeights?: ArrayLike<number>[];
  /** Text runs: one caption for every image, or one per image; absent: the run's sample captions in turn. */
  text?: string | string[];
  /** Text runs: the images' sentence vectors move linearly from one caption's to the other's (GAN-INT, `interpolate --texts`). */
  textBetween?: [string, string];
  /** Label-map runs: the maps to draw (one image each). */
  labelMaps?: LabelMapInput[];
  /**
   * Label-map runs with learned styles: which style each object gets. `seed` draws them at random (as
   * `gantry translate --seed`); `choose` fixes instance id -> style index (a click cycling an object).
   */
  styles?: { seed?: number; choose?: Record<number, number> };
}

const GENERATE_KEYS = optionKeys<GenerateOptions>({ seeds: true, latents: true, truncation: true, class: true, classWeights: true, text: true, textBetween: true, labelMaps: true, styles: true });

/**
 * A trained generator in the page (or in Node): the family's own model, built from an exported model file
 * and weights, drawing images as the CLI does. `loadGenerator` makes one.
 */
export class WebGenerator implements Generator {
  readonly info: ModelInfo;

  /**
   * @param examples label maps to start from (label-map generators: the run's held-out maps), else none
   * @param backend the tfjs backend it draws on
   */
  constructor(readonly file: ExportedModel, readonly model: FamilyInstance, readonly backend: string, readonly examples: LabelMapInput[] = []) {
    this.info = file.info;
  }

  get family(): string {
    return this.file.family;
  }

  /** Class names (or numbers) of a class run; null otherwise. */
  get classes(): string[] | null {
    return classLabels(this.info);
  }

  /** Draws replayed from a recording (on WebGPU with gantry's kernels; DCGAN's own generator replays itself and counts none). */
  get replayedDraws(): number {
    return replayedGenerations(this.model);
  }

  /** A text run's sample captions; null otherwise. */
  get captions(): string[] | null {
    return sampleCaptions(this.info);
  }

  /** Words of a caption the run never saw in training. */
  unknownWords(caption: string): string[] {
    return unknownWords(this.info, caption);
  }

  /** A label-map run's labels: their names (where the data named them) and display colours. */
  get labels(): { count: number; names: string[]; colours: [number, number, number][]; instances: boolean } | null {
    const c = this.info.conditioning;
    if (c.kind !== 'labelMap') return null;
    return { count: c.labelCount, names: c.labelNames, colours: labelPalette(c.labelCount, c.labelNames), instances: c.instances };
  }

  /** The number of learned styles of a label class (0: none, or a run without a feature encoder). */
  styleCount(label: number): number {
    return this.file.styles?.clusters[label]?.length ?? 0;
  }

  /** Whether the generator can find the latent vector of an image: gan-cls's style encoder, a vae's or vae-gan's encoder. */
  get infersStyle(): boolean {
    return Boolean(this.model.inferLatent);
  }

  /**
   * The latent vector that reproduces an image (as `sample --style-from`): its style for gan-cls (Reed et
   * al.'s style encoder; drawn with any caption), the posterior mean for a vae or vae-gan (drawn, the image
   * as the decoder sees it; edit it from there). The image (RGBA, grey or RGB, any size) is fitted to the
   * generator's size as the CLI fits it.
   */
  async styleLatent(image: RawImage): Promise<Float32Array> {
    const infer = this.model.inferLatent?.bind(this.model);
    if (!infer) throw new GantryError(`this ${this.family} generator has no image encoder; gan-cls (its style encoder), vae and vae-gan generators have one`);
    const { height, width, channels } = this.info;
    const fitted = fitImage(image, { height, width, channels });
    const z = tf.tidy(() => infer(tf.tensor4d(Float32Array.from(fitted.data, (v) => v / 127.5 - 1), [1, height, width, channels])));
    const values = (await z.data()) as Float32Array;
    z.dispose();
    return values;
  }

  /** seed:N's latent vector (optionally truncated), as the CLI draws it. */
  latent(seed: number, truncation?: number): Float32Array {
    checkSeed(seed);
    return latentForSeed(seed, this.info.latentDim, truncation);
  }

  async generate(options: GenerateOptions = {}): Promise<GeneratedImages> {
    checkKeys(options, GENERATE_KEYS, 'generate()');
    const n = imageCount(this.info, options);
    if (n > MAX_IMAGES) throw new GantryError(`${n} images in one call; ask for at most ${MAX_IMAGES} at a time`);
    const vectors = this.vectors(n, options);
    const conditions = await this.conditions(n, options);
    const { height, width, channels } = this.info;
    const per = height * width * channels;
    const pixels = new Uint8Array(n * per);
    await drawImages(this, vectors, conditions, (chunk, first) => pixels.set(chunk, first * per));
    return { n, height, width, channels, pixels };
  }

  private vectors(n: number, o: GenerateOptions): Float32Array[] {
    const dim = this.info.latentDim;
    if (o.truncation !== undefined && !(o.truncation > 0)) throw new GantryError(`truncation must be above 0 (e.g. 0.7), got ${o.truncation}`);
    if (o.latents) {
      return o.latents.map((v, i) => {
        if (v.length !== dim) throw new GantryError(`latents[${i}] has ${v.length} numbers; this generator's latent vectors have ${dim}`);
        const z = Float32Array.from(v);
        if (!z.every(Number.isFinite)) throw new GantryError(`latents[${i}] has a number that is not finite`);
        return z;
      });
    }
    if (o.seeds) return o.seeds.map((s) => this.latent(s, o.truncation));
    return Array.from({ length: n }, () => new Float32Array(dim));
  }

  private async conditions(n: number, o: GenerateOptions): Promise<ConditionRows> {
    const c = this.info.conditioning;
    if (c.kind === 'labelMap') return { kind: 'labelMap', maps: this.labelMaps(o) };
    if (o.labelMaps) throw new GantryError(`this ${this.family} generator does not take label maps`);
    if (o.classWeights) {
      if (c.kind !== 'class') throw new GantryError(`classWeights: this ${this.family} generator is not class-conditional`);
      return conditionRows(this, o.classWeights.map((w) => Array.from(w)), n);
    }
    if (o.textBetween) {
      if (c.kind !== 'text') throw new GantryError(`textBetween: this ${this.family} generator is not conditioned on text`);
      if (n < 2) throw new GantryError('textBetween needs two or more images (the path\'s frames)');
      if (o.textBetween.some((t) => !t.trim())) throw new GantryError('a caption is empty; type a caption');
      return conditionPath(await encodeCaptions(this, o.textBetween), n);
    }
    if (Array.isArray(o.text)) {
      if (o.text.length !== n) throw new GantryError(`${n} images but ${o.text.length} captions; give one caption, or one each`);
      if (c.kind !== 'text') throw new GantryError(`text: this ${this.family} generator is not conditioned on text`);
      if (o.text.some((t) => !t.trim())) throw new GantryError('a caption is empty; type a caption');
      return encodeCaptions(this, o.text);
    }
    // As `gantry sample`: --class for every image, else class i % K; --text, else the sample captions in turn.
    return gridConditions(this, n, { class: o.class === undefined ? undefined : String(o.class), text: o.text === undefined ? undefined : [o.text] });
  }

  private labelMaps(o: GenerateOptions): LabelMaps {
    const c = this.info.conditioning;
    if (!o.labelMaps?.length) throw new GantryError(`this ${this.family} generator draws label maps; give labelMaps`);
    const maps = labelMapsOf(this.info, o.labelMaps);
    if (c.kind !== 'labelMap' || c.featNum === 0) return maps;
    if (!this.file.styles) throw new GantryError(`this generator reads instance features but has no learned styles; learn them with ${inWords('`gantry features --run RUN` and export again', 'learnStyles(RUN) and open the generator again')}`);
    const random = randomStyles(o.styles?.seed ?? 0);
    const choose = o.styles?.choose ?? {};
    const pick: StylePick = (image, cls, clusters, id) => (choose[id] !== undefined ? choose[id] % clusters : random(image, cls, clusters, id));
    return styleFeatures(maps, this.file.styles, pick);
  }

  /** The objects of a label map (instance ids, or label regions) with their class: what a click picks. */
  objectAt(map: LabelMapInput, x: number, y: number): { id: number; label: number } {
    const p = y * map.width + x;
    const maps: LabelMaps = { n: 1, height: map.height, width: map.width, labels: Int32Array.from(map.labels), instances: map.instances ? Int32Array.from(map.instances) : null };
    const id = regionsOf(maps)[p];
    return { id, label: map.instances ? instanceClass(id) : id };
  }

  dispose(): void {
    this.model.dispose();
  }
}

function checkSeed(seed: number): void {
  if (!Number.isInteger(seed) || seed < 0) throw new GantryError(`a seed is a whole number >= 0, got ${seed}`);
}

function imageCount(info: ModelInfo, o: GenerateOptions): number {
  const given = [o.seeds && 'seeds', o.latents && 'latents'].filter(Boolean);
  if (given.length > 1) throw new GantryError('give seeds or latents, not both');
  if (info.conditioning.kind === 'labelMap') return o.labelMaps?.length ?? 0;
  const n = o.seeds?.length ?? o.latents?.length ?? 0;
  if (n === 0) throw new GantryError('give the seeds (or latent vectors) of the images to draw, e.g. { seeds: [0, 1, 2] }');
  return n;
}

/**
 * A generator from an exported model description and its weights' bytes, on whichever tfjs backend is
 * current (the page's, started by loadGenerator; Node's in tests).
 */
export function buildGenerator(json: unknown, weights: Uint8Array, where = MODEL_FILE): WebGenerator {
  const file = parseModelFile(json, where);
  return generatorFrom(file, decodeSafetensors(weights, WEIGHTS_FILE).tensors);
}

/**
 * A generator from a model description and its weights' arrays (an export's files decoded, or a run's
 * networks read out in Node, where encoding them as a file first would only copy them).
 */
export function generatorFrom(file: ExportedModel, tensors: Record<string, NamedArray>): WebGenerator {
  // The exported networks' weights are all set below; the others (D) are not used to draw.
  const model = withPlaceholderWeights(() => buildModel({ family: file.family, model: file.model, seed: file.seed }));
  let examples: LabelMapInput[];
  try {
    const fix = 'export the run again with `gantry export`';
    assignNetworks(model, file.networks, tensors, WEIGHTS_FILE, fix);
    examples = exampleMaps(tensors);
    const ref = tensors[REFERENCE_IMAGES];
    if (model.useReferenceImages) {
      if (!ref) throw new GantryError(`${WEIGHTS_FILE} lacks ${REFERENCE_IMAGES}, the real images a ${file.family} generator draws from; ${fix}`);
      const images = tf.tensor4d(ref.data, ref.shape as [number, number, number, number]);
      model.useReferenceImages(images);
      images.dispose();
    }
  } catch (err) {
    model.dispose();
    throw err;
  }
  return new WebGenerator(file, model, tf.getBackend(), examples);
}

/** The example label maps stored beside the weights, one LabelMapInput each. */
function exampleMaps(tensors: Record<string, NamedArray>): LabelMapInput[] {
  const labels = tensors[EXAMPLE_LABELS];
  if (!labels) return [];
  const [k, height, width] = labels.shape;
  const instances = tensors[EXAMPLE_INSTANCES];
  const area = height * width;
  return Array.from({ length: k }, (_, i) => ({
    width, height, labels: labels.data.slice(i * area, (i + 1) * area), instances: instances?.data.slice(i * area, (i + 1) * area),
  }));
}
