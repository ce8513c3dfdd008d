import { GantryError } from '../errors.ts';
import { classLabels, sampleCaptions, unknownWords, type LabelMapInput, type LabelMaps } from '../explore/conditions.ts';
import { featureRegions, objectClasses } from '../explore/instance-styles.ts';
import type { GeneratedImages } from '../explore/grid.ts';
import { labelPalette } from '../explore/label-colours.ts';
import { latentForSeed } from '../explore/latent.ts';
import type { RawImage } from '../io/pixels.ts';
import { featuresByLabel, takesPictures, type ModelInfo } from '../models/condition.ts';
import { unpackLevels } from '../data/feature-maps.ts';
import type { ExportedModel } from './model-file.ts';
import type { ProjectedPicture } from '../explore/project.ts';

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
   * Runs on pictures as inputs (pix2pixHD's --label_nc 0): the pictures to draw from, one image each (RGBA,
   * grey or RGB, any size: fitted to the generator's size as its training pictures were).
   */
  pictures?: RawImage[];
  /**
   * Label-map runs with instance features: which style each object gets. `seed` draws learned styles at
   * random (as `gantry translate --seed`); `choose` fixes instance id -> learned style index (a click
   * cycling an object); `photo`, a photo of the map (fitted to the generator's size as training images
   * are), gives every object not in `choose` the features the generator's encoder finds under it there
   * (as `gantry translate --style-from`; generators exported with their encoder, `encodesPhotos`).
   */
  styles?: { seed?: number; choose?: Record<number, number>; photo?: RawImage };
}

/** What project() takes: the steps (as `gantry project --steps`), the class or captions to try, progress, a stop. */
export interface ProjectOptions {
  steps?: number;
  /** Class runs: this class only (an index or a name); absent: every class. */
  class?: number | string;
  /** Text runs: the captions to try; absent: the first sample caption. */
  text?: string | string[];
  /** Hears how many of the steps are done. */
  onProgress?: (done: number, total: number) => void;
  /** Aborted: no more steps; the closest vector found so far is the answer. */
  signal?: AbortSignal;
}

/** A projected image: the vector found, the class or caption it is drawn with, its squared error before and after. */
export type { ProjectedPicture } from '../explore/project.ts';

/**
 * A trained generator as a page uses it. What the exported model file says (its family, classes,
 * captions, labels, learned styles, seeds' latent vectors) is answered here, at once; drawing is the
 * subclass's: WebGenerator draws in this thread, WorkerGenerator asks a worker that holds the networks.
 */
export abstract class PageGenerator {
  readonly info: ModelInfo;

  /**
   * @param backend the tfjs backend it draws on
   * @param examples label maps to start from (label-map generators: the run's held-out maps), else none
   */
  constructor(readonly file: ExportedModel, readonly backend: string, readonly examples: LabelMapInput[] = []) {
    this.info = file.info;
  }

  /** Images drawn as `gantry sample` draws them; at most MAX_IMAGES a call. */
  abstract generate(options?: GenerateOptions): Promise<GeneratedImages>;

  /**
   * The latent vector that reproduces an image (as `sample --style-from`): its style for gan-cls (Reed et
   * al.'s style encoder; drawn with any caption), the posterior mean for a vae or vae-gan (drawn, the image
   * as the decoder sees it; edit it from there). The image (RGBA, grey or RGB, any size) is fitted to the
   * generator's size as the CLI fits it.
   */
  abstract styleLatent(image: RawImage): Promise<Float32Array>;

  /** Whether the generator can find the latent vector of an image: gan-cls's style encoder, a vae's or vae-gan's encoder. */
  abstract get infersStyle(): boolean;

  /**
   * The latent vector whose image is closest to an image (as `gantry project`: Adam on z from the closest
   * seeds, squared error), with the class or caption it is drawn with. The image (RGBA, grey or RGB, any
   * size) is fitted to the generator's size as the CLI fits it.
   */
  abstract project(image: RawImage, options?: ProjectOptions): Promise<ProjectedPicture>;

  /** Whether project() works here: a generator drawing from latent vectors alone (not u-net-vae-gan's skips, not label maps). */
  abstract get projects(): boolean;

  /** Draws replayed from a recording (on WebGPU with gantry's kernels; DCGAN's own generator replays itself and counts none). */
  abstract get replayedDraws(): number;

  /** Frees the networks (and the worker that holds them, for a WorkerGenerator). */
  abstract dispose(): void;

  get family(): string {
    return this.file.family;
  }

  /** Class names (or numbers) of a class run; null otherwise. */
  get classes(): string[] | null {
    return classLabels(this.info);
  }

  /** A text run's sample captions; null otherwise. */
  get captions(): string[] | null {
    return sampleCaptions(this.info);
  }

  /** Words of a caption the run never saw in training. */
  unknownWords(caption: string): string[] {
    return unknownWords(this.info, caption);
  }

  /** Whether it draws from pictures (`pictures`) rather than label maps: trained on pictures as inputs (train_A/ + train_B/, --label_nc 0). */
  get takesPictures(): boolean {
    return takesPictures(this.info);
  }

  /** The example pictures of a generator that takes pictures (its run's held-out inputs), as RGB images. */
  get examplePictures(): RawImage[] {
    if (!this.takesPictures) return [];
    return this.examples.map((e) => ({ width: e.width, height: e.height, channels: 3, data: unpackLevels(e.labels) }));
  }

  /**
   * A label-map run's labels: their names (where the data named them), display colours, whether it reads
   * instance maps, and (where it does) the classes that are objects of their own (objectClasses, from the
   * names and the test maps), which a painter paints a new object a stroke.
   */
  get labels(): { count: number; names: string[]; colours: [number, number, number][]; instances: boolean; objects: number[] } | null {
    const c = this.info.conditioning;
    if (c.kind !== 'labelMap' || c.pictures) return null;
    const objects = c.instances ? objectClasses(c.labelNames, this.examples).filter((id) => id < c.labelCount) : [];
    return { count: c.labelCount, names: c.labelNames, colours: labelPalette(c.labelCount, c.labelNames), instances: c.instances, objects };
  }

  /** Whether it takes a photo's styles (`styles.photo`): a label-map generator exported with its feature encoder. */
  get encodesPhotos(): boolean {
    const c = this.info.conditioning;
    return c.kind === 'labelMap' && c.featNum > 0 && this.file.networks.includes('E');
  }

  /** The number of learned styles of a label class (0: none, or a run without a feature encoder). */
  styleCount(label: number): number {
    return this.file.styles?.clusters[label]?.length ?? 0;
  }

  /** seed:N's latent vector (optionally truncated), as the CLI draws it. */
  latent(seed: number, truncation?: number): Float32Array {
    if (!Number.isInteger(seed) || seed < 0) throw new GantryError(`a seed is a whole number >= 0, got ${seed}`);
    return latentForSeed(seed, this.info.latentDim, truncation);
  }

  /** The objects of a label map (instance ids, or label regions) with their class: what a click picks. */
  objectAt(map: LabelMapInput, x: number, y: number): { id: number; label: number } {
    const p = y * map.width + x;
    const maps: LabelMaps = { n: 1, height: map.height, width: map.width, labels: Int32Array.from(map.labels), instances: map.instances ? Int32Array.from(map.instances) : null };
    const { ids, classOf } = featureRegions(maps, featuresByLabel(this.info));
    return { id: ids[p], label: classOf(ids[p]) };
  }
}
