import * as tf from '@tensorflow/tfjs-core';

type KernelFunc = tf.KernelConfig['kernelFunc'];

/**
 * Registers on `backend` the table's kernel of each name, in place of whatever was registered; a name the
 * table lacks is left unregistered. How gantry's kernels and tfjs's trade places (tests' references).
 */
export function swapKernels(backend: string, names: Iterable<string>, table: ReadonlyMap<string, KernelFunc>): void {
  for (const name of names) {
    if (tf.getKernel(name, backend)) tf.unregisterKernel(name, backend);
    const kernelFunc = table.get(name);
    if (kernelFunc) tf.registerKernel({ kernelName: name, backendName: backend, kernelFunc });
  }
}

/** Whether gantry's kernel `name` serves the running backend (cpu, webgpu); where not, callers build the op from tfjs ops. */
export function ownKernel(name: string): boolean {
  return tf.getKernel(name, tf.getBackend()) !== undefined;
}
