/**
 * gantry/web/worker: the script of the Web Worker that loadGeneratorInWorker talks to. It loads one
 * generator (as loadGenerator does in a page) and draws for the page's requests, each answered once by
 * id; the pixels of a draw are moved to the page, not copied.
 */
// Every op's gradient, for project() (tfjs-core registers none itself); this script runs only in browsers.
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { describeError, GantryError } from '../errors.ts';
import { startWebEngine } from './engine.ts';
import { throttledProgress } from './download.ts';
import type { WebGenerator } from './generator.ts';
import { loadGenerator } from './load.ts';
import type { Loaded, WorkerReply, WorkerRequest } from './worker-generator.ts';

interface WorkerScope {
  addEventListener(type: 'message', listener: (e: MessageEvent<WorkerRequest & { id: number }>) => void): void;
  postMessage(message: WorkerReply, transfer?: Transferable[]): void;
}
const scope = globalThis as unknown as WorkerScope;

/** How often the page hears of the download: a 730 MB file arrives in some 10,000 pieces, each a message otherwise. */
const PROGRESS_EVERY_MS = 50;

let generator: Promise<WebGenerator> | null = null;
/** The projections under way, by the page's number for each: a stop request aborts one. */
const projections = new Map<number, AbortController>();

scope.addEventListener('message', (e) => {
  const { id } = e.data;
  answer(e.data).then(
    ({ result, transfer }) => scope.postMessage({ id, result }, transfer),
    (err) => scope.postMessage({ id, error: { message: describeError(err), gantry: err instanceof GantryError } }),
  );
});

async function answer(request: WorkerRequest & { id: number }): Promise<{ result: unknown; transfer?: Transferable[] }> {
  if (request.type === 'load') {
    if (generator) throw new GantryError('this worker holds a generator already; make a Worker for each generator');
    const { source, backends, gpuKernels } = request;
    const progress = request.progress ? throttledProgress((p) => scope.postMessage({ id: request.id, progress: p }), PROGRESS_EVERY_MS) : undefined;
    generator = loadGenerator(source, { backends, gpuKernels, onProgress: progress?.tell });
    // The download's last count, if the throttle held it back, before the reply that the generator is loaded.
    generator.then(() => progress?.flush(), () => {
      generator = null;
    });
    const g = await generator;
    const loaded: Loaded = {
      file: g.file, backend: g.backend, gpuKernels: (await startWebEngine()).gpuKernels, examples: g.examples,
      infersStyle: g.infersStyle, projects: g.projects, replayedDraws: g.replayedDraws,
    };
    return { result: loaded };
  }
  if (request.type === 'stopProject') {
    // Heard between steps: projection yields every few steps. One that has ended has nothing to stop.
    projections.get(request.stop)?.abort();
    return { result: null };
  }
  if (!generator) throw new GantryError('no generator is loaded in this worker yet; call loadGeneratorInWorker first');
  const g = await generator;
  if (request.type === 'generate') {
    const images = await g.generate(request.options);
    return { result: { images, replayedDraws: g.replayedDraws }, transfer: [images.pixels.buffer] };
  }
  if (request.type === 'styleLatent') {
    // Copied, not moved: on the CPU backend the array may be tfjs's own storage.
    return { result: await g.styleLatent(request.image) };
  }
  if (request.type === 'project') {
    const onProgress = request.progress ? (done: number, total: number) => scope.postMessage({ id: request.id, progress: { loaded: done, total } }) : undefined;
    const stop = new AbortController();
    if (request.stopped) stop.abort();
    projections.set(request.stop, stop);
    try {
      return { result: await g.project(request.image, { ...request.options, onProgress, signal: stop.signal }) };
    } finally {
      projections.delete(request.stop);
    }
  }
  throw new GantryError(`unknown request ${JSON.stringify((request as { type: unknown }).type)} to gantry's drawing worker`);
}
