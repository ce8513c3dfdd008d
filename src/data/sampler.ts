import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '../engine/rng.ts';
import { GantryError } from '../errors.ts';
import { readImages, type ImageDataset } from './dataset.ts';
import type { Batch } from './batch.ts';

/**
 * Shuffled batches as a pure function of (seed, step): epoch e uses permutation e of the seed, and the
 * last incomplete batch of an epoch is dropped. A resumed run therefore sees exactly the batches an
 * uninterrupted one would, with no iterator state to save.
 */
export class BatchSampler {
  readonly batchesPerEpoch: number;
  private cachedEpoch = -1;
  private order: Int32Array = new Int32Array(0);

  /**
   * flip: each image of a batch mirrored left-right with probability 1/2 (with its maps), drawn from (seed,
   * step). crop: each image cut to this size at a uniformly drawn place (its maps alike), drawn from
   * (seed, step) too; the data is read larger for it (train.loadSize). captionsPerImage > 1: batches also
   * carry that many captions of each image (Batch.captionDraws), drawn from the step's caption stream.
   */
  constructor(readonly data: ImageDataset, readonly batchSize: number, readonly seed: number, readonly flip = false,
    readonly crop?: { height: number; width: number }, readonly captionsPerImage = 1) {
    if (data.n < batchSize) throw new GantryError(`the data has ${data.n} images, fewer than one batch of ${batchSize}; use a smaller batch size`);
    if (crop && (crop.height > data.height || crop.width > data.width)) throw new Error(`a ${crop.height}x${crop.width} crop of ${data.height}x${data.width} images`);
    this.batchesPerEpoch = Math.floor(data.n / batchSize);
  }

  indicesAt(step: number): Int32Array {
    const epoch = Math.floor(step / this.batchesPerEpoch);
    if (epoch !== this.cachedEpoch) {
      this.order = new Rng(this.seed, 'data-order', epoch).permutation(this.data.n);
      this.cachedEpoch = epoch;
    }
    const start = (step % this.batchesPerEpoch) * this.batchSize;
    return this.order.subarray(start, start + this.batchSize);
  }

  batchAt(step: number): Batch {
    // Images with several captions (CUB's ten) get one drawn from the step's own stream.
    const captionRng = new Rng(this.seed, 'caption', step);
    const batch = this.viewedBatch(step, captionRng);
    if (this.captionsPerImage > 1 && batch.captions) batch.captionDraws = this.moreCaptions(step, batch.captions, captionRng);
    return batch;
  }

  /** Each image's caption of the batch, then captionsPerImage - 1 more drawn with replacement after it. */
  private moreCaptions(step: number, first: string[], captionRng: Rng): { perImage: number; captions: string[] } {
    const k = this.captionsPerImage;
    const captions = Array.from(this.indicesAt(step), (j, i) => {
      const options = this.data.captions![j];
      return [first[i], ...Array.from({ length: k - 1 }, () => options[options.length > 1 ? captionRng.int(options.length) : 0])];
    }).flat();
    return { perImage: k, captions };
  }

  private viewedBatch(step: number, captionRng: Rng): Batch {
    if (!this.flip && !this.crop) return makeBatch(this.data, this.indicesAt(step), captionRng);
    const n = this.batchSize;
    const flips = this.flip ? new Rng(this.seed, 'flip', step) : null;
    const at = this.crop ? new Rng(this.seed, 'crop', step) : null;
    const { height, width } = this.crop ?? this.data;
    const views = Array.from({ length: n }, (): ImageView => ({
      flip: flips ? flips.uniform() < 0.5 : false,
      y: at ? at.int(this.data.height - height + 1) : 0,
      x: at ? at.int(this.data.width - width + 1) : 0,
    }));
    return makeBatch(this.data, this.indicesAt(step), captionRng, { views, height, width });
  }
}

/** Where a batch image is cut from its data image (top-left y, x), and whether it is mirrored after the cut. */
export interface ImageView {
  y: number;
  x: number;
  flip: boolean;
}

/** 8-bit pixels as the networks read them: level / 127.5 - 1, in [-1, 1]. */
export function networkValues(pixels: Uint8Array): Float32Array {
  return Float32Array.from(pixels, (v) => v / 127.5 - 1);
}

/**
 * Images at the given indices as a [-1, 1] float batch, with their labels and, for captioned data, one
 * caption each (drawn by `captionRng` among an image's captions, else its first). With `view`, image i is
 * the height x width region of its data image at views[i], mirrored left-right where views[i].flip, its
 * label, instance and feature maps alike; without, the whole images as they are.
 */
export function makeBatch(data: ImageDataset, indices: ArrayLike<number>, captionRng?: Rng, view?: { views: ImageView[]; height: number; width: number }): Batch {
  const { channels } = data;
  const [height, width] = view ? [view.height, view.width] : [data.height, data.width];
  const per = height * width * channels;
  // The batch's own images, back to back (one batch of them is all that is read of stored data).
  const records = readImages(data, indices);
  // Index in the records of batch image i's pixel (y, x) (times channels for pixels).
  const source = (i: number, y: number, x: number) => {
    const v = view!.views[i];
    const sx = v.x + (v.flip ? width - 1 - x : x);
    return (i * data.height + v.y + y) * data.width + sx;
  };
  let pixels = records.pixels;
  if (view) {
    pixels = new Uint8Array(indices.length * per);
    for (let i = 0; i < indices.length; i++) for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) {
      const [s, d] = [source(i, y, x) * channels, (i * height * width + y * width + x) * channels];
      for (let c = 0; c < channels; c++) pixels[d + c] = records.pixels[s + c];
    }
  }
  const values = networkValues(pixels);
  const images = tf.tensor4d(values, [indices.length, height, width, channels]);
  const labels = data.labels ? tf.tensor1d(Int32Array.from(indices, (j) => data.labels![j]), 'int32') : undefined;
  const captions = data.captions ? Array.from(indices, (j) => {
    const options = data.captions![j];
    return options[captionRng && options.length > 1 ? captionRng.int(options.length) : 0];
  }) : undefined;
  const area = height * width;
  const maps = (m: Int32Array | undefined): Int32Array | undefined => {
    if (!m || !view) return m;
    const out = new Int32Array(indices.length * area);
    for (let i = 0; i < indices.length; i++) for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) out[(i * height + y) * width + x] = m[source(i, y, x)];
    return out;
  };
  return { images, labels, captions, labelMaps: maps(records.labelMaps), instanceMaps: maps(records.instanceMaps), featureMaps: maps(records.featureMaps) };
}
