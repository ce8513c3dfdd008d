import * as tf from '@tensorflow/tfjs-core';
import { hostInput } from '../engine/host-input.ts';
import type { ParamSet } from '../nn/params.ts';

/**
 * Networks whose weights are not averaged: D only judges, and a text family's caption encoder T is fixed
 * after its pre-training (an average of it would lag behind the vectors its generator learned from).
 */
const NOT_AVERAGED = new Set(['D', 'T']);

/** Where a checkpoint keeps the averages: `ema/<network>/<name>`, beside the weights' `net/<network>/<name>`. */
export const AVERAGE_PREFIX = 'ema/';

export function averageTensorName(network: string, name: string): string {
  return `${AVERAGE_PREFIX}${network}/${name}`;
}

/** The networks of a model whose weights a run averages (every one but the judges and fixed encoders). */
export function averagedNetworks(networks: Record<string, ParamSet>): [string, ParamSet][] {
  return Object.entries(networks).filter(([net]) => !NOT_AVERAGED.has(net));
}

/**
 * The decay of update t (0 for the first): min(decay, (1 + t) / (10 + t)), as TensorFlow's
 * ExponentialMovingAverage with num_updates, so that the first averages follow the fast-moving early
 * weights instead of holding on to the initial ones.
 */
export function averageDecay(decay: number, t: number): number {
  return Math.min(decay, (1 + t) / (10 + t));
}

interface Pair {
  network: string;
  name: string;
  live: tf.Variable;
  average: tf.Variable;
}

/**
 * An exponential moving average of a model's weights (train.ema): after every step, for each tensor w of
 * the averaged networks (batch norm's running statistics too, as BigGAN's and timm's averages take the whole
 * state), a <- d a + (1 - d) w. Averaging the generator's weights over its last steps gives smoother,
 * steadier images than its last step alone (Yazıcı et al. 2019, "The Unusual Effectiveness of Averaging in
 * GAN Training"; ProGAN, StyleGAN and BigGAN draw with such an average). The run draws, scores and exports
 * with the averages; training goes on with the weights themselves.
 */
export class WeightAverage {
  private readonly pairs: Pair[] = [];
  /**
   * Updates made so far, which set the next one's decay: a resumed run's checkpoint sets it to its step,
   * so that each step's decay is the same whether the run was resumed or not.
   */
  count = 0;

  constructor(networks: Record<string, ParamSet>, readonly decay: number) {
    for (const [network, params] of averagedNetworks(networks)) {
      for (const [name, live] of params.named()) {
        this.pairs.push({ network, name, live, average: tf.tidy(() => tf.variable(live.clone(), false)) });
      }
    }
  }

  /** Every average with its checkpoint name. */
  named(): [string, tf.Variable][] {
    return this.pairs.map((p) => [averageTensorName(p.network, p.name), p.average]);
  }

  /**
   * One update, after a step's weights have moved; called inside the step, so a replayed WebGPU step
   * replays it too (its decay is a host input, recomputed each step).
   */
  update(): void {
    const oneMinusDecay = hostInput(undefined, () => Float32Array.of(1 - averageDecay(this.decay, this.count++)), []);
    tf.tidy(() => {
      // a + (1 - d)(w - a): one rounding fewer than d a + (1 - d) w, the same value.
      for (const { live, average } of this.pairs) average.assign(tf.add(average, tf.mul(tf.sub(live, average), oneMinusDecay)));
    });
    oneMinusDecay.dispose();
  }

  /**
   * Exchanges the weights and their averages, so that what draws with the networks draws with the
   * averages; a second call exchanges them back.
   */
  swap(): void {
    tf.tidy(() => {
      for (const { live, average } of this.pairs) {
        const held = live.clone();
        live.assign(average);
        average.assign(held);
      }
    });
  }

  /** Runs `draw` with the averages in the networks, the weights put back afterwards (also when it fails). */
  async withAverages<T>(draw: () => Promise<T>): Promise<T> {
    this.swap();
    try {
      return await draw();
    } finally {
      this.swap();
    }
  }

  dispose(): void {
    for (const { average } of this.pairs) average.dispose();
    this.pairs.length = 0;
  }
}
