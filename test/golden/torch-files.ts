import assert from 'node:assert/strict';
import { maxAbsDiff, tf } from '../helpers.ts';
import type { TorchTensor } from '../../src/io/torch.ts';
import type { ParamSet } from '../../src/nn/params.ts';

/** One network's tensors of a golden file that holds several networks', each name prefixed with its network's ("G.", "D."). */
export function networkState(state: Map<string, TorchTensor>, prefix: string): Map<string, TorchTensor> {
  const start = `${prefix}.`;
  return new Map([...state].filter(([k]) => k.startsWith(start)).map(([k, v]) => [k.slice(start.length), v]));
}

/** A golden step's photos, stored as 8-bit levels (NHWC, base64; golden_photos.py), as the networks read them: level / 127.5 - 1. */
export function goldenPhotos(levels: string, shape: [number, number, number, number]): tf.Tensor4D {
  return tf.tidy(() => tf.sub(tf.div(tf.tensor4d(Float32Array.from(Buffer.from(levels, 'base64')), shape), 127.5), 1) as tf.Tensor4D);
}

/** A network's weights by name, read back (asynchronously: WebGPU has no synchronous read). */
export async function paramValues(params: ParamSet): Promise<Map<string, Float32Array>> {
  return new Map(await Promise.all(params.named().map(async ([name, v]) => [name, (await v.data()) as Float32Array] as const)));
}

/**
 * Every trainable weight of the networks `got` trained within 0.5% of PyTorch's (`want`), measured against
 * what Adam moves a weight in `steps` steps: about lr a step, whatever its gradient's size, so a weight
 * within a fraction of lr of PyTorch's took the same steps. `roundingOnly` names weights ("G.model.1.bias",
 * by `prefixOf` their network) whose gradient is float32 rounding, on which Adam's step is noise in both
 * programs: those are only checked to have moved from `start` no more than Adam can; with `start`, every
 * other weight must have moved in PyTorch, so the comparison means something.
 */
export async function assertAdamStepsMatch(o: {
  label: string;
  got: Record<string, ParamSet>;
  want: Record<string, ParamSet>;
  steps: number;
  lrOf: (net: string) => number;
  start?: Record<string, ParamSet>;
  roundingOnly?: Set<string>;
  prefixOf?: (net: string) => string;
}): Promise<void> {
  for (const [net, params] of Object.entries(o.got)) {
    const lr = o.lrOf(net);
    const [mine, want, was] = await Promise.all([paramValues(params), paramValues(o.want[net]), o.start ? paramValues(o.start[net]) : null]);
    for (const name of params.trainableNames()) {
      const got = mine.get(name)!;
      if (o.roundingOnly?.has(`${o.prefixOf?.(net) ?? net}.${name}`)) {
        assert.ok(maxAbsDiff(got, was!.get(name)!) <= o.steps * lr * 1.01, `${o.label} ${net}/${name}: moved more than Adam's steps can`);
        continue;
      }
      if (was) assert.ok(maxAbsDiff(want.get(name)!, was.get(name)!) > 0.5 * lr, `${o.label} ${net}/${name} did not move in PyTorch`);
      const err = maxAbsDiff(got, want.get(name)!) / (o.steps * lr);
      assert.ok(err < 0.005, `${o.label}: ${net}/${name} after ${o.steps} steps: off by ${(err * 100).toFixed(2)}% of Adam's largest move`);
    }
  }
}
