import { GantryError } from '../errors.ts';
import { checkKeys } from '../options.ts';
import type { DownloadProgress } from './download.ts';
import type { GpuKernels, WebBackend } from './engine.ts';

/**
 * Where an exported generator is: the URL of its folder or of its model.json (relative to the page), the
 * files themselves (an <input type="file" multiple> with model.json and weights.safetensors), or their
 * contents.
 */
export type GeneratorSource = string | URL | ArrayLike<File> | { model: unknown; weights: ArrayBuffer | Uint8Array };

/** A source's URL made absolute against the page (a worker's own location is its script's, so it is told this one). */
export function pageUrl(source: string | URL): URL {
  try {
    return new URL(source, typeof location === 'undefined' ? undefined : location.href);
  } catch {
    throw new GantryError(`"${String(source)}" is not a URL; give the folder gantry export wrote (e.g. "./site/")`);
  }
}

export interface LoadOptions {
  /** Backends to try, in order (default: webgpu, webgl, cpu). */
  backends?: WebBackend[];
  /** On WebGPU: 'tfjs' (default), tfjs's kernels op by op; 'gantry', gantry's kernels, each batch size's draw recorded and replayed (engine.ts). */
  gpuKernels?: GpuKernels;
  /** Told as the weights arrive from a URL: bytes so far and the file's size, where the server gives it (else null). */
  onProgress?: (progress: DownloadProgress) => void;
}

/** loadGenerator's and loadGeneratorInWorker's options checked, each mistake one error naming `where`. */
export function checkLoadOptions(options: LoadOptions, where: string): void {
  checkKeys(options, ['backends', 'gpuKernels', 'onProgress'], where);
  if (options.onProgress !== undefined && typeof options.onProgress !== 'function') throw new GantryError(`${where}: onProgress must be a function ({ loaded, total }) => ..., not ${typeof options.onProgress}`);
}
