import { resolve } from 'node:path';
import { GantryError, didYouMean } from '../errors.ts';
import { loadCifar10 } from './cifar10.ts';
import { keepClasses, type ImageDataset, type InMemoryDataset, type LoadProgress } from './dataset.ts';
import { loadImageFolder } from './folder.ts';
import { evaluationCaptionLists, loadCaptionedImages, readCaptionLists, type CaptionOptions, type CaptionSplit } from './captions.ts';
import { loadEmbeddedMnist } from './mnist.ts';
import { loadMnistIdx } from './mnist-idx.ts';
import { reshapeDataset, type ImageFit } from './transform.ts';
import { drawnShapes, generateShapes, type ShapeColours } from './shapes.ts';
import { loadLabelPairs, type PairDirection } from './pairs.ts';
import { dataMemoryLimit } from './fitted-store.ts';

export type { ImageDataset } from './dataset.ts';

export interface DataSpec {
  kind: 'mnist' | 'mnist-idx' | 'cifar10' | 'folder' | 'captions' | 'shapes' | 'pairs';
  path: string | null;
  /** `?key=value&...` after the path, e.g. `cifar10:DIR?classes=automobile,airplane`. */
  options: Record<string, string>;
}

const KINDS = ['mnist', 'mnist-idx', 'cifar10', 'folder', 'captions', 'shapes', 'pairs'] as const;
/** The kinds whose SPEC names a folder (shapes' `:N` is a count). */
const FOLDER_KINDS: ReadonlySet<string> = new Set(['mnist-idx', 'cifar10', 'folder', 'captions', 'pairs']);
const SPEC_HELP = 'use mnist[?classes=0,1], mnist-idx:DIR[?classes=0,1], cifar10:DIR[?classes=a,b], folder:DIR[?classes=a,b], captions:DIR[?split=train|test&crop=none&classes=a,b], pairs:DIR[?split=test&direction=BtoA] or shapes[:N][?seed=K&colours=by-shape]';

/**
 * A data SPEC with its folder made absolute from `base`, the folder it was given in, so that a run or a
 * sweep that records it reads the same data from any folder. A spec without a folder, and text that is no
 * spec (left for parseDataSpec to name), are returned as they are.
 */
export function anchorDataSpec(spec: string, base: string): string {
  const q = spec.indexOf('?');
  const head = q < 0 ? spec : spec.slice(0, q);
  const colon = head.indexOf(':');
  const kind = head.slice(0, colon);
  const path = head.slice(colon + 1);
  if (colon < 0 || !path || !FOLDER_KINDS.has(kind)) return spec;
  return `${kind}:${resolve(base, path)}${q < 0 ? '' : spec.slice(q)}`;
}

/** What eval.fid.real names, anchored as anchorDataSpec does: a data SPEC's folder, else the path itself (a statistics file, a run). */
export function anchorScoredInput(text: string, base: string): string {
  const head = text.split('?')[0];
  const isSpec = !text.endsWith('.npz') && (KINDS as readonly string[]).includes(head.includes(':') ? head.slice(0, head.indexOf(':')) : head);
  return isSpec ? anchorDataSpec(text, base) : resolve(base, text);
}

/** The folder a data SPEC reads, or null for data that names none (mnist, shapes). */
export function dataFolder(spec: string): string | null {
  const s = parseDataSpec(spec);
  return FOLDER_KINDS.has(s.kind) ? s.path : null;
}

