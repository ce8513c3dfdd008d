/**
 * gantry/web: a trained generator in a web page, from the folder `gantry export` writes.
 *
 *   import { loadGenerator, drawImage } from 'gantry/web';
 *   const g = await loadGenerator('./site/');           // model.json + weights.safetensors
 *   const images = await g.generate({ seeds: [12] });    // seed:12, as `gantry sample --seed 12`
 *   drawImage(document.querySelector('canvas')!, images, 0);
 *
 * The networks are gantry's own (the same code the CLI trains and samples with), on tfjs's WebGPU
 * backend where the browser has it, else WebGL, else the CPU; `g.backend` says which.
 */
import { GantryError, describeError } from '../errors.ts';
import { startWebEngine, type GpuKernels, type WebBackend } from './engine.ts';
import { buildGenerator, type WebGenerator } from './generator.ts';
import { MODEL_FILE, WEIGHTS_FILE } from './model-file.ts';
import { readBytes, type DownloadProgress } from './download.ts';
import { checkKeys } from '../options.ts';

export { startWebEngine, BACKEND_ORDER, type GpuKernels, type WebBackend, type WebEngine } from './engine.ts';
export { buildGenerator, WebGenerator, MAX_IMAGES, type GenerateOptions, type GeneratedImages, type LabelMapInput } from './generator.ts';
export { drawImage, pngBytes, tile, toImageData } from './canvas.ts';
export { slerp, parseLatentExpression, arithmeticVectors } from '../explore/latent.ts';
export { MODEL_FILE, WEIGHTS_FILE, type ExportedModel } from './model-file.ts';
export type { DownloadProgress } from './download.ts';
export { GantryError } from '../errors.ts';

/**
 * Where an exported generator is: the URL of its folder or of its model.json (relative to the page), the
 * files themselves (an <input type="file" multiple> with model.json and weights.safetensors), or their
 * contents.
 */
export type GeneratorSource = string | URL | ArrayLike<File> | { model: unknown; weights: ArrayBuffer | Uint8Array };

export interface LoadOptions {
  /** Backends to try, in order (default: webgpu, webgl, cpu). */
  backends?: WebBackend[];
  /** On WebGPU: 'tfjs' (default), tfjs's kernels op by op; 'gantry', gantry's kernels, each batch size's draw recorded and replayed (engine.ts). */
  gpuKernels?: GpuKernels;
  /** Told as the weights arrive from a URL: bytes so far and the file's size, where the server gives it (else null). */
  onProgress?: (progress: DownloadProgress) => void;
}

export async function loadGenerator(source: GeneratorSource, options: LoadOptions = {}): Promise<WebGenerator> {
  checkKeys(options, ['backends', 'gpuKernels', 'onProgress'], 'loadGenerator()');
  if (options.onProgress !== undefined && typeof options.onProgress !== 'function') throw new GantryError(`loadGenerator(): onProgress must be a function ({ loaded, total }) => ..., not ${typeof options.onProgress}`);
  await startWebEngine(options.backends, options.gpuKernels);
  if (typeof source === 'string' || source instanceof URL) {
    const modelUrl = modelUrlOf(source);
    const json = await fetchFile(modelUrl, (r) => r.json());
    const weights = await fetchFile(new URL(WEIGHTS_FILE, modelUrl), (r) => readBytes(r, options.onProgress));
    return buildGenerator(json, weights, modelUrl.href);
  }
  if ('model' in source && 'weights' in source) {
    const weights = source.weights instanceof Uint8Array ? source.weights : new Uint8Array(source.weights);
    return buildGenerator(source.model, weights);
  }
  const files = Array.from(source as ArrayLike<File>);
  const named = (name: string) => {
    const file = files.find((f) => f.name === name);
    if (!file) throw new GantryError(`choose both ${MODEL_FILE} and ${WEIGHTS_FILE} of an exported generator (${name} is missing)`);
    return file;
  };
  const modelFile = named(MODEL_FILE);
  const weightsFile = named(WEIGHTS_FILE);
  let json: unknown;
  try {
    json = JSON.parse(await modelFile.text());
  } catch (err) {
    throw new GantryError(`${MODEL_FILE} is not JSON (${describeError(err)}); choose the file gantry export wrote`);
  }
  return buildGenerator(json, new Uint8Array(await weightsFile.arrayBuffer()));
}

/** A folder's model.json, or the .json named; relative URLs against the page. */
function modelUrlOf(source: string | URL): URL {
  const base = typeof location === 'undefined' ? undefined : location.href;
  let url: URL;
  try {
    url = new URL(source, base);
  } catch {
    throw new GantryError(`"${String(source)}" is not a URL; give the folder gantry export wrote (e.g. "./site/")`);
  }
  if (url.pathname.endsWith('.json')) return url;
  if (!url.pathname.endsWith('/')) url.pathname += '/';
  return new URL(MODEL_FILE, url);
}

async function fetchFile<T>(url: URL, read: (r: Response) => Promise<T>): Promise<T> {
  let response: Response;
  try {
    response = await fetch(url);
  } catch (err) {
    throw new GantryError(`cannot fetch ${url.href} (${describeError(err)}); serve the exported folder over http(s), e.g. python3 -m http.server -d site`);
  }
  if (!response.ok) {
    // A server's own words where it gives some (the studio says why a run cannot be drawn).
    const said = (await response.text().catch(() => '')).trim();
    const detail = said && said.length < 500 && !said.startsWith('<') ? said : `${response.status} ${response.statusText}; is it the folder gantry export wrote?`;
    throw new GantryError(`${url.href}: ${detail}`);
  }
  try {
    return await read(response);
  } catch (err) {
    throw new GantryError(`${url.href} could not be read (${describeError(err)}); export the run again`);
  }
}
