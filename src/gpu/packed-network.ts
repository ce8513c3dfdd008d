import * as tf from '@tensorflow/tfjs-core';
import type { ParamSet } from '../nn/params.ts';
import type { Adam } from '../optim/adam.ts';
import { alignFloats, type GpuContext, type Region } from './context.ts';

/**
 * One network's tensors packed into GPU buffers for the replayed training step: trainable weights,
 * their gradients and Adam moments each in one buffer (so Adam is one dispatch), every tensor at a
 * 256-byte aligned offset so layers bind it directly; batch-norm running statistics in a state buffer,
 * each layer's [mean | var] adjacent. The tfjs variables stay the model's truth outside the step:
 * upload() copies them in, download() copies them back, both GPU to GPU.
 */
export class PackedNetwork {
  readonly params: GPUBuffer;
  readonly grads: GPUBuffer;
  readonly m: GPUBuffer;
  readonly v: GPUBuffer;
  readonly state: GPUBuffer;
  readonly size: number;
  private readonly trainable = new Map<string, Region>();
  private readonly stateRegions = new Map<string, Region>();

  /** training: false packs only weights and running statistics (inference). */
  constructor(private readonly ctx: GpuContext, private readonly set: ParamSet, label: string, training = true) {
    let offset = 0;
    const trainableNames = new Set(set.trainableNames());
    const places: [string, number, number][] = [];
    for (const [name, v] of set.named()) {
      if (!trainableNames.has(name)) continue;
      places.push([name, offset, v.size]);
      offset += alignFloats(v.size);
    }
    this.size = Math.max(offset, 1);
    this.params = ctx.buffer(this.size, `${label}.params`);
    const extra = training ? this.size : 1;
    this.grads = ctx.buffer(extra, `${label}.grads`);
    this.m = ctx.buffer(extra, `${label}.adam.m`);
    this.v = ctx.buffer(extra, `${label}.adam.v`);
    for (const [name, o, n] of places) this.trainable.set(name, { buffer: this.params, offset: o, length: n });
    // Running statistics: "<layer>.running_mean" then "<layer>.running_var", back to back.
    let stateOffset = 0;
    const statePlaces: [string, number, number][] = [];
    for (const [name, v] of set.named()) {
      const layer = name.match(/^(.*)\.running_mean$/)?.[1];
      if (layer === undefined) continue;
      statePlaces.push([layer, stateOffset, v.size]);
      stateOffset += alignFloats(2 * v.size);
    }
    this.state = ctx.buffer(Math.max(stateOffset, 1), `${label}.state`);
    for (const [layer, o, c] of statePlaces) this.stateRegions.set(layer, { buffer: this.state, offset: o, length: 2 * c });
  }

  /** A trainable tensor's region in `params` (or `grads`, `m`, `v` with `of`). */
  param(name: string, of: 'params' | 'grads' | 'm' | 'v' = 'params'): Region {
    const r = this.trainable.get(name);
    if (!r) throw new Error(`packed network has no trainable tensor ${name}`);
    return { ...r, buffer: this[of] };
  }

  /** A batch-norm layer's [running mean | running var]. */
  running(layer: string): Region {
    const r = this.stateRegions.get(layer);
    if (!r) throw new Error(`packed network has no batch norm ${layer}`);
    return r;
  }

  whole(of: 'params' | 'grads' | 'm' | 'v'): Region {
    return { buffer: this[of], offset: 0, length: this.size };
  }

  private *placements(adam: Adam | null): Generator<[tf.Variable, Region]> {
    const names = this.set.trainableNames();
    for (const [i, name] of names.entries()) {
      yield [this.set.get(name), this.param(name)];
      if (!adam) continue;
      yield [adam.m[i], this.param(name, 'm')];
      yield [adam.v[i], this.param(name, 'v')];
    }
    for (const [layer, r] of this.stateRegions) {
      const c = r.length / 2;
      yield [this.set.get(`${layer}.running_mean`), { buffer: r.buffer, offset: r.offset, length: c }];
      yield [this.set.get(`${layer}.running_var`), { buffer: r.buffer, offset: r.offset + c, length: c }];
    }
  }

  /** Copies the variables in (and Adam's moments, given the optimizer). */
  upload(adam: Adam | null): void {
    for (const [variable, region] of this.placements(adam)) this.ctx.fromTensor(variable, region);
  }

  download(adam: Adam): void {
    for (const [variable, region] of this.placements(adam)) {
      tf.tidy(() => variable.assign(this.ctx.toTensor(region, variable.shape)));
    }
  }
}
