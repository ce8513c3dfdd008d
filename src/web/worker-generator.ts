import { GantryError } from '../errors.ts';
import { checkSignal } from '../options.ts';
import type { GeneratedImages } from '../explore/grid.ts';
import type { LabelMapInput } from '../explore/conditions.ts';
import type { RawImage } from '../io/pixels.ts';
import type { DownloadProgress } from './download.ts';
import type { GpuKernels } from './engine.ts';
import type { ExportedModel } from './model-file.ts';
import { PageGenerator, type GenerateOptions, type ProjectOptions } from './page-generator.ts';
import type { ProjectedPicture } from '../explore/project.ts';
import { checkLoadOptions, pageUrl, type GeneratorSource, type LoadOptions } from './source.ts';

/** The file name of gantry/web/worker's script, bundled, in an exported folder (beside the page's explorer.js). */
export const WORKER_SCRIPT = 'draw-worker.js';

/**
 * A generator whose networks live in a Web Worker (gantry/web/worker's script), so that loading and
 * drawing never hold up the page: on tfjs's CPU backend a large generator's draw takes seconds, and
 * building its networks or WebGL's first compile does on any backend. The page keeps what the model file
 * says and answers it at once; generate(), styleLatent() and project() are messages, answered with the pixels moved
 * (not copied) back. One worker holds one generator; dispose() ends the worker.
 */
export class WorkerGenerator extends PageGenerator {
  #replayedDraws: number;
  #projections = 0;

  /** On WebGPU, whose kernels draw ('gantry' or 'tfjs'); null on the other backends. */
  readonly gpuKernels: GpuKernels | null;
  readonly infersStyle: boolean;
  readonly projects: boolean;

  constructor(private readonly channel: WorkerChannel, loaded: Loaded) {
    super(loaded.file, loaded.backend, loaded.examples);
    this.gpuKernels = loaded.gpuKernels;
    this.infersStyle = loaded.infersStyle;
    this.projects = loaded.projects;
    this.#replayedDraws = loaded.replayedDraws;
  }

  get replayedDraws(): number {
    return this.#replayedDraws;
  }

  async generate(options: GenerateOptions = {}): Promise<GeneratedImages> {
    const drawn = (await this.channel.ask({ type: 'generate', options })) as { images: GeneratedImages; replayedDraws: number };
    this.#replayedDraws = drawn.replayedDraws;
    return drawn.images;
  }

  async styleLatent(image: RawImage): Promise<Float32Array> {
    return (await this.channel.ask({ type: 'styleLatent', image })) as Float32Array;
  }

  async project(image: RawImage, options: ProjectOptions = {}): Promise<ProjectedPicture> {
    const { onProgress, signal, ...rest } = options;
    checkSignal(signal, 'project()');
    // A signal cannot go in a message: its abort is one, naming the projection by a number of this page's.
    const stop = this.#projections++;
    const abort = () => void this.channel.ask({ type: 'stopProject', stop }).catch(() => {});
    signal?.addEventListener('abort', abort, { once: true });
    try {
      // The worker's progress comes as a download's does: so much done of a total.
      return (await this.channel.ask({ type: 'project', image, options: rest, stop, stopped: Boolean(signal?.aborted), progress: Boolean(onProgress) }, onProgress && ((p) => onProgress(p.loaded, p.total ?? 0)))) as ProjectedPicture;
    } finally {
      signal?.removeEventListener('abort', abort);
    }
  }

  dispose(): void {
    this.channel.close('the generator was disposed');
  }
}

/** What the worker says of the generator it loaded. */
export interface Loaded {
  file: ExportedModel;
  backend: string;
  gpuKernels: GpuKernels | null;
  examples: LabelMapInput[];
  infersStyle: boolean;
  projects: boolean;
  replayedDraws: number;
}

/** A generator's source as a message carries it (Files are cloned as references to their bytes). */
type SendableSource = string | File[] | { model: unknown; weights: Uint8Array };

