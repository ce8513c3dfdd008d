import type * as tf from '@tensorflow/tfjs-core';

/**
 * One training batch: images in [-1, 1], NHWC; labels where the data has classes; one caption an image
 * where it has text; label and instance maps [n, H, W] (ids, on the host) where it has them.
 */
export interface Batch {
  images: tf.Tensor4D;
  labels?: tf.Tensor1D;
  captions?: string[];
  /**
   * Text runs that average several captions an image (gan-cls's captionsPerImage, as Reed et al.'s code):
   * `perImage` captions of each image drawn with replacement, image by image; an image's first is its
   * caption in `captions`.
   */
  captionDraws?: { perImage: number; captions: string[] };
  /** Label ids [n, H, W], or for picture-input data each input pixel's levels packed (ImageDataset.pictureInputs). */
  labelMaps?: Int32Array;
  instanceMaps?: Int32Array;
  /** Precomputed feature maps [n, H, W] where the data has them, each pixel's RGB levels packed (dataset.ts). */
  featureMaps?: Int32Array;
}

/** What the data looks like, for a family to size its networks (label maps: whether they come with instance and feature maps). */
export interface DataShape {
  height: number;
  width: number;
  channels: number;
  numClasses: number;
  /** The classes' names, where the data has them (folder names, "circle", ...). */
  classNames?: string[];
  /** Every image's captions, where the data has text (text-conditional families build their vocabulary from them). */
  captions?: string[][];
  /**
   * Label-map data: its largest label id and the file (or image) that has it, whether it has instance maps, the
   * ids' names; pictures: the maps are input pictures, each pixel's levels packed (ImageDataset.pictureInputs).
   */
  labelMaps?: { maxLabel: number; maxLabelAt: string; instances: boolean; features?: boolean; pictures?: boolean; labelNames: string[]; missingInstances?: string };
}
