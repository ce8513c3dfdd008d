import { Rng } from '../engine/rng.ts';
import type { ImageDataset, ImageRecords, InMemoryDataset, StoredRecords } from './dataset.ts';

/**
 * `shapes[:N]`: procedural pictures of one coloured shape on a coloured background, deterministic per
 * seed, at any size (colours random, or by shape: ShapeColours). Each has a class label (the shape), a caption ("a small red circle on a blue
 * background"), a label map (0 background, 1 + shape index inside the shape) and an instance map (the
 * background 0, the shape (1 + shape index) * 1000, Cityscapes' convention for things): the test bed for
 * class, text and label-map conditioning.
 */
export const SHAPE_NAMES = ['circle', 'square', 'triangle', 'diamond'] as const;
export const SHAPE_COLOURS: [string, [number, number, number]][] = [
  ['red', [220, 40, 40]], ['green', [40, 180, 60]], ['blue', [40, 70, 220]], ['yellow', [235, 210, 40]],
  ['white', [240, 240, 240]], ['black', [20, 20, 20]], ['purple', [150, 60, 190]], ['orange', [245, 140, 30]],
];

export interface ShapesDataset extends InMemoryDataset {
  /** One caption an image. */
  captions: string[][];
  labelMaps: Int32Array;
  instanceMaps: Int32Array;
}

function inside(kind: number, dx: number, dy: number, r: number): boolean {
  switch (kind) {
    case 0: return dx * dx + dy * dy <= r * r;
    case 1: return Math.abs(dx) <= r * 0.85 && Math.abs(dy) <= r * 0.85;
    case 2: return dy <= r * 0.8 && dy >= -r && Math.abs(dx) <= ((dy + r) / 1.8) * 1.15;
    default: return Math.abs(dx) + Math.abs(dy) <= r;
  }
}

/**
 * colours "by-shape" draws every circle red, square green, triangle blue and diamond yellow on white (the
 * same geometry as "random"): label maps then determine their pictures, as a street's classes mostly
 * determine its look, the test bed for label-map-to-image models.
 */
export type ShapeColours = 'random' | 'by-shape';

/** One picture's shape, colours and caption: all its pixels and maps are drawn from these. */
interface ShapePicture {
  kind: number;
  fg: number;
  bg: number;
  large: boolean;
  /** The radius as a fraction of the picture's side, and the centre's place in the room the radius leaves (0-1). */
  r: number;
  u: number;
  v: number;
}

function pictureAt(i: number, seed: number, colours: ShapeColours): ShapePicture {
  const rng = new Rng(seed, 'shapes', i);
  const kind = rng.int(SHAPE_NAMES.length);
  let fg = rng.int(SHAPE_COLOURS.length);
  let bg = rng.int(SHAPE_COLOURS.length - 1);
  if (bg >= fg) bg += 1; // never the shape's own colour
  if (colours === 'by-shape') [fg, bg] = [kind, 4];
  const large = rng.uniform() < 0.5;
  const r = large ? 0.3 + 0.08 * rng.uniform() : 0.15 + 0.06 * rng.uniform();
  return { kind, fg, bg, large, r, u: rng.uniform(), v: rng.uniform() };
}

/** Draws picture `p` at size x size into record `at` of the arrays (3 bytes a pixel; one id a pixel in each map). */
function drawPicture(p: ShapePicture, size: number, at: number, pixels: Uint8Array, labelMaps: Int32Array, instanceMaps: Int32Array): void {
  const r = size * p.r;
  const [cx, cy] = [r + p.u * (size - 2 * r), r + p.v * (size - 2 * r)];
  for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) {
    const on = inside(p.kind, x + 0.5 - cx, y + 0.5 - cy, r);
    const [cr, cg, cb] = SHAPE_COLOURS[on ? p.fg : p.bg][1];
    const q = at * size * size + y * size + x;
    pixels[3 * q] = cr;
    pixels[3 * q + 1] = cg;
    pixels[3 * q + 2] = cb;
    labelMaps[q] = on ? 1 + p.kind : 0;
    instanceMaps[q] = on ? (1 + p.kind) * 1000 : 0;
  }
}

function pictures(n: number, seed: number, colours: ShapeColours): ShapePicture[] {
  return Array.from({ length: n }, (_, i) => pictureAt(i, seed, colours));
}

/** The fields every shapes set has, whether its pictures are in memory or drawn as they are read. */
function describeShapes(n: number, size: number, all: ShapePicture[]) {
  return {
    name: `shapes:${n}`, n, height: size, width: size, channels: 3,
    labels: Int32Array.from(all, (p) => p.kind),
    classNames: [...SHAPE_NAMES],
    captions: all.map((p) => [`a ${p.large ? 'large' : 'small'} ${SHAPE_COLOURS[p.fg][0]} ${SHAPE_NAMES[p.kind]} on a ${SHAPE_COLOURS[p.bg][0]} background`]),
    labelNames: ['background', ...SHAPE_NAMES],
  };
}

export function generateShapes(n: number, size: number, seed = 0, colours: ShapeColours = 'random'): ShapesDataset {
  const all = pictures(n, seed, colours);
  const pixels = new Uint8Array(n * size * size * 3);
  const labelMaps = new Int32Array(n * size * size);
  const instanceMaps = new Int32Array(n * size * size);
  all.forEach((p, i) => drawPicture(p, size, i, pixels, labelMaps, instanceMaps));
  return { ...describeShapes(n, size, all), pixels, labelMaps, instanceMaps };
}

/**
 * The same set as generateShapes, its pictures drawn as they are read (a batch at a time), for sets too
 * large to hold: 10,000 at 256x256 with their maps would take 7 GB.
 */
export function drawnShapes(n: number, size: number, seed = 0, colours: ShapeColours = 'random'): ImageDataset & { stored: StoredRecords } {
  const all = pictures(n, seed, colours);
  return { ...describeShapes(n, size, all), pixels: null, stored: new DrawnPictures(all, size) };
}

class DrawnPictures implements StoredRecords {
  readonly labelMaps = true;
  readonly instanceMaps = true;
  readonly maxLabel: { value: number; at: number };

  constructor(private readonly all: ShapePicture[], private readonly size: number) {
    const at = all.reduce((best, p, i) => (p.kind > all[best].kind ? i : best), 0);
    this.maxLabel = { value: all.length ? 1 + all[at].kind : 0, at }; // an empty selection has only background
  }

  get n(): number {
    return this.all.length;
  }

  read(indices: ArrayLike<number>): ImageRecords {
    const area = this.size * this.size;
    const records = { pixels: new Uint8Array(indices.length * area * 3), labelMaps: new Int32Array(indices.length * area), instanceMaps: new Int32Array(indices.length * area) };
    for (let j = 0; j < indices.length; j++) drawPicture(this.all[indices[j]], this.size, j, records.pixels, records.labelMaps, records.instanceMaps);
    return records;
  }

  select(indices: ArrayLike<number>): StoredRecords {
    return new DrawnPictures(Array.from(indices, (i) => this.all[i]), this.size);
  }
}
