import * as tf from '@tensorflow/tfjs-core';
import { LEVEL_VALUES } from './sampler.ts';

/**
 * Label maps as pix2pixHD feeds them to its networks: one-hot labels, and the instance boundary map
 * (a pixel whose instance id differs from any of its four neighbours), channels last.
 */

/** Label ids [n, h, w] (0 .. labelNc - 1) -> [n, h, w, labelNc], one-hot. */
export function oneHotLabels(labels: tf.Tensor3D, labelNc: number): tf.Tensor4D {
  return tf.oneHot(labels, labelNc, 1, 0, 'float32') as tf.Tensor4D;
}

/** The instance boundary map of instance ids [n, h, w]: [n, h, w, 1], 1 where a 4-neighbour has another id, else 0. */
export function instanceEdges(instances: tf.Tensor3D): tf.Tensor4D {
  return tf.tidy(() => {
    const [n, h, w] = instances.shape;
    // dx[y, x]: pixel x differs from x + 1; it marks both of them (the same along y).
    const dx = tf.notEqual(tf.slice(instances, [0, 0, 1], [n, h, w - 1]), tf.slice(instances, [0, 0, 0], [n, h, w - 1]));
    const dy = tf.notEqual(tf.slice(instances, [0, 1, 0], [n, h - 1, w]), tf.slice(instances, [0, 0, 0], [n, h - 1, w]));
    const asFloat = (t: tf.Tensor) => tf.cast(t, 'float32');
    const marks = [
      tf.pad(asFloat(dx), [[0, 0], [0, 0], [1, 0]]), tf.pad(asFloat(dx), [[0, 0], [0, 0], [0, 1]]),
      tf.pad(asFloat(dy), [[0, 0], [1, 0], [0, 0]]), tf.pad(asFloat(dy), [[0, 0], [0, 1], [0, 0]]),
    ];
    return tf.reshape(tf.minimum(tf.addN(marks), 1), [n, h, w, 1]) as tf.Tensor4D;
  });
}

/** G's and D's label input: one-hot labels, then the boundary map of the instances where there are any. */
export function labelMapInput(labels: tf.Tensor3D, instances: tf.Tensor3D | null | undefined, labelNc: number): tf.Tensor4D {
  return tf.tidy(() => {
    const oneHot = oneHotLabels(labels, labelNc);
    if (!instances) return oneHot;
    return tf.concat([oneHot, instanceEdges(instances)], 3) as tf.Tensor4D;
  });
}

/**
 * Input pictures kept as maps (pairs:DIR's train_A/, pix2pixHD's --label_nc 0), each pixel's levels packed
 * r << 16 | g << 8 | b [n, h, w] (int32) -> [n, h, w, 3] in [-1, 1], each level's value as an image's
 * (sampler's networkValues), so a picture reads the same as input and as image.
 */
export function pictureInput(packed: tf.Tensor3D): tf.Tensor4D {
  return tf.tidy(() => {
    const [level, rg] = [tf.scalar(256, 'int32'), tf.scalar(65536, 'int32')];
    const levels = tf.stack([tf.floorDiv(packed, rg), tf.mod(tf.floorDiv(packed, level), level), tf.mod(packed, level)], 3);
    return tf.gather(tf.tensor1d(LEVEL_VALUES), levels) as tf.Tensor as tf.Tensor4D;
  });
}

/** Host maps [n, h, w] (ids back to back) as an int32 tensor. */
export function mapTensor(ids: Int32Array, n: number, h: number, w: number): tf.Tensor3D {
  return tf.tensor3d(ids, [n, h, w], 'int32');
}
