import * as tf from '@tensorflow/tfjs-core';
import { GantryError } from '../errors.ts';
import type { NamedArray } from '../io/safetensors.ts';
import type { FamilyInstance } from './family.ts';

/**
 * A model's network tensors by name, `net/<network>/<tensor>`: how checkpoints and exported generators
 * (`gantry export`) store them, so one reads the other's names.
 */
export function networkTensorName(network: string, tensor: string): string {
  return `net/${network}/${tensor}`;
}

/** The values of the named networks' tensors (all of a model's networks when `networks` is absent). */
export async function networkArrays(model: FamilyInstance, networks = Object.keys(model.networks)): Promise<Record<string, NamedArray>> {
  model.syncVariables?.();
  const entries = networks.flatMap((net) => {
    const params = model.networks[net];
    if (!params) throw new Error(`networkArrays: the model has no network ${net}`);
    return params.named().map(([name, v]) => [networkTensorName(net, name), v] as const);
  });
  const values = await Promise.all(entries.map(([, v]) => v.data()));
  return Object.fromEntries(entries.map(([name, v], i) => [name, { shape: v.shape, data: values[i] as Float32Array }]));
}

/**
 * Sets the named networks' variables from stored tensors. `what` names the store in errors and `fix` says
 * what to do about a missing or misshapen tensor (both mean the store was written for another config).
 */
export function assignNetworks(model: FamilyInstance, networks: string[], tensors: Record<string, NamedArray>, what: string, fix: string): void {
  for (const net of networks) {
    const params = model.networks[net];
    if (!params) throw new GantryError(`${what} has network ${net}, which this model does not; ${fix}`);
    for (const [name, v] of params.named()) assignTensor(v, tensors, networkTensorName(net, name), what, fix);
  }
}

/** Sets one variable from the stored tensor of that name, checking that it is there with the variable's shape. */
export function assignTensor(v: tf.Variable, tensors: Record<string, NamedArray>, name: string, what: string, fix: string): void {
  const t = tensors[name];
  if (!t) throw new GantryError(`${what} lacks tensor ${name}; ${fix}`);
  if (t.shape.join('x') !== v.shape.join('x')) throw new GantryError(`${what}: tensor ${name} is ${t.shape.join('x')} but the model expects ${v.shape.join('x')}; ${fix}`);
  tf.tidy(() => v.assign(tf.tensor(t.data, t.shape)));
}
