import * as tf from '@tensorflow/tfjs-core';
import { nativeAdamUpdate } from '../kernels/cpu/adam.ts';
import { hostInput } from '../engine/host-input.ts';
import { ADAM } from '../kernels/adam.ts';
import { ownKernel } from '../kernels/registry.ts';

export interface AdamOptions {
  lr: number;
  beta1: number;
  beta2: number;
  eps?: number;
  /** false: always use tfjs ops (the reference the fused native update and the WebGPU kernel are tested against). */
  native?: boolean;
}

/** What one Adam update at step t (from 1) scales by: torch.optim.Adam's bias corrections. */
export interface AdamStepScalars {
  /** lr / (1 - beta1^t): the step size on the first moment. */
  stepSize: number;
  /** sqrt(1 - beta2^t): divides the second moment's square root. */
  sqrtBc2: number;
  bc1: number;
  bc2: number;
}

/** The bias-corrected scalars of update t at learning rate lr: the one place both Adam paths (tfjs / native, WebGPU) take them from. */
export function adamStepScalars(lr: number, beta1: number, beta2: number, t: number): AdamStepScalars {
  const bc1 = 1 - beta1 ** t;
  const bc2 = 1 - beta2 ** t;
  return { stepSize: lr / bc1, sqrtBc2: Math.sqrt(bc2), bc1, bc2 };
}

/**
 * Adam exactly as torch.optim.Adam updates (eps added after the bias-corrected square root). Its
 * moments are named after the parameters they follow so a checkpoint can store and restore them.
 */
export class Adam {
  step = 0;
  /**
   * Multiplies options.lr for the next updates: the trainer's learning-rate schedule sets it before each
   * step (a function of the step, so a resumed run continues the schedule exactly).
   */
  lrFactor = 1;
  private readonly eps: number;
  private moments: { m: tf.Variable[]; v: tf.Variable[] } | null = null;

  constructor(readonly params: tf.Variable[], readonly options: AdamOptions) {
    this.eps = options.eps ?? 1e-8;
  }

  /** The first moments, one per parameter, in its order. */
  get m(): tf.Variable[] {
    return this.momentVariables().m;
  }

  /** The second moments, one per parameter, in its order. */
  get v(): tf.Variable[] {
    return this.momentVariables().v;
  }

  /**
   * The moments are made (zeros) when first asked for: by the first update, a checkpoint, a GPU step. A
   * model built only to draw images (sample, translate, an exported page) never holds them: on a GPU or in
   * a page's WebGL they would be real memory, twice the weights' (NVIDIA's Cityscapes G: 1.5 GB).
   */
  private momentVariables(): { m: tf.Variable[]; v: tf.Variable[] } {
    // tidy disposes the zeros tensors; the variables (returned) keep their own reference.
    const zeros = () => this.params.map((p) => tf.tidy(() => tf.variable(tf.zerosLike(p), false)));
    this.moments ??= { m: zeros(), v: zeros() };
    return this.moments;
  }

  /**
   * Applies one update from gradients keyed by tfjs variable name, as tf.variableGrads returns them;
   * a parameter with no gradient (unused in the loss) counts as a zero gradient. The caller disposes them.
   */
  apply(grads: tf.NamedTensorMap): void {
    const { beta1, beta2 } = this.options;
    if (this.options.native !== false) {
      const lr = this.lr;
      const { bc1, bc2 } = adamStepScalars(lr, beta1, beta2, this.step + 1);
      if (nativeAdamUpdate(this.params, grads, this.m, this.v, { lr, beta1, beta2, eps: this.eps, bc1, bc2 })) {
        this.step += 1;
        return;
      }
      if (ownKernel(ADAM)) {
        this.applyKernel(grads);
        return;
      }
    }
    // The step's scalars are host inputs: a replayed device step (src/gpu/) advances the count and
    // recomputes them each step without running this code.
    const stepSize = hostInput(undefined, () => {
      this.step += 1;
      return Float32Array.of(adamStepScalars(this.lr, beta1, beta2, this.step).stepSize);
    }, []);
    const sqrtBc2 = hostInput(undefined, () => Float32Array.of(adamStepScalars(this.lr, beta1, beta2, this.step).sqrtBc2), []);
    tf.tidy(() => {
      for (let i = 0; i < this.params.length; i++) {
        const g = grads[this.params[i].name] ?? tf.zerosLike(this.params[i]);
        const m = tf.add(tf.mul(this.m[i], beta1), tf.mul(g, 1 - beta1));
        const v = tf.add(tf.mul(this.v[i], beta2), tf.mul(tf.square(g), 1 - beta2));
        const denom = tf.add(tf.div(tf.sqrt(v), sqrtBc2), this.eps);
        this.params[i].assign(tf.sub(this.params[i], tf.mul(tf.div(m, denom), stepSize)));
        this.m[i].assign(m);
        this.v[i].assign(v);
      }
    });
    tf.dispose([stepSize, sqrtBc2]);
  }

  /** The update as one gantry kernel per parameter (WebGPU). The step's scalars are a host input, as below. */
  private applyKernel(grads: tf.NamedTensorMap): void {
    const { beta1, beta2 } = this.options;
    const scalars = hostInput(undefined, () => {
      this.step += 1;
      const s = adamStepScalars(this.lr, beta1, beta2, this.step);
      return Float32Array.of(s.stepSize, s.sqrtBc2);
    }, [2]);
    tf.tidy(() => {
      for (let i = 0; i < this.params.length; i++) {
        const g = grads[this.params[i].name] ?? tf.zerosLike(this.params[i]);
        const [p, m, v] = tf.engine().runKernel(ADAM, { p: this.params[i], g, m: this.m[i], v: this.v[i], scalars }, { beta1, beta2, eps: this.eps }) as tf.Tensor[];
        this.params[i].assign(p);
        this.m[i].assign(m);
        this.v[i].assign(v);
      }
    });
    scalars.dispose();
  }

  /** Forgets every update: moments to zero, step to 0, as a newly built Adam over the same parameters. */
  reset(): void {
    this.step = 0;
    if (!this.moments) return;
    const { m, v } = this.moments;
    tf.tidy(() => {
      for (const t of [...m, ...v]) t.assign(tf.zerosLike(t));
    });
  }

  /** The learning rate of the next update: options.lr scaled by the schedule's factor. */
  get lr(): number {
    return this.options.lr * this.lrFactor;
  }

  /** The scalars of the update this optimizer makes next (the WebGPU step writes them into its uniform). */
  nextStepScalars(): AdamStepScalars {
    return adamStepScalars(this.lr, this.options.beta1, this.options.beta2, this.step + 1);
  }

  dispose(): void {
    if (!this.moments) return;
    for (const t of [...this.moments.m, ...this.moments.v]) t.dispose();
    this.moments = null;
  }
}
