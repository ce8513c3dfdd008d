import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '../engine/rng.ts';
import { GantryError } from '../errors.ts';
import { gatherMaps, imageBytes, type IdArray, type ImageDataset } from './dataset.ts';
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

  /** flip: each image of a batch mirrored left-right with probability 1/2 (with its maps), drawn from (seed, step). */
  constructor(readonly data: ImageDataset, readonly batchSize: number, readonly seed: number, readonly flip = false) {
    if (data.n < batchSize) throw new GantryError(`the data has ${data.n} images, fewer than one batch of ${batchSize}; lower --batch`);
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
    const flips = this.flip ? new Rng(this.seed, 'flip', step) : null;
    return makeBatch(this.data, this.indicesAt(step), new Rng(this.seed, 'caption', step), flips ? Array.from({ length: this.batchSize }, () => flips.uniform() < 0.5) : undefined);
  }
}

/**
 * Images at the given indices as a [-1, 1] float batch, with their labels and, for captioned data, one
 * caption each (drawn by `captionRng` among an image's captions, else its first); image i mirrored
 * left-right, with its label and instance maps, where flips[i].
 */
export function makeBatch(data: ImageDataset, indices: ArrayLike<number>, captionRng?: Rng, flips?: boolean[]): Batch {
  const per = imageBytes(data);
  const { height, width, channels } = data;
  const values = new Float32Array(indices.length * per);
  for (let i = 0; i < indices.length; i++) {
    const src = indices[i] * per;
    const dst = i * per;
    if (flips?.[i]) {
      for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) for (let c = 0; c < channels; c++) {
        values[dst + (y * width + x) * channels + c] = data.pixels[src + (y * width + width - 1 - x) * channels + c] / 127.5 - 1;
      }
    } else {
      for (let k = 0; k < per; k++) values[dst + k] = data.pixels[src + k] / 127.5 - 1;
    }
  }
  const images = tf.tensor4d(values, [indices.length, data.height, data.width, data.channels]);
  const labels = data.labels ? tf.tensor1d(Int32Array.from(indices, (j) => data.labels![j]), 'int32') : undefined;
  const captions = data.captions ? Array.from(indices, (j) => {
    const options = data.captions![j];
    return options[captionRng && options.length > 1 ? captionRng.int(options.length) : 0];
  }) : undefined;
  const area = height * width;
  const maps = (m: IdArray | null | undefined) => {
    const out = gatherMaps(m, indices, area);
    if (out && flips) flips.forEach((f, i) => f && mirrorRows(out.subarray(i * area, (i + 1) * area), width));
    return out;
  };
  return { images, labels, captions, labelMaps: maps(data.labelMaps), instanceMaps: maps(data.instanceMaps) };
}

/** Mirrors a map of rows of `width` ids left-right, in place. */
function mirrorRows(map: Int32Array, width: number): void {
  for (let row = 0; row < map.length; row += width) map.subarray(row, row + width).reverse();
}
