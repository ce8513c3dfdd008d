import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
// tfjs-layers registers the gradients of every op; tfjs-core alone does not in Node ESM.
import '@tensorflow/tfjs-layers';
import { GantryError, given } from '../errors.ts';
import { registerAvgPoolGradGradient, registerComparisonGradients, registerReductionGradients } from './gradients.ts';
import { ownBackwardPass } from './backward.ts';
import { startWebGpu } from './webgpu.ts';
import { disableNativeAddon } from '../kernels/cpu/native.ts';
import { useBuiltAddon } from '../kernels/cpu/native-node.ts';
import { registerCpuKernels, type NativeStatus } from '../kernels/cpu/register.ts';

export type Device = 'cpu' | 'webgpu';

export interface EngineInfo {
  backend: string;
  native: NativeStatus;
  /** The GPU adapter, on webgpu. */
  adapter?: string;
}

// Node's engine: gantry's kernels use the addon that `npm ci` built (the browser's engine is src/web/engine.ts).
useBuiltAddon();

let current: EngineInfo | null = null;

export interface EngineOptions {
  device?: Device;
  /** false keeps tfjs's pure-JS kernels (the reference in tests). */
  nativeKernels?: boolean;
  /** Called once with a line worth telling the user (e.g. the addon failed to load). */
  log?: (line: string) => void;
}

/**
 * Said when Dawn's only adapter is a software one: it emulates a GPU on the CPU, where a training step
 * takes tens of times what gantry's CPU kernels take.
 */
export const SOFTWARE_ADAPTER = `gantry: this WebGPU adapter is a software one that runs on the CPU, not a GPU; training and drawing on it are many times slower than ${given('device', 'cpu')}. Install your GPU's driver (on Linux, its Vulkan driver), or use ${given('device', 'cpu')}`;

/** Sets up tfjs once: backend, gradient patches and gantry's fast kernels. */
export async function initEngine(options: EngineOptions = {}): Promise<EngineInfo> {
  const device = options.device ?? 'cpu';
  if (device !== 'cpu' && device !== 'webgpu') throw new GantryError(`unknown device "${String(device)}" (${given('device')}); use cpu or webgpu`);
  if (current) {
    if (current.backend !== device) throw new GantryError(`the engine already runs on ${current.backend}; one process uses one device`);
    return current;
  }
  registerComparisonGradients();
  registerReductionGradients();
  registerAvgPoolGradGradient();
  ownBackwardPass();
  if (device === 'webgpu') {
    const { description, software } = await startWebGpu();
    const log = options.log ?? console.warn;
    log(`gantry: WebGPU on ${description}`);
    if (software) log(SOFTWARE_ADAPTER);
    current = { backend: 'webgpu', native: { loaded: false, reason: 'webgpu' }, adapter: description };
    return current;
  }
  if (options.nativeKernels === false) disableNativeAddon('disabled');
  const native = options.nativeKernels === false ? { loaded: false, reason: 'disabled' } : registerCpuKernels();
  if (!native.loaded && options.nativeKernels !== false) {
    (options.log ?? console.warn)(`gantry: fast CPU kernels unavailable (${native.reason}); using tfjs's slow pure-JS kernels beside gantry's JavaScript ones`);
  }
  const ok = await tf.setBackend('cpu');
  if (!ok) throw new GantryError('could not start the tfjs cpu backend');
  // The cpu backend advertises tfjs-node on first use; gantry has its own kernels.
  (tf.backend() as unknown as { firstUse: boolean }).firstUse = false;
  current = { backend: 'cpu', native };
  return current;
}

export function engineInfo(): EngineInfo | null {
  return current;
}

export { tf };
