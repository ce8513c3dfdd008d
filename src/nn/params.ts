import * as tf from '@tensorflow/tfjs-core';

/**
 * The named tensors of one network: trainable weights and non-trainable buffers (batch-norm running
 * statistics). Names are ours ("block1.conv.weight"); tfjs variable names are left automatic so two
 * networks of the same family can live side by side.
 */
export class ParamSet {
  private readonly entries = new Map<string, { variable: tf.Variable; trainable: boolean }>();

  add(name: string, value: tf.Tensor, trainable = true): tf.Variable {
    if (this.entries.has(name)) throw new Error(`duplicate parameter name ${name}`);
    const variable = tf.variable(value, trainable);
    value.dispose();
    this.entries.set(name, { variable, trainable });
    return variable;
  }

  get(name: string): tf.Variable {
    const entry = this.entries.get(name);
    if (!entry) throw new Error(`no parameter named ${name}`);
    return entry.variable;
  }

  /** Trainable variables, in creation order (the order optimizers and checkpoints use). */
  trainable(): tf.Variable[] {
    return [...this.entries.values()].filter((e) => e.trainable).map((e) => e.variable);
  }

  trainableNames(): string[] {
    return [...this.entries].filter(([, e]) => e.trainable).map(([n]) => n);
  }

  /** Every tensor, trainable or not, by name. */
  named(): [string, tf.Variable][] {
    return [...this.entries].map(([n, e]) => [n, e.variable]);
  }

  countTrainable(): number {
    return this.trainable().reduce((sum, v) => sum + v.size, 0);
  }

  dispose(): void {
    for (const e of this.entries.values()) e.variable.dispose();
    this.entries.clear();
  }
}
