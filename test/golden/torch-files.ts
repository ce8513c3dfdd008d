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
 * The most Adam can move a weight in `steps` steps, in units of lr, whatever its gradients: at step t,
 * |m_hat| / sqrt(v_hat) is at most (1 - b1) / (1 - b1^t) * sqrt((1 - b2^t) / (1 - b2)) * sqrt(sum over
 * j < t of (b1^2 / b2)^j) (Cauchy-Schwarz over the gradients so far; eps only lowers it). 1 at the first
 * step, a little more after it: 1.05 and 1.13 at steps 2 and 3 with pix2pixHD's betas (0.5, 0.999).
 */
export function adamMaxMove(steps: number, [b1, b2]: [number, number]): number {
  let total = 0;
  for (let t = 1; t <= steps; t++) {
    let history = 0;
    for (let j = 0; j < t; j++) history += (b1 * b1 / b2) ** j;
    total += ((1 - b1) / (1 - b1 ** t)) * Math.sqrt((1 - b2 ** t) / (1 - b2)) * Math.sqrt(history);
  }
  return total;
}

/**
 * Every trainable weight of the networks `got` trained within 0.5% of PyTorch's (`want`), measured against
 * what Adam moves a weight in `steps` steps: about lr a step, whatever its gradient's size, so a weight
 * within a fraction of lr of PyTorch's took the same steps. `roundingOnly` names weights ("G.model.1.bias",
 * by `prefixOf` their network) whose gradient is float32 rounding, on which Adam's step is noise in both
 * programs: those are only checked to have moved from `start` no more than Adam can (adamMaxMove, with
 * `betas`, 0.5 and 0.999 where not given); with `start`, every
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
  betas?: [number, number];
}): Promise<void> {
  const most = adamMaxMove(o.steps, o.betas ?? [0.5, 0.999]);
  for (const [net, params] of Object.entries(o.got)) {
    const lr = o.lrOf(net);
    const [mine, want, was] = await Promise.all([paramValues(params), paramValues(o.want[net]), o.start ? paramValues(o.start[net]) : null]);
    for (const name of params.trainableNames()) {
      const got = mine.get(name)!;
      if (o.roundingOnly?.has(`${o.prefixOf?.(net) ?? net}.${name}`)) {
        const moved = maxAbsDiff(got, was!.get(name)!) / lr;
        assert.ok(moved <= most * 1.001, `${o.label} ${net}/${name}: moved ${moved.toFixed(4)} lr, more than Adam's ${o.steps} steps can (${most.toFixed(4)} lr)`);
        continue;
      }
      if (was) assert.ok(maxAbsDiff(want.get(name)!, was.get(name)!) > 0.5 * lr, `${o.label} ${net}/${name} did not move in PyTorch`);
      const err = maxAbsDiff(got, want.get(name)!) / (o.steps * lr);
      assert.ok(err < 0.005, `${o.label}: ${net}/${name} after ${o.steps} steps: off by ${(err * 100).toFixed(2)}% of Adam's largest move`);
    }
  }
}