export function parseDataSpec(spec: string): DataSpec {
  // The options first: a kind without a path takes them too (shapes?seed=3).
  const q = spec.indexOf('?');
  const head = q < 0 ? spec : spec.slice(0, q);
  const colon = head.indexOf(':');
  const kind = colon < 0 ? head : head.slice(0, colon);
  const rest = colon < 0 ? '' : head.slice(colon + 1);
  if (!(KINDS as readonly string[]).includes(kind)) {
    // A bare path is the likeliest mistake after a misspelt kind.
    const hint = didYouMean(kind, KINDS) || (/[/\\]/.test(kind) ? ` (a folder of images is folder:${spec})` : '');
    throw new GantryError(`unknown data source "${spec}"${hint}; ${SPEC_HELP}`);
  }
  const options: Record<string, string> = {};
  for (const pair of q < 0 ? [] : spec.slice(q + 1).split('&').filter(Boolean)) {
    const eq = pair.indexOf('=');
    if (eq < 0) throw new GantryError(`data source "${spec}": option "${pair}" should be key=value`);
    options[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  const needsPath = FOLDER_KINDS.has(kind);
  if (kind === 'shapes' && rest && !/^\d+$/.test(rest)) throw new GantryError(`data source "${spec}": shapes takes a count, e.g. shapes:5000`);
  if (needsPath && !rest) throw new GantryError(`data source "${spec}" needs a folder: ${kind}:DIR`);
  const allowed: Record<string, string[]> = { mnist: ['classes'], 'mnist-idx': ['classes'], cifar10: ['classes'], folder: ['classes'], captions: ['split', 'crop', 'classes'], shapes: ['seed', 'colours'], pairs: ['split', 'direction'] };
  for (const key of Object.keys(options)) {
    if (!allowed[kind].includes(key)) throw new GantryError(`data source "${spec}": unknown option "${key}"${allowed[kind].length ? `; known: ${allowed[kind].join(', ')}` : ''}`);
  }
  if (options.split !== undefined && !['train', 'test'].includes(options.split)) throw new GantryError(`data source "${spec}": split is train or test, not "${options.split}"`);
  if (options.crop !== undefined && !['bbox', 'none'].includes(options.crop)) throw new GantryError(`data source "${spec}": crop is bbox or none, not "${options.crop}"`);
  if (options.direction !== undefined && !['AtoB', 'BtoA'].includes(options.direction)) throw new GantryError(`data source "${spec}": direction is AtoB or BtoA (which half of pix2pix's side-by-side pictures is the input), not "${options.direction}"`);
  if (options.colours !== undefined && !['random', 'by-shape'].includes(options.colours)) throw new GantryError(`data source "${spec}": colours is random or by-shape, not "${options.colours}"`);
  return { kind: kind as DataSpec['kind'], path: needsPath || rest ? rest : null, options };
}

export type { ImageFit } from './transform.ts';

/**
 * Opens a data SPEC and fits its images to the model's height x width (channels 0: the data's own):
 * MNIST's 28x28 digits are padded (never stretched) to 32, then resized if the model is larger; other
 * sources are resized to cover the size and centre-cropped. `onProgress` hears of each file read
 * (folders, captions, pairs).
 */
export function openDataset(spec: string, fit: ImageFit, onProgress?: LoadProgress): ImageDataset {
  const s = parseDataSpec(spec);
  let ds: InMemoryDataset;
  switch (s.kind) {
    case 'mnist':
      ds = loadEmbeddedMnist();
      break;
    case 'mnist-idx':
      ds = loadMnistIdx(s.path!);
      break;
    case 'cifar10':
      ds = loadCifar10(s.path!);
      break;
    case 'folder':
      return loadImageFolder(s.path!, { ...fit, channels: fit.channels || 3 }, onProgress, s.options.classes?.split(','));
    case 'captions':
      return loadCaptionedImages(s.path!, { ...fit, channels: fit.channels || 3 }, captionOptions(s), onProgress);
    case 'pairs':
      return loadLabelPairs(s.path!, fit, (s.options.split ?? 'train') as 'train' | 'test', onProgress, s.options.direction as PairDirection | undefined);
    case 'shapes': {
      // Drawn square at the larger side, then fitted like any other source; drawn as read where the set,
      // 11 bytes a pixel with its maps, is more than GANTRY_DATA_MEMORY_MB.
      const [n, size] = [s.path ? Number(s.path) : 10000, Math.max(fit.height, fit.width)];
      const draw = n * size * size * 11 <= dataMemoryLimit() ? generateShapes : drawnShapes;
      return reshapeDataset(draw(n, size, Number(s.options.seed ?? 0), s.options.colours as ShapeColours | undefined), { ...fit, channels: fit.channels || 3 });
    }
  }
  if (s.options.classes !== undefined) ds = keepClasses(ds, s.options.classes.split(','), s.kind);
  const channels = fit.channels || ds.channels;
  if (ds.height === 28 && Math.max(fit.height, fit.width) > 28) ds = reshapeDataset(ds, { height: 32, width: 32, channels }, 'pad');
  return reshapeDataset(ds, { ...fit, channels });
}

/**
 * Every image's captions in a data SPEC, in the order openDataset gives the images (null for data without
 * text). captions:DIR reads only its text files: no image is decoded.
 */
export function openCaptions(spec: string, fit: ImageFit): string[][] | null {
  const s = parseDataSpec(spec);
  if (s.kind === 'captions') return readCaptionLists(s.path!, captionOptions(s));
  return openDataset(spec, fit).captions ?? null;
}

function captionOptions(s: DataSpec): CaptionOptions {
  return { split: s.options.split as CaptionSplit | undefined, crop: s.options.crop as 'bbox' | 'none' | undefined, classes: s.options.classes?.split(',') };
}

/** The captions a text run's images are scored with: for captions:DIR, evaluationCaptionLists's; else its training data's. */
export function evaluationCaptions(spec: string, fit: ImageFit): string[][] | null {
  const s = parseDataSpec(spec);
  if (s.kind === 'captions') return evaluationCaptionLists(s.path!, captionOptions(s));
  return openCaptions(spec, fit);
}

/** The held-out data of a run's data SPEC (heldOutSpec), fitted like the run's, or one error saying there is none. */
export function openHeldOut(spec: string, fit: ImageFit): ImageDataset {
  const held = heldOutSpec(spec);
  if (!held) throw new GantryError(`the run's data ${spec} has no held-out label maps to draw its images from (pairs:DIR has its test split, shapes other pictures)`);
  return { ...openDataset(held, fit), name: held };
}

/**
 * The data SPEC a label-map run is evaluated on: the test split of pairs:DIR, other pictures (the next
 * seed) for shapes. Null for sources without a held-out split.
 */
export function heldOutSpec(spec: string): string | null {
  const s = parseDataSpec(spec);
  if (s.kind === 'pairs') return `pairs:${s.path}?${new URLSearchParams({ ...s.options, split: 'test' }).toString()}`;
  if (s.kind === 'shapes') {
    const options = new URLSearchParams({ ...s.options, seed: String(Number(s.options.seed ?? 0) + 1) });
    return `shapes${s.path ? `:${s.path}` : ''}?${decodeURIComponent(options.toString())}`;
  }
  return null;
}
