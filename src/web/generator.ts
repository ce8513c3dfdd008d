import * as tf from '@tensorflow/tfjs-core';
import { GantryError, inWords } from '../errors.ts';
import {
  conditionPath, conditionRows, encodeCaptions, gridConditions, labelMapsOf, picturesOf,
  type ConditionRows, type Generator, type LabelMapInput, type LabelMaps,
} from '../explore/conditions.ts';
import { featureRegions, photoStyles, randomStyles, styleFeatures, type StylePick } from '../explore/instance-styles.ts';
import { drawImages } from '../explore/render.ts';
import type { GeneratedImages } from '../explore/grid.ts';
import { decodeSafetensors } from '../io/safetensors.ts';
import { checkRawImage, type RawImage } from '../io/pixels.ts';
import { fittedPixels } from '../data/transform.ts';
import { featuresByLabel, type ModelInfo } from '../models/condition.ts';
import type { FamilyInstance } from '../models/family.ts';
import { replayedGenerations } from '../models/step-runner.ts';
import { buildModel } from '../models/index.ts';
import { withPlaceholderWeights } from '../nn/init.ts';
import { assignNetworks } from '../models/weights.ts';
import { EXAMPLE_INSTANCES, EXAMPLE_LABELS, MODEL_FILE, parseModelFile, REFERENCE_IMAGES, WEIGHTS_FILE, type ExportedModel } from './model-file.ts';
import type { NamedArray } from '../io/safetensors.ts';
import { checkKeys, checkSignal, optionKeys } from '../options.ts';
import { PageGenerator, type GenerateOptions, type ProjectOptions } from './page-generator.ts';
import { projectionRefusal, projectionSettings, projectPictures, type ProjectedPicture } from '../explore/project.ts';
import { checkGradients } from './engine.ts';

export type { GenerateOptions };

export type { GeneratedImages };

export type { LabelMapInput } from '../explore/conditions.ts';

/** Images one generate() call may ask for: the pixels it returns are held at once. */
export const MAX_IMAGES = 1024;

const GENERATE_KEYS = optionKeys<GenerateOptions>({ seeds: true, latents: true, truncation: true, class: true, classWeights: true, text: true, textBetween: true, labelMaps: true, pictures: true, styles: true });
const STYLE_KEYS = optionKeys<NonNullable<GenerateOptions['styles']>>({ seed: true, choose: true, photo: true });
const PROJECT_KEYS = optionKeys<ProjectOptions>({ steps: true, class: true, text: true, onProgress: true, signal: true });

/**
 * A trained generator drawing in this thread (a page's, a worker's, or Node's): the family's own model,
 * built from an exported model file and weights, drawing images as the CLI does. `loadGenerator` makes one.
 */
export class WebGenerator extends PageGenerator implements Generator {
  /**
   * @param backend the tfjs backend it draws on
   * @param examples label maps to start from (label-map generators: the run's held-out maps), else none
   */
  constructor(file: ExportedModel, readonly model: FamilyInstance, backend: string, examples: LabelMapInput[] = []) {
    super(file, backend, examples);
  }

  get replayedDraws(): number {
    return replayedGenerations(this.model);
  }

  get infersStyle(): boolean {
    return Boolean(this.model.inferLatent);
  }

  async styleLatent(image: RawImage): Promise<Float32Array> {
    const infer = this.model.inferLatent?.bind(this.model);
    if (!infer) throw new GantryError(`this ${this.family} generator has no image encoder; gan-cls (its style encoder), vae and vae-gan generators have one`);
    checkRawImage(image, 'styleLatent(image)');
    const { height, width, channels } = this.info;
    const z = tf.tidy(() => infer(tf.tensor4d(fittedPixels([image], { height, width, channels }), [1, height, width, channels])));
    const values = (await z.data()) as Float32Array;
    z.dispose();
    return values;
  }

  get projects(): boolean {
    return projectionRefusal(this) === null;
  }

  async project(image: RawImage, options: ProjectOptions = {}): Promise<ProjectedPicture> {
    checkKeys(options, PROJECT_KEYS, 'project()');
    checkRawImage(image, 'project(image)');
    const settings = projectionSettings({ steps: options.steps });
    checkSignal(options.signal, 'project()');
    checkGradients();
    const flags = { class: options.class === undefined ? undefined : String(options.class), text: options.text === undefined ? undefined : [options.text].flat() };
    const { projected, targets } = await projectPictures(this, [image], flags, settings, { progress: options.onProgress, signal: options.signal });
    targets.dispose();
    return projected[0];
  }

