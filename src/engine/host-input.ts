import * as tf from '@tensorflow/tfjs-core';

/** Values a step computes on the host and feeds the device (noise, labels, Adam's step scalars). */
export type HostValues = Float32Array | Int32Array;

/**
 * How a recorded step (src/gpu/step-recording.ts) learns where its host data comes from: each tensor made
 * by hostInput, with the scope its values were drawn from and the function that draws them. A replayed
 * step runs no JavaScript of the family's; it calls these functions again, in the recorded order, on the
 * new step's scopes (the same batch and step-context positions), and writes what they return.
 */
export type HostInputListener = (tensor: tf.Tensor, scope: object | undefined, produce: (scope: never) => HostValues) => void;

let listener: HostInputListener | null = null;

/** Starts (a function) or stops (null) listening; one listener at a time. */
export function listenToHostInputs(next: HostInputListener | null): void {
  if (next && listener) throw new Error('host inputs already have a listener (nested step recordings)');
  listener = next;
}

/**
 * A tensor of host values that may change every step. `produce` must draw everything from `scope` (the
 * step's batch or its StepContext; undefined for state it owns, such as an optimizer's step count) and
 * capture nothing else that changes between steps: a replayed step calls it with the next step's scope.
 * Any host state the step advances (Adam's step count) advances inside `produce`, which runs once a step.
 */
export function hostInput<S extends object | undefined>(scope: S, produce: (scope: S) => HostValues, shape: number[], dtype: 'float32' | 'int32' = 'float32'): tf.Tensor {
  const values = produce(scope);
  const tensor = tf.tensor(values, shape, dtype);
  listener?.(tensor, scope, produce as (scope: never) => HostValues);
  return tensor;
}
