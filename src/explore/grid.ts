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

/**
 * The 8-bit level of a [-1, 1] value: (v + 1) * 127.5 in float32, as tensors compute it, rounded half up
 * and clamped. savedLevels computes the same on the device, so a score is its saved images' score.
 */
function level(v: number): number {
  const x = Math.fround(Math.fround(v + 1) * 127.5);
  return x <= 0 ? 0 : x >= 255 ? 255 : Math.floor(x + 0.5);
}

/** Converts a [-1, 1] image batch [n, h, w, c] to 8-bit pixels (n images back to back). */
export async function toUint8Images(images: tf.Tensor4D): Promise<Uint8Array> {
  const values = await images.data();
  const out = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = level(values[i]);
  return out;
}

/**
 * The 8-bit levels (0 .. 255, as floats) that toUint8Images gives a saved PNG of [-1, 1] images, on the
 * device: what a run's images are scored as. Rounded half up as floor + (fraction >= 0.5), each step exact
 * in float32 on every backend (tf.round rounds half to even).
 */
export function savedLevels(images: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => {
    const scaled = tf.clipByValue(tf.mul(tf.add(images, 1), 127.5), 0, 255);
    const whole = tf.floor(scaled);
    return tf.add(whole, tf.cast(tf.greaterEqual(tf.sub(scaled, whole), 0.5), 'float32')) as tf.Tensor4D;
  });
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
