import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { hostInput } from '../engine/host-input.ts';
import type { Rng } from '../engine/rng.ts';

/**
 * Differentiable augmentation (DiffAugment, Zhao et al. 2020, "Differentiable Augmentation for
 * Data-Efficient GAN Training"): every image the discriminator sees, real or generated, in D's step and in
 * G's, is transformed at random, and G's gradient flows through the transform. D then cannot memorise a
 * small training set, which is what makes a GAN train on a few hundred images. The policies and their
 * ranges are the authors' DiffAugment_pytorch.py:
 * - color: brightness + U(-0.5, 0.5); saturation (x - mean over channels) * U(0, 2); contrast
 *   (x - mean over the image) * U(0.5, 1.5), each drawn per image;
 * - translation: shifted by a whole number of pixels in [-1/8, 1/8] of each side, zeros (grey) coming in;
 * - cutout: a square of half each side, centred at random (clipped at the edges), set to zero.
 */
export const AUGMENTATIONS = ['color', 'translation', 'cutout'] as const;
export type Augmentation = (typeof AUGMENTATIONS)[number];

/** A model section's `augment`: the policies, applied in the order given ([] or absent: none). */
export const augmentField = z.array(z.enum(AUGMENTATIONS)).refine((a) => new Set(a).size === a.length, 'each policy once').default([]);

/** The step's random stream: host inputs drawn from it replay with the next step's (engine/host-input.ts). */
interface AugmentScope {
  rng: Rng;
}

/** Images [n, h, w, c] with the policies applied, each image its own draw from the step's stream; no policies: `x` itself. */
export function diffAugment(x: tf.Tensor4D, policies: readonly Augmentation[], ctx: AugmentScope): tf.Tensor4D {
  let y = x;
  for (const policy of policies) y = AUGMENT[policy](y, ctx);
  return y;
}

const AUGMENT: Record<Augmentation, (x: tf.Tensor4D, ctx: AugmentScope) => tf.Tensor4D> = {
  color: (x, ctx) => {
    const n = x.shape[0];
    const perImage = (f: (u: number) => number) => hostInput(ctx, (s) => Float32Array.from({ length: n }, () => f(s.rng.uniform())), [n, 1, 1, 1]);
    const factors: [tf.Tensor, tf.Tensor, tf.Tensor] = [perImage((u) => u - 0.5), perImage((u) => u * 2), perImage((u) => u + 0.5)];
    const y = colorJitter(x, ...factors);
    tf.dispose(factors);
    return y;
  },
  translation: (x, ctx) => {
    const [n, h, w] = x.shape;
    const [sh, sw] = [Math.floor(h * 0.125 + 0.5), Math.floor(w * 0.125 + 0.5)];
    const rows = hostInput(ctx, (s) => {
      const dy = Array.from({ length: n }, () => s.rng.int(2 * sh + 1) - sh);
      const dx = Array.from({ length: n }, () => s.rng.int(2 * sw + 1) - sw);
      return translationRows(n, h, w, dy, dx);
    }, [n * h * w], 'int32') as tf.Tensor1D;
    const y = translate(x, rows);
    rows.dispose();
    return y;
  },
  cutout: (x, ctx) => {
    const [n, h, w] = x.shape;
    const mask = hostInput(ctx, (s) => {
      // The authors' centres: 0 .. h - 1 (to h where the square's side is even).
      const oy = Array.from({ length: n }, () => s.rng.int(h + (1 - (cutoutSide(h) % 2))));
      const ox = Array.from({ length: n }, () => s.rng.int(w + (1 - (cutoutSide(w) % 2))));
      return cutoutMask(n, h, w, oy, ox);
    }, [n, h, w, 1]);
    const y = tf.mul(x, mask) as tf.Tensor4D;
    mask.dispose();
    return y;
  },
};

/** Brightness (added), saturation and contrast (factors), each [n, 1, 1, 1]: one value per image. */
export function colorJitter(x: tf.Tensor4D, brightness: tf.Tensor, saturation: tf.Tensor, contrast: tf.Tensor): tf.Tensor4D {
  return tf.tidy(() => {
    let y = tf.add(x, brightness) as tf.Tensor4D;
    // One channel: the mean over channels is the pixel itself, which saturation leaves as it is.
    if (x.shape[3] > 1) {
      const m = tf.mean(y, 3, true);
      y = tf.add(tf.mul(tf.sub(y, m), saturation), m);
    }
    const m = tf.mean(y, [1, 2, 3], true);
    return tf.add(tf.mul(tf.sub(y, m), contrast), m) as tf.Tensor4D;
  });
}

/** Each output pixel taken from the row `rows` names of the image padded by a border of zeros (translationRows). */
export function translate(x: tf.Tensor4D, rows: tf.Tensor1D): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  return tf.tidy(() => {
    const padded = tf.reshape(tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]]), [n * (h + 2) * (w + 2), c]);
    return tf.reshape(tf.gather(padded, rows), [n, h, w, c]) as tf.Tensor4D;
  });
}

/**
 * For each output pixel of each image, the row of the padded image ([n * (h + 2) * (w + 2)]) it takes: the
 * pixel shifted by the image's (dy[b], dx[b]), clamped into the zero border.
 */
export function translationRows(n: number, h: number, w: number, dy: readonly number[], dx: readonly number[]): Int32Array {
  const rows = new Int32Array(n * h * w);
  const clamp = (v: number, hi: number) => Math.min(Math.max(v, 0), hi);
  for (let b = 0; b < n; b++) {
    for (let i = 0; i < h; i++) {
      const r = clamp(i + dy[b] + 1, h + 1);
      for (let j = 0; j < w; j++) rows[(b * h + i) * w + j] = (b * (h + 2) + r) * (w + 2) + clamp(j + dx[b] + 1, w + 1);
    }
  }
  return rows;
}

/** The cutout square's side along a side of `size` pixels: half of it, rounded. */
const cutoutSide = (size: number) => Math.floor(size * 0.5 + 0.5);

/** 1 where each image keeps its pixel, 0 in the square of half its sides at (oy[b], ox[b]), clipped at the edges. */
export function cutoutMask(n: number, h: number, w: number, oy: readonly number[], ox: readonly number[]): Float32Array {
  const [ch, cw] = [cutoutSide(h), cutoutSide(w)];
  const mask = new Float32Array(n * h * w).fill(1);
  for (let b = 0; b < n; b++) {
    const [y0, x0] = [oy[b] - Math.floor(ch / 2), ox[b] - Math.floor(cw / 2)];
    for (let i = Math.max(y0, 0); i <= Math.min(y0 + ch - 1, h - 1); i++) {
      for (let j = Math.max(x0, 0); j <= Math.min(x0 + cw - 1, w - 1); j++) mask[(b * h + i) * w + j] = 0;
    }
  }
  return mask;
}