  async generate(options: GenerateOptions = {}): Promise<GeneratedImages> {
    checkKeys(options, GENERATE_KEYS, 'generate()');
    checkKeys(options.styles, STYLE_KEYS, 'generate() styles');
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
    if (c.kind === 'labelMap' && c.pictures) {
      if (o.styles) throw new GantryError(`styles: this ${this.family} generator draws from pictures, whose objects have no styles; leave styles out`);
      o.pictures!.forEach((p, i) => checkRawImage(p, `pictures[${i}]`));
      return { kind: 'labelMap', maps: picturesOf(this.info, o.pictures!) };
    }
    if (o.pictures) throw new GantryError(`pictures: this ${this.family} generator does not take pictures as inputs${c.kind === 'labelMap' ? '; give labelMaps' : ''}`);
    if (c.kind === 'labelMap') return { kind: 'labelMap', maps: await this.labelMaps(o) };
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

  private async labelMaps(o: GenerateOptions): Promise<LabelMaps> {
    const c = this.info.conditioning;
    if (!o.labelMaps?.length) throw new GantryError(`this ${this.family} generator draws label maps; give labelMaps`);
    const maps = labelMapsOf(this.info, o.labelMaps);
    const photo = o.styles?.photo;
    if (photo && !this.encodesPhotos) {
      const why = c.kind !== 'labelMap' || c.featNum === 0 ? '' : c.loadFeatures ? ' (it was trained on precomputed feature maps, model.loadFeatures)' : '; export it with its encoder (NVIDIA\'s latest_net_E.pth)';
      throw new GantryError(`styles.photo: this ${this.family} generator has no feature encoder to read a photo with${why}`);
    }
    if (c.kind !== 'labelMap' || c.featNum === 0) return maps;
    const choose = o.styles?.choose ?? {};
    if (photo) checkRawImage(photo, 'styles.photo');
    const fromPhoto = photo ? await photoStyles(this, maps, Array(maps.n).fill(photo)) : null;
    if (fromPhoto && Object.keys(choose).length === 0) return fromPhoto;
    if (!this.file.styles) {
      if (photo) throw new GantryError('this generator has no learned styles to choose from; leave styles.choose out');
      if (this.encodesPhotos) throw new GantryError('this generator has no learned styles: give styles.photo, a photo whose objects its feature encoder reads');
      throw new GantryError(`this generator reads instance features but has no learned styles; learn them with ${inWords('`gantry features --run RUN` and export again', 'learnStyles(RUN) and open the generator again')}`);
    }
    const random = randomStyles(o.styles?.seed ?? 0);
    const pick: StylePick = (image, cls, clusters, id) => (choose[id] !== undefined ? choose[id] % clusters : random(image, cls, clusters, id));
    const byLabel = featuresByLabel(this.info);
    const learned = styleFeatures(maps, this.file.styles, pick, byLabel);
    if (!fromPhoto) return learned;
    // The chosen objects in their learned styles, every other object as the photo has it.
    const regions = featureRegions(maps, byLabel).ids;
    const f = learned.featNum!;
    const features = fromPhoto.features!.slice();
    for (let p = 0; p < regions.length; p++) {
      if (choose[regions[p]] !== undefined) features.set(learned.features!.subarray(p * f, (p + 1) * f), p * f);
    }
    return { ...maps, features, featNum: f };
  }

  dispose(): void {
    this.model.dispose();
  }
}

function imageCount(info: ModelInfo, o: GenerateOptions): number {
  const given = [o.seeds && 'seeds', o.latents && 'latents'].filter(Boolean);
  if (given.length > 1) throw new GantryError('give seeds or latents, not both');
  if (o.latents && o.truncation !== undefined) throw new GantryError('truncation applies to seeds\' vectors; latents are drawn as given, so leave truncation out');
  const c = info.conditioning;
  if (c.kind === 'labelMap' && c.pictures) {
    if (o.labelMaps) throw new GantryError('labelMaps: this generator was trained on pictures as inputs, not label maps; give pictures');
    if (!o.pictures?.length) throw new GantryError('this generator draws from pictures; give pictures: [an image]');
    if (given.length) throw new GantryError(`this generator draws its images from pictures alone; leave ${given[0]} out`);
    return o.pictures.length;
  }
  if (c.kind === 'labelMap') {
    // Its images come from the maps alone: a seed would change nothing.
    if (given.length && o.labelMaps?.length) throw new GantryError(`this generator draws its images from label maps alone; leave ${given[0]} out`);
    return o.labelMaps?.length ?? 0;
  }
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