/** The page's requests: each gets one reply with its id (and the load, progress messages before it). */
export type WorkerRequest =
  | { type: 'load'; source: SendableSource; backends?: LoadOptions['backends']; gpuKernels?: GpuKernels; progress: boolean }
  | { type: 'generate'; options: GenerateOptions }
  | { type: 'styleLatent'; image: RawImage }
  | { type: 'project'; image: RawImage; options: Omit<ProjectOptions, 'onProgress' | 'signal'>; stop: number; stopped: boolean; progress: boolean }
  | { type: 'stopProject'; stop: number };

export type WorkerReply =
  | { id: number; result: unknown }
  | { id: number; error: { message: string; gantry: boolean } }
  | { id: number; progress: DownloadProgress };

/**
 * The page's end of the conversation: requests numbered, each answered by its reply. A worker that fails
 * (its script did not load, or it threw outside a request) fails every request waiting, and later ones.
 */
class WorkerChannel {
  #next = 0;
  #waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void; progress?: (p: DownloadProgress) => void }>();
  #ended: Error | null = null;

  constructor(private readonly worker: Worker) {
    worker.addEventListener('message', (e: MessageEvent<WorkerReply>) => this.#reply(e.data));
    worker.addEventListener('error', (e: ErrorEvent) => {
      e.preventDefault();
      // A script that did not load says nothing more than that it failed.
      this.close(e.message ? `gantry's drawing worker failed (${e.message})` : "gantry's drawing worker did not start: its script did not load or run (is gantry/web/worker's script where the Worker was told it is?)");
    });
    worker.addEventListener('messageerror', () => this.close("a reply from gantry's drawing worker could not be read"));
  }

  ask(request: WorkerRequest, progress?: (p: DownloadProgress) => void): Promise<unknown> {
    if (this.#ended) return Promise.reject(this.#ended);
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      try {
        this.worker.postMessage({ id, ...request });
      } catch (err) {
        // A function, a class instance with private state, ...: not something a message can carry.
        reject(new GantryError(`${request.type}(): its arguments cannot be sent to the drawing worker (${(err as Error).message}); give numbers, strings, arrays and plain objects`));
        return;
      }
      this.#waiting.set(id, { resolve, reject, progress });
    });
  }

  close(why: string): void {
    if (this.#ended) return;
    this.#ended = new GantryError(why);
    this.worker.terminate();
    for (const w of this.#waiting.values()) w.reject(this.#ended);
    this.#waiting.clear();
  }

  #reply(reply: WorkerReply): void {
    const waiting = this.#waiting.get(reply.id);
    if (!waiting) return;
    if ('progress' in reply) {
      waiting.progress?.(reply.progress);
      return;
    }
    this.#waiting.delete(reply.id);
    if ('error' in reply) waiting.reject(reply.error.gantry ? new GantryError(reply.error.message) : new Error(reply.error.message));
    else waiting.resolve(reply.result);
  }
}

/**
 * loadGenerator's work done in `worker`, a module Worker running gantry/web/worker's script: the
 * draw-worker.js that `gantry export` writes beside the page (the package's `gantry/web/worker` entry is
 * the same script unbundled, for a bundler that builds workers). The backends are the worker's: WebGPU
 * and WebGL (on an OffscreenCanvas) work there as in the page.
 *
 *   const g = await loadGeneratorInWorker(new Worker('draw-worker.js'), './site/');
 */
export async function loadGeneratorInWorker(worker: Worker, source: GeneratorSource, options: LoadOptions = {}): Promise<WorkerGenerator> {
  checkLoadOptions(options, 'loadGeneratorInWorker()');
  const channel = new WorkerChannel(worker);
  try {
    const loaded = (await channel.ask({
      type: 'load', source: sendable(source), backends: options.backends, gpuKernels: options.gpuKernels, progress: Boolean(options.onProgress),
    }, options.onProgress)) as Loaded;
    return new WorkerGenerator(channel, loaded);
  } catch (err) {
    channel.close('the generator did not load');
    throw err;
  }
}

/** A source as the worker can take it: a URL made absolute against the page (the worker's own location is its script's). */
function sendable(source: GeneratorSource): SendableSource {
  if (typeof source === 'string' || source instanceof URL) return pageUrl(source).href;
  if ('model' in source && 'weights' in source) {
    return { model: source.model, weights: source.weights instanceof Uint8Array ? source.weights : new Uint8Array(source.weights) };
  }
  return Array.from(source as ArrayLike<File>);
}
