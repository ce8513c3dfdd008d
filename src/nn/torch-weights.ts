import * as tf from '@tensorflow/tfjs-core';
import { GantryError } from '../errors.ts';
import type { TorchTensor } from '../io/torch.ts';
import type { ParamSet } from './params.ts';
import { withPlaceholderWeights } from './init.ts';

/**
 * Copies a PyTorch state dict into a network whose parameters carry PyTorch's names: convolution weights
 * ([out, in, kh, kw], transposed ones [in, out, kh, kw]) become gantry's [kh, kw, in, out] / [kh, kw,
 * out, in] (the same axis order (2, 3, 1, 0) for both), linear weights are transposed, vectors copied.
 * A missing tensor or a shape that does not fit is one error naming the file and the tensor. Each
 * tensor's values are taken out of the state dict as they load (its `data` left empty): the state dict is
 * read for this, and a large file's arrays are freed while the rest loads.
 */
const CONSUMED = new Float32Array(0);

export function loadTorchWeights(params: ParamSet, stateDict: Map<string, TorchTensor>, what: string): void {
  for (const [name, variable] of params.named()) {
    const t = stateDict.get(name);
    if (!t) throw new GantryError(`${what} has no tensor ${name}; it is not a checkpoint of this network (or of another size)`);
    const shape = gantryShape(t.shape);
    if (shape.join('x') !== variable.shape.join('x')) {
      throw new GantryError(`${what}: ${name} is ${t.shape.join('x')} in the file, which does not fit this network's ${torchShape(variable.shape).join('x')} (both in PyTorch's order); build it with the sizes it was trained with`);
    }
    if (t.data.length !== variable.size) throw new GantryError(`${what}: ${name} was loaded into a network already (loadTorchWeights takes each tensor's values out of the state dict)`);
    const value = tf.tensor(gantryLayout(t), shape, 'float32');
    variable.assign(value);
    value.dispose();
    // The file's array is the network's now (vectors) or garbage (weights, copied in gantry's layout): a
    // generator of NVIDIA's is not held twice while the rest loads.
    t.data = CONSUMED;
  }
}

/** The shape of a PyTorch tensor in gantry's layout: axes (2, 3, 1, 0) of a 4-D weight, a matrix transposed. */
function gantryShape(shape: number[]): number[] {
  if (shape.length === 4) return [shape[2], shape[3], shape[1], shape[0]];
  return shape.length === 2 ? [shape[1], shape[0]] : shape;
}

/** gantryShape undone: a gantry weight's shape in PyTorch's order. */
function torchShape(shape: number[]): number[] {
  if (shape.length === 4) return [shape[3], shape[2], shape[0], shape[1]];
  return shape.length === 2 ? [shape[1], shape[0]] : shape;
}

/** Rows and columns of the tiles gantryLayout moves at a time: a tile's reads and writes stay in cache. */
const TILE = 32;

/**
 * A PyTorch tensor's values in gantry's layout (a matrix [a, b] is a 4-D weight [a, b, 1, 1]). A loop of its
 * own: tfjs's general transpose works out every element's coordinates, several times slower on the
 * hundreds of millions of weights of NVIDIA's generators. The file's [a, b, taps] is a matrix of a rows and
 * b * taps columns, column (j, k) going to gantry's row k * b + j of a values: a transpose, done a tile at a
 * time, so that neither side is read or written a value per cache line.
 */
function gantryLayout(t: TorchTensor): Float32Array {
  if (t.shape.length !== 4 && t.shape.length !== 2) return t.data;
  const [a, b, kh, kw] = t.shape.length === 4 ? t.shape : [...t.shape, 1, 1];
  const out = new Float32Array(t.data.length);
  const taps = kh * kw;
  const cols = b * taps;
  const src = t.data;
  for (let i0 = 0; i0 < a; i0 += TILE) {
    const i1 = Math.min(a, i0 + TILE);
    for (let c0 = 0; c0 < cols; c0 += TILE) {
      const c1 = Math.min(cols, c0 + TILE);
      for (let c = c0; c < c1; c++) {
        const j = Math.floor(c / taps);
        const row = ((c - j * taps) * b + j) * a;
        for (let i = i0; i < i1; i++) out[row + i] = src[i * cols + c];
      }
    }
  }
  return out;
}

/**
 * A network built from placeholder weights (withPlaceholderWeights) filled from a file by `load`
 * (loadTorchWeights calls): the network, or, where a tensor is missing or misshapen, disposed and the
 * error thrown, so a failed load holds no memory.
 */
export function builtFromFile<T extends { dispose(): void }>(build: () => T, load: (net: T) => void): T {
  const net = withPlaceholderWeights(build);
  try {
    load(net);
  } catch (err) {
    net.dispose();
    throw err;
  }
  return net;
}
