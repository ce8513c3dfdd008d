import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-webgl';
// Registers itself only where the browser has navigator.gpu.
import '@tensorflow/tfjs-backend-webgpu';
import { GantryError } from '../errors.ts';
import { registerCpuKernels } from '../kernels/cpu/register.ts';

/**
 * The browser's engine: tfjs on the best backend the page has, WebGPU, else WebGL, else the CPU (with
 * gantry's JavaScript kernels; the native addon is Node's). Node's engine is src/engine/index.ts.
 */
export type WebBackend = 'webgpu' | 'webgl' | 'cpu';

export const BACKEND_ORDER: readonly WebBackend[] = ['webgpu', 'webgl', 'cpu'];

export interface WebEngine {
  backend: WebBackend;
  /** The backends tried before it, each with why it was passed over. */
  skipped: { backend: WebBackend; why: string }[];
}

let started: Promise<WebEngine> | null = null;

/** Starts tfjs once on the first of `order` that works here; a later call gets the same engine. */
export function startWebEngine(order: readonly WebBackend[] = BACKEND_ORDER): Promise<WebEngine> {
  started ??= start(order).catch((err) => {
    started = null;
    throw err;
  });
  return started;
}

async function start(order: readonly WebBackend[]): Promise<WebEngine> {
  const unknown = order.filter((b) => !BACKEND_ORDER.includes(b));
  if (unknown.length || order.length === 0) throw new GantryError(`unknown backend ${unknown.join(', ') || '(none)'}; choose from ${BACKEND_ORDER.join(', ')}`);
  const skipped: WebEngine['skipped'] = [];
  for (const backend of order) {
    const why = await unavailable(backend);
    if (why) {
      skipped.push({ backend, why });
      continue;
    }
    if (backend === 'cpu') registerCpuKernels();
    try {
      if (await tf.setBackend(backend)) {
        await tf.ready();
        return { backend, skipped };
      }
      skipped.push({ backend, why: 'tfjs could not start it' });
    } catch (err) {
      skipped.push({ backend, why: (err as Error).message });
    }
  }
  throw new GantryError(`no tfjs backend started here (${skipped.map((s) => `${s.backend}: ${s.why}`).join('; ')})`);
}

/** Why a backend cannot start here (null: try it). WebGPU is asked for an adapter first, as tfjs would. */
async function unavailable(backend: WebBackend): Promise<string | null> {
  if (!tf.findBackendFactory(backend)) return backend === 'webgpu' ? 'this browser has no WebGPU (navigator.gpu)' : 'not registered';
  if (backend === 'webgpu') {
    const gpu = (globalThis.navigator as Navigator | undefined)?.gpu;
    const adapter = await gpu?.requestAdapter().catch(() => null);
    if (!adapter) return 'no WebGPU adapter here';
  }
  return null;
}
