import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-webgl';
// Registers itself only where the browser has navigator.gpu.
import '@tensorflow/tfjs-backend-webgpu';
import { GantryError } from '../errors.ts';
import { registerCpuKernels } from '../kernels/cpu/register.ts';
import { guardTfjsWebGpu } from '../gpu/device-guard.ts';
import { gpuKernelsInUse, registerGpuKernels } from '../gpu/tfjs-kernels.ts';
import { replayDrawsInPage } from '../models/step-runner.ts';
import { guardWebGlConvolutions } from './webgl-conv.ts';

/**
 * Whether tfjs's gradients are registered, which a projection needs (PageGenerator.project): tfjs-core
 * registers none itself. Node's engine has them from tfjs-layers, gantry's drawing worker imports them;
 * a page drawing in its own thread imports them itself, else one line says how.
 */
export function checkGradients(): void {
  if (tf.getGradient('Conv2D')) return;
  throw new GantryError("project() needs tfjs's gradients, which this page has not loaded: import '@tensorflow/tfjs-core/dist/register_all_gradients' in it (gantry's drawing worker, loadGeneratorInWorker's, has them)");
}

/**
 * The browser's engine: tfjs on the best backend the page has, WebGPU, else WebGL, else the CPU (with
 * gantry's JavaScript kernels; the native addon is Node's). Node's engine is src/engine/index.ts.
 */
export type WebBackend = 'webgpu' | 'webgl' | 'cpu';

export const BACKEND_ORDER: readonly WebBackend[] = ['webgpu', 'webgl', 'cpu'];

/**
 * How a page draws on WebGPU. 'tfjs' (default): tfjs's kernels op by op (a DCGAN on gantry's own
 * hand-built generator, as in Node). 'gantry': gantry's WGSL convolutions, matrix products and
 * normalisations (src/gpu/), each batch size's draw recorded once and replayed as a fixed list of
 * dispatches, as Node does on the GPU. On a software adapter (SwiftShader) 'gantry' draws heavy networks
 * faster (pix2pixHD's painter) and light ones slower, and compiles longer before its first images (docs/performance.md,
 * "In the browser"); on a GPU, still to measure.
 */
export type GpuKernels = 'gantry' | 'tfjs';

export interface WebEngine {
  backend: WebBackend;
  /** The backends tried before it, each with why it was passed over. */
  skipped: { backend: WebBackend; why: string }[];
  /** On WebGPU, whose kernels draw; null on the others. */
  gpuKernels: GpuKernels | null;
}

let started: Promise<WebEngine> | null = null;

/** Starts tfjs once on the first of `order` that works here; a later call gets the same engine, whatever it asks. */
export function startWebEngine(order: readonly WebBackend[] = BACKEND_ORDER, gpuKernels: GpuKernels = 'tfjs'): Promise<WebEngine> {
  if (gpuKernels !== 'gantry' && gpuKernels !== 'tfjs') return Promise.reject(new GantryError(`unknown GPU kernels "${String(gpuKernels)}"; choose gantry or tfjs`));
  started ??= start(order, gpuKernels).catch((err) => {
    started = null;
    throw err;
  });
  return started;
}

async function start(order: readonly WebBackend[], gpuKernels: GpuKernels): Promise<WebEngine> {
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
        if (backend === 'webgl') guardWebGlConvolutions();
        if (backend !== 'webgpu') return { backend, skipped, gpuKernels: null };
        guardTfjsWebGpu("draw fewer or smaller images, or another backend (the explorer's ?backend=webgl, loadGenerator's backends option)");
        if (gpuKernels === 'gantry') {
          // A recorded draw must see every computation as a dispatch, not as host arithmetic on small tensors.
          tf.env().set('WEBGPU_CPU_FORWARD', false);
          registerGpuKernels();
          replayDrawsInPage(true);
        }
        return { backend, skipped, gpuKernels: gpuKernelsInUse() === 'gantry' ? 'gantry' : 'tfjs' };
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
