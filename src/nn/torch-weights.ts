import * as tf from '@tensorflow/tfjs-core';
import { GantryError } from '../errors.ts';
import type { TorchTensor } from '../io/torch.ts';
import type { ParamSet } from './params.ts';

/**
 * Copies a PyTorch state dict into a network whose parameters carry PyTorch's names: convolution weights
 * ([out, in, kh, kw], transposed ones [in, out, kh, kw]) become gantry's [kh, kw, in, out] / [kh, kw,
 * out, in] (the same axis order (2, 3, 1, 0) for both), linear weights are transposed, vectors copied.
 * A missing tensor or a shape that does not fit is one error naming the file and the tensor.
 */
export function loadTorchWeights(params: ParamSet, stateDict: Map<string, TorchTensor>, what: string): void {
  for (const [name, variable] of params.named()) {
    const t = stateDict.get(name);
    if (!t) throw new GantryError(`${what} has no tensor ${name}; it is not a checkpoint of this network (or of another size)`);
    const value = tf.tidy(() => {
      const raw = tf.tensor(t.data, t.shape, 'float32');
      return t.shape.length === 4 ? tf.transpose(raw, [2, 3, 1, 0]) : t.shape.length === 2 ? tf.transpose(raw) : raw;
    });
    if (value.shape.join('x') !== variable.shape.join('x')) {
      value.dispose();
      throw new GantryError(`${what}: ${name} is ${t.shape.join('x')} in the file, which does not fit this network's ${variable.shape.join('x')}; build it with the sizes it was trained with`);
    }
    variable.assign(value);
    value.dispose();
  }
}
