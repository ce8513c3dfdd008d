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
    if (data.n < batchSize) throw new GantryError(`the data has ${data.n} images, fewer than one batch of ${batchSize}; use a batch of at most ${data.n} (--batch, or train.batch in a config)`);
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
  // A table and a plain loop: Float32Array.from with a map function was a GPU step's time per batch.
  const out = new Float32Array(pixels.length);
  for (let i = 0; i < pixels.length; i++) out[i] = LEVEL_VALUES[pixels[i]];
  return out;
}

/** Each 8-bit level's network value, level / 127.5 - 1 (float32). */
export const LEVEL_VALUES = Float32Array.from({ length: 256 }, (_, v) => v / 127.5 - 1);

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
  // Batch image i's row y, copied from its records' row (mirrored where its view says), for pixels (`channels`
  // values a pixel) and maps (one): row by row, as a batch is read every step.
  const copyRows = <A extends Uint8Array | Int32Array>(from: A, to: A, per: number) => {
    for (let i = 0; i < indices.length; i++) {
      const v = view!.views[i];
      for (let y = 0; y < height; y++) {
        const s = ((i * data.height + v.y + y) * data.width + v.x) * per;
        const d = (i * height + y) * width * per;
        if (!v.flip) to.set(from.subarray(s, s + width * per), d);
        else for (let x = 0; x < width; x++) for (let c = 0; c < per; c++) to[d + x * per + c] = from[s + (width - 1 - x) * per + c];
      }
    }
    return to;
  };
  const pixels = view ? copyRows(records.pixels, new Uint8Array(indices.length * per), channels) : records.pixels;
  const values = networkValues(pixels);
  const images = tf.tensor4d(values, [indices.length, height, width, channels]);
  const labels = data.labels ? tf.tensor1d(Int32Array.from(indices, (j) => data.labels![j]), 'int32') : undefined;
  const captions = data.captions ? Array.from(indices, (j) => {
    const options = data.captions![j];
    return options[captionRng && options.length > 1 ? captionRng.int(options.length) : 0];
  }) : undefined;
  const area = height * width;
  const maps = (m: Int32Array | undefined): Int32Array | undefined => (!m || !view ? m : copyRows(m, new Int32Array(indices.length * area), 1));
  return { images, labels, captions, labelMaps: maps(records.labelMaps), instanceMaps: maps(records.instanceMaps), featureMaps: maps(records.featureMaps) };
}
