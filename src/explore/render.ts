import * as tf from '@tensorflow/tfjs-core';
import { GantryError } from '../errors.ts';
import type { RawImage } from '../io/pixels.ts';
import { tileImages, toUint8Images } from './grid.ts';
import { conditionTensor, dataMaps, sliceConditions, stackRows, type ConditionRows, type Generator } from './conditions.ts';
import { colourLabels, labelPalette } from './label-colours.ts';
import { imageBytes, readImages, type ImageDataset } from '../data/dataset.ts';
import { networkValues } from '../data/sampler.ts';
import { FEATURE_MAP_CHANNELS, FEATURE_MAP_FOLDERS, featureValues, unpackLevels } from '../data/feature-maps.ts';
import { encodedStyles } from './instance-styles.ts';
import { generateImages, settleGpuProducts } from '../models/step-runner.ts';

/** Images drawn at once, at most: memory stays bounded however many a command asks for. */
export const DRAW_CHUNK = 64;

/** Pixels drawn at once, at most (64 images of 64x64): a forward pass holds every layer's output until it ends. */
const DRAW_PIXELS = 64 * 64 * 64;

/** How many images of this run's size are drawn at once: 64 up to 64x64, 4 at 256x256, 1 from 512x512 on. */
export function drawChunk(info: { height: number; width: number }): number {
  return Math.max(1, Math.min(DRAW_CHUNK, Math.floor(DRAW_PIXELS / (info.height * info.width))));
}

/**
 * Images of latent vectors with their conditions (src/explore/conditions.ts), networks in evaluation mode,
 * as one tensor (drawn `chunk` at a time, drawChunk's by default): for sets whose images fit in memory at
 * once (a grid, a batch to score); drawImages for any number.
 */
export function vectorsToImages(run: Generator, vectors: Float32Array[], conditions: ConditionRows, chunk = drawChunk(run.info)): tf.Tensor4D {
  if (!run.model.generate) throw new GantryError(`this run (${run.info.family}) does not generate images`);
  const draw = (first: number, count: number, rows: ConditionRows) => tf.tidy(() => {
    const z = tf.tensor2d(stackRows(vectors.slice(first, first + count)), [count, run.info.latentDim]);
    return generateImages(run.model, z, conditionTensor(rows));
  });
  if (vectors.length <= chunk) return draw(0, vectors.length, conditions);
  const parts: tf.Tensor4D[] = [];
  for (let first = 0; first < vectors.length; first += chunk) {
    const count = Math.min(chunk, vectors.length - first);
    parts.push(draw(first, count, sliceConditions(conditions, first, count)));
  }
  const images = tf.concat(parts, 0);
  tf.dispose(parts);
  return images;
}

/**
 * Draws the images drawChunk at a time and hands each chunk's 8-bit pixels (HWC, back to back) to
 * `each` with the index of its first image: what sample, interpolate, arith and the studio write.
 */
export async function drawImages(run: Generator, vectors: Float32Array[], conditions: ConditionRows, each: (pixels: Uint8Array, first: number, count: number) => void | Promise<void>): Promise<void> {
  const chunk = drawChunk(run.info);
  for (let first = 0; first < vectors.length; first += chunk) {
    const count = Math.min(chunk, vectors.length - first);
    const images = vectorsToImages(run, vectors.slice(first, first + count), sliceConditions(conditions, first, count));
    await settleGpuProducts();
    const pixels = await toUint8Images(images);
    images.dispose();
    await each(pixels, first, count);
  }
}

/** The images as one grid of `cols` columns (drawn in chunks; only 8-bit pixels are held). */
export async function renderGrid(run: Generator, vectors: Float32Array[], conditions: ConditionRows, cols?: number): Promise<RawImage> {
  const { height, width, channels } = run.info;
  const per = height * width * channels;
  const all = new Uint8Array(vectors.length * per);
  await drawImages(run, vectors, conditions, (pixels, first) => all.set(pixels, first * per));
  return tileImages(all, vectors.length, height, width, channels, cols);
}

/**
 * A label-map run's images of the data's maps at the given indices, one row each: the label map in
 * colour (the input picture, for pictures as inputs), the generated image (with instance features, those of the real image, or of the data's
 * precomputed feature maps for a run trained on them), the real image.
 */
export async function labelMapTriplets(run: Generator, data: ImageDataset, indices: ArrayLike<number>): Promise<RawImage> {
  const c = run.info.conditioning;
  if (c.kind !== 'labelMap') throw new Error('labelMapTriplets: not a label-map run');
  const { height, width } = run.info;
  const n = indices.length;
  const records = readImages(data, indices);
  let maps = dataMaps(data, indices, records);
  if (c.loadFeatures) {
    const loaded = records.featureMaps;
    if (!loaded) throw new GantryError(`${data.name} has no precomputed feature maps (${FEATURE_MAP_FOLDERS}), which this run reads`);
    maps = { kind: 'labelMap', maps: { ...maps.maps, features: featureValues(loaded), featNum: FEATURE_MAP_CHANNELS } };
  } else if (c.featNum > 0) {
    // Generators with instance features draw each map in the style of its own real image.
    const real = tf.tensor4d(networkValues(records.pixels), [n, data.height, data.width, data.channels]);
    maps = { kind: 'labelMap', maps: await encodedStyles(run, maps.maps, real) };
    real.dispose();
  }
  const per = imageBytes(data);
  const generated = new Uint8Array(n * per);
  await drawImages(run, Array.from({ length: n }, () => new Float32Array(run.info.latentDim)), maps, (pixels, first) => generated.set(pixels, first * per));
  const coloured = c.pictures ? unpackLevels(maps.maps.labels) : colourLabels(maps.maps, labelPalette(c.labelCount, c.labelNames));
  const all = new Uint8Array(3 * n * per);
  const real = records.pixels;
  for (let i = 0; i < n; i++) {
    all.set(coloured.subarray(i * per, (i + 1) * per), 3 * i * per);
    all.set(generated.subarray(i * per, (i + 1) * per), (3 * i + 1) * per);
    all.set(real.subarray(i * per, (i + 1) * per), (3 * i + 2) * per);
  }
  return tileImages(all, 3 * n, height, width, data.channels, 3);
}
