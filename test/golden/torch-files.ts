import type { TorchTensor } from '../../src/io/torch.ts';
import type { ParamSet } from '../../src/nn/params.ts';

/** One network's tensors of a golden file that holds several networks', each name prefixed with its network's ("G.", "D."). */
export function networkState(state: Map<string, TorchTensor>, prefix: string): Map<string, TorchTensor> {
  const start = `${prefix}.`;
  return new Map([...state].filter(([k]) => k.startsWith(start)).map(([k, v]) => [k.slice(start.length), v]));
}

/** A network's weights by name, read back (asynchronously: WebGPU has no synchronous read). */
export async function paramValues(params: ParamSet): Promise<Map<string, Float32Array>> {
  return new Map(await Promise.all(params.named().map(async ([name, v]) => [name, (await v.data()) as Float32Array] as const)));
}
