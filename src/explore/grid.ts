import * as tf from '@tensorflow/tfjs-core';
import type { RawImage } from '../io/pixels.ts';

/** 8-bit images, HWC, back to back: what generators draw and auto-encoders reconstruct. */
export interface GeneratedImages {
  n: number;
  height: number;
  width: number;
  channels: number;
  pixels: Uint8Array;
}

/** Converts a [-1, 1] image batch [n, h, w, c] to 8-bit pixels (n images back to back). */
export async function toUint8Images(images: tf.Tensor4D): Promise<Uint8Array> {
  const values = await images.data();
  const out = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = Math.max(0, Math.min(255, Math.round((values[i] + 1) * 127.5)));
  return out;
}

/**
 * The 8-bit levels (0 .. 255, as floats) a saved PNG of [-1, 1] images holds, on the device: what a run's
 * images are scored as, so that a score is its exported images' score.
 */
export function savedLevels(images: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => tf.round(tf.clipByValue(tf.mul(tf.add(images, 1), 127.5), 0, 255)) as tf.Tensor4D);
}

/** Tiles n images into a grid of `cols` columns with a `gap`-pixel border (grey), like torchvision's make_grid. */
export function tileImages(pixels: Uint8Array, n: number, h: number, w: number, c: number, cols = Math.ceil(Math.sqrt(n)), gap = 2): RawImage {
  const rows = Math.ceil(n / cols);
  const width = cols * (w + gap) + gap;
  const height = rows * (h + gap) + gap;
  const data = new Uint8Array(width * height * c).fill(64);
  for (let i = 0; i < n; i++) {
    const x0 = gap + (i % cols) * (w + gap);
    const y0 = gap + Math.floor(i / cols) * (h + gap);
    for (let y = 0; y < h; y++) {
      const src = (i * h * w + y * w) * c;
      data.set(pixels.subarray(src, src + w * c), ((y0 + y) * width + x0) * c);
    }
  }
  return { width, height, channels: c, data };
}

export async function imageGrid(images: tf.Tensor4D, cols?: number): Promise<RawImage> {
  const [n, h, w, c] = images.shape;
  return tileImages(await toUint8Images(images), n, h, w, c, cols);
}

/** Rows of `cols` inputs, each above a row of their outputs (a short last pair of rows left open on the right). */
export function inputsAboveOutputs(inputs: GeneratedImages, outputs: GeneratedImages, cols: number): RawImage {
  const { n, height, width, channels } = inputs;
  const per = height * width * channels;
  const rows = Math.ceil(n / cols);
  // The grid's grey fills the open places, so they read as no image.
  const pixels = new Uint8Array(2 * rows * cols * per).fill(64);
  for (let i = 0; i < n; i++) {
    const at = (Math.floor(i / cols) * 2 * cols + (i % cols)) * per;
    pixels.set(inputs.pixels.subarray(i * per, (i + 1) * per), at);
    pixels.set(outputs.pixels.subarray(i * per, (i + 1) * per), at + cols * per);
  }
  return tileImages(pixels, 2 * rows * cols, height, width, channels, cols);
}
