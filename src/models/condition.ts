import type * as tf from '@tensorflow/tfjs-core';
import { GantryError } from '../errors.ts';
import type { ImageFit } from '../data/transform.ts';
import type { DataShape } from '../data/batch.ts';

/**
 * What a generator is conditioned on, for one batch of n images: the one argument `generate` takes
 * beside the latent vectors. Class weights are one-hot rows or mixtures (class interpolation); sentence
 * vectors come from the run's caption encoder (`encodeText`); label maps are per-pixel conditions.
 */
export type Condition =
  | { kind: 'none' }
  | { kind: 'class'; weights: tf.Tensor2D }
  | { kind: 'text'; vectors: tf.Tensor2D }
  /**
   * Label ids [n, H, W] (int32; for a model whose inputs are pictures, their levels packed, takesPictures), with instance ids [n, H, W] for models trained with instance maps, and
   * per-pixel instance features [n, H, W, featNum] for models with a feature encoder (pix2pixHD's styles).
   */
  | { kind: 'labelMap'; labels: tf.Tensor3D; instances?: tf.Tensor3D; features?: tf.Tensor4D };

export type ConditionKind = Condition['kind'];

export const NO_CONDITION: Condition = { kind: 'none' };

/** What a family's generator is conditioned on, with what a user needs to name a condition. */
export type Conditioning =
  | { kind: 'none' }
  /** classNames: one per class where the data named them (folder names, "circle"), else empty. */
  | { kind: 'class'; numClasses: number; classNames: string[] }
  /**
   * vocabulary: the words the caption encoder knows; sampleCaptions: one column each in sample grids; dim:
   * sentence vector size; captionsPerImage: training batches' captions an image, their vectors averaged (absent: 1).
   */
  | { kind: 'text'; vocabulary: string[]; sampleCaptions: string[]; dim: number; captionsPerImage?: number }
  /**
   * labelCount: ids 0 .. labelCount - 1; instances: the model takes instance maps too; labelNames: where the
   * data named the ids; featNum: instance features per pixel the generator also reads (0: none); labelFeat:
   * those features are one per label region even where instance maps are given (absent in older files: false);
   * loadFeatures: the generator was trained on precomputed feature maps and has no encoder (absent: false);
   * pictures: its inputs are pictures, not label ids (pix2pixHD's --label_nc 0; labelCount 0): a map's "id" at
   * a pixel is the picture's RGB levels packed, r << 16 | g << 8 | b (absent: false).
   */
  | { kind: 'labelMap'; labelCount: number; instances: boolean; labelNames: string[]; featNum: number; labelFeat?: boolean; loadFeatures?: boolean; pictures?: boolean };

/**
 * The typed description of a built model that everything outside src/models/ reads (the trainer,
 * explore, eval, compare, the studio): no one else reads a family's config section.
 */
export interface ModelInfo {
  family: string;
  /** Image size; channels 0 before the data has been seen (a config that takes them from the data). */
  height: number;
  width: number;
  channels: number;
  /** Size of the latent vectors `generate` takes (0: the family draws none). */
  latentDim: number;
  conditioning: Conditioning;
  /** Fraction of the data the family never trains on and scores at checkpoints (0: none). */
  holdout: number;
}

/** Whether a label-map model's inputs are pictures (packed levels in the maps), not label ids. */
export function takesPictures(info: ModelInfo): boolean {
  return info.conditioning.kind === 'labelMap' && info.conditioning.pictures === true;
}

/**
 * Whether a label-map model's instance features are one per label region rather than one per instance:
 * so where it takes no instance maps, or was trained with labelFeat (pix2pixHD's --label_feat).
 */
export function featuresByLabel(info: ModelInfo): boolean {
  const c = info.conditioning;
  return c.kind === 'labelMap' && (!c.instances || c.labelFeat === true);
}

/**
 * The data a model trains on, as openDataset fits it: its image size, with pix2pixHD's precomputed feature
 * maps where it reads them (loadFeatures; other runs do not hold them, though the data has them).
 */
export function dataFit(info: ModelInfo): ImageFit {
  const c = info.conditioning;
  return { height: info.height, width: info.width, channels: info.channels, readFeatureMaps: c.kind === 'labelMap' && c.loadFeatures === true };
}

/**
 * How a model's training batches are drawn, beyond their size: label-map runs see each pair mirrored half
 * the time by default (as pix2pixHD does unless --no_flip); text runs that average captions get that many
 * captions an image.
 */
export function batchDefaults(info: ModelInfo): { flip: boolean; captionsPerImage: number } {
  const c = info.conditioning;
  return { flip: c.kind === 'labelMap', captionsPerImage: c.kind === 'text' ? c.captionsPerImage ?? 1 : 1 };
}

/**
 * A family that learns classes (the class-conditional GANs, the classifier) needs data of two or more:
 * unlabelled data and data of one class (a ?classes= of one) are each one line saying which, with the
 * family that learns without classes (`withoutClasses`) where there is one.
 */
export function requireClasses(family: string, data: DataShape, withoutClasses?: string): void {
  if (data.numClasses === 1) throw new GantryError(`${family}: the data has one class (${data.classNames?.[0] ?? 'class 0'}), and ${family} learns to tell classes apart; give it two or more (?classes=a,b)${withoutClasses ? `, or train ${withoutClasses} on one class` : ''}`);
  if (data.numClasses < 2) throw new GantryError(`${family}: the data has no class labels; use labelled data (mnist, shapes, cifar10, a folder with one sub-folder per class)`);
}

/** The condition's tensor of the expected kind, checked against the model: one clear error otherwise. */
export function expectCondition<K extends 'class' | 'text'>(info: ModelInfo, condition: Condition, kind: K, n: number): tf.Tensor2D {
  if (condition.kind !== kind) {
    throw new GantryError(`a ${info.family} model is conditioned on ${describeKind(kind)}, not ${describeKind(condition.kind)}`);
  }
  const t = condition.kind === 'class' ? condition.weights : condition.kind === 'text' ? condition.vectors : null;
  const c = info.conditioning;
  const width = c.kind === 'class' ? c.numClasses : c.kind === 'text' ? c.dim : 0;
  if (!t || t.shape[0] !== n || t.shape[1] !== width) {
    const what = kind === 'class' ? 'class weights' : 'sentence vectors';
    throw new GantryError(`${what} must be [${n}, ${width}], got [${t?.shape.join(', ') ?? ''}]`);
  }
  return t;
}

/** For unconditioned generators: anything but { kind: 'none' } is an error. */
export function expectNoCondition(info: ModelInfo, condition: Condition): void {
  if (condition.kind !== 'none') throw new GantryError(`a ${info.family} model is not conditioned; it takes no ${describeKind(condition.kind)}`);
}

export function describeKind(kind: ConditionKind): string {
  return { none: 'nothing', class: 'a class', text: 'text', labelMap: 'a label map' }[kind];
}

/** The tensors a condition holds, in a fixed order (the inputs of a recorded generator). */
export function conditionTensors(c: Condition): tf.Tensor[] {
  switch (c.kind) {
    case 'none':
      return [];
    case 'class':
      return [c.weights];
    case 'text':
      return [c.vectors];
    case 'labelMap':
      return [c.labels, c.instances, c.features].filter((t): t is tf.Tensor3D | tf.Tensor4D => t !== undefined);
  }
}
