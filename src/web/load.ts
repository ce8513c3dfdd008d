import { GantryError, describeError } from '../errors.ts';
import { startWebEngine } from './engine.ts';
import { buildGenerator, type WebGenerator } from './generator.ts';
import { MODEL_FILE, WEIGHTS_FILE } from './model-file.ts';
import { readBytes } from './download.ts';
import { checkLoadOptions, pageUrl, type GeneratorSource, type LoadOptions } from './source.ts';

export type { GeneratorSource, LoadOptions };


/**
 * A generator that draws in this thread (the page's, or a worker's: worker.ts), from an exported folder's
 * URL, its files, or their contents, on the first of `backends` that starts here.
 */
export async function loadGenerator(source: GeneratorSource, options: LoadOptions = {}): Promise<WebGenerator> {
  checkLoadOptions(options, 'loadGenerator()');
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
  const url = pageUrl(source);
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
