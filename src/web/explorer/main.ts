/**
 * The explorer page `gantry export` writes (index.html + explorer.css + this script, bundled): a
 * person explores a trained generator in the page itself, with no server beyond static files. Every
 * image is drawn here by gantry/web (the CLI's networks on tfjs's WebGPU, WebGL or CPU backend). This
 * script loads the generator and starts the page's part for it: the latent explorer, the label-map
 * painter, or for a run on pictures as inputs the picture translator; on the studio's live page, the
 * training panel too.
 */
// Not gantry/web's index: tfjs's backends and gantry's networks are the worker's (draw-worker.js), not this script's.
import type { DownloadProgress } from '../download.ts';
import type { GpuKernels } from '../engine.ts';
import type { PageGenerator } from '../page-generator.ts';
import { loadGeneratorInWorker, WORKER_SCRIPT } from '../worker-generator.ts';
import { $, showError, watchScaling } from './page.ts';
import { latentExplorer } from './latent-explorer.ts';
import { labelPainter } from './label-painter.ts';
import { pictureTranslator } from './picture-translator.ts';
import { watchForNewWeights, watchTraining } from './training-panel.ts';

async function main(): Promise<void> {
  const params = new URLSearchParams(location.search);
  // The studio's page: the training panel from the start, while a large generator still loads.
  const live = document.querySelector<HTMLMetaElement>('meta[name="gantry-live"]');
  if (live) watchTraining();
  const backends = params.get('backend')?.split(',') as ('webgpu' | 'webgl' | 'cpu')[] | undefined;
  // ?kernels=gantry: on WebGPU, gantry's kernels and replayed draws instead of tfjs's kernels op by op.
  const gpuKernels = (params.get('kernels') ?? undefined) as GpuKernels | undefined;
  // The generator loads and draws in a worker, so the page answers while it builds networks or draws.
  const g = await loadGeneratorInWorker(new Worker(WORKER_SCRIPT, { type: 'module' }), './', { backends, gpuKernels, onProgress: showDownload });
  $('loading').hidden = true;
  // The generator, for the browser's console and for tests: gantryExplorer.generator.generate({ seeds: [1] }).
  (window as unknown as { gantryExplorer: unknown }).gantryExplorer = { generator: g };
  describeGenerator(g, g.gpuKernels);
  for (const canvas of document.querySelectorAll('canvas')) watchScaling(canvas);
  if (g.takesPictures) pictureTranslator(g);
  else if (g.info.conditioning.kind === 'labelMap') labelPainter(g);
  else latentExplorer(g);
  if (live) watchForNewWeights(g.file.step);
}

/** The weights' download in the header (NVIDIA's label2city generator is 730 MB); the last count stays in data-downloaded. */
function showDownload({ loaded, total }: DownloadProgress): void {
  const bar = $<HTMLProgressElement>('loading');
  bar.hidden = false;
  if (total) bar.value = loaded / total;
  else bar.removeAttribute('value');
  const mb = (bytes: number) => (bytes / 1e6).toFixed(1);
  // All of it here: the networks are built next (seconds for a large generator).
  $('about').textContent = total && loaded >= total ? `loading the generator: ${mb(total)} MB, building its networks…` : `loading the generator: ${mb(loaded)}${total ? ` of ${mb(total)}` : ''} MB`;
  document.body.dataset.downloaded = `${loaded}/${total ?? '?'}`;
}

function describeGenerator(g: PageGenerator, gpuKernels: GpuKernels | null): void {
  const { family, height, width } = g.info;
  $('about').textContent = `${family} · ${width}x${height} · ${g.file.run} ${g.file.origin ? `(${g.file.origin})` : `at step ${g.file.step}`}`;
  $('backend').textContent = gpuKernels ? `${g.backend} (${gpuKernels}'s kernels)` : g.backend;
  document.title = `gantry · ${g.file.run}`;
  document.body.dataset.backend = g.backend;
  if (gpuKernels) document.body.dataset.gpuKernels = gpuKernels;
}


main().then(() => {
  document.body.dataset.ready = 'true';
}, (err) => {
  showError(err);
  $('loading').hidden = true;
  $('about').textContent = 'the generator did not load';
  document.body.dataset.ready = 'error';
});
