/**
 * gantry/web: a trained generator in a web page, from the folder `gantry export` writes.
 *
 *   import { loadGenerator, drawImage } from 'gantry/web';
 *   const g = await loadGenerator('./site/');           // model.json + weights.safetensors
 *   const images = await g.generate({ seeds: [12] });    // seed:12, as `gantry sample --seed 12`
 *   drawImage(document.querySelector('canvas')!, images, 0);
 *
 * The networks are gantry's own (the same code the CLI trains and samples with), on tfjs's WebGPU
 * backend where the browser has it, else WebGL, else the CPU; `g.backend` says which. They draw in the
 * page's own thread, or, with `loadGeneratorInWorker`, in a Web Worker, so that the page never waits on them.
 */
export { loadGenerator, type GeneratorSource, type LoadOptions } from './load.ts';
export { loadGeneratorInWorker, WorkerGenerator } from './worker-generator.ts';
export { PageGenerator, type ProjectOptions as PageProjectOptions, type ProjectedPicture } from './page-generator.ts';
export { startWebEngine, BACKEND_ORDER, type GpuKernels, type WebBackend, type WebEngine } from './engine.ts';
export { buildGenerator, WebGenerator, MAX_IMAGES, type GenerateOptions, type GeneratedImages, type LabelMapInput } from './generator.ts';
export { drawImage, pngBytes, tile, toImageData } from './canvas.ts';
export { idMapPng, readIdMapPng } from './id-map-png.ts';
export { slerp, parseLatentExpression, arithmeticVectors } from '../explore/latent.ts';
export { MODEL_FILE, WEIGHTS_FILE, type ExportedModel } from './model-file.ts';
export type { DownloadProgress } from './download.ts';
export { GantryError } from '../errors.ts';
