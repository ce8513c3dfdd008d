import * as tf from '@tensorflow/tfjs-core';

/**
 * Label maps as pix2pixHD feeds them to its networks: one-hot labels, and the instance boundary map
 * (a pixel whose instance id differs from any of its four neighbours), channels last.
 */

/** Labels [n, h, w] (ids 0 .. labelNc - 1) -> [n, h, w, labelNc], one-hot. */
export function oneHotLabels(labels: Int32Array, n: number, h: number, w: number, labelNc: number): tf.Tensor4D {
  return tf.tidy(() => tf.cast(tf.oneHot(tf.tensor3d(labels, [n, h, w], 'int32'), labelNc), 'float32') as tf.Tensor4D);
}

/** The instance boundary map of instance ids [n, h, w]: 1 where a 4-neighbour has another id, else 0. */
export function instanceEdges(instances: Int32Array, n: number, h: number, w: number): Float32Array {
  const edges = new Float32Array(n * h * w);
  for (let b = 0; b < n; b++) {
    const o = b * h * w;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const i = o + y * w + x;
        const id = instances[i];
        if ((x > 0 && instances[i - 1] !== id) || (x + 1 < w && instances[i + 1] !== id) || (y > 0 && instances[i - w] !== id) || (y + 1 < h && instances[i + w] !== id)) edges[i] = 1;
      }
    }
  }
  return edges;
}

/** G's and D's label input: one-hot labels, then the boundary map of the instances where there are any. */
export function labelMapInput(labels: Int32Array, instances: Int32Array | null, n: number, h: number, w: number, labelNc: number): tf.Tensor4D {
  return tf.tidy(() => {
    const oneHot = oneHotLabels(labels, n, h, w, labelNc);
    if (!instances) return oneHot;
    return tf.concat([oneHot, tf.tensor4d(instanceEdges(instances, n, h, w), [n, h, w, 1])], 3) as tf.Tensor4D;
  });
}
