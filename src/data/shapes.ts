import { Rng } from '../engine/rng.ts';
import type { InMemoryDataset } from './dataset.ts';

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

export function generateShapes(n: number, size: number, seed = 0, colours: ShapeColours = 'random'): ShapesDataset {
  const pixels = new Uint8Array(n * size * size * 3);
  const labelMaps = new Int32Array(n * size * size);
  const instanceMaps = new Int32Array(n * size * size);
  const labels = new Int32Array(n);
  const captions: string[][] = [];
  for (let i = 0; i < n; i++) {
    const rng = new Rng(seed, 'shapes', i);
    const kind = rng.int(SHAPE_NAMES.length);
    let fg = rng.int(SHAPE_COLOURS.length);
    let bg = rng.int(SHAPE_COLOURS.length - 1);
    if (bg >= fg) bg += 1; // never the shape's own colour
    if (colours === 'by-shape') [fg, bg] = [kind, 4];
    const large = rng.uniform() < 0.5;
    const r = size * (large ? 0.3 + 0.08 * rng.uniform() : 0.15 + 0.06 * rng.uniform());
    const cx = r + rng.uniform() * (size - 2 * r);
    const cy = r + rng.uniform() * (size - 2 * r);
    for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) {
      const on = inside(kind, x + 0.5 - cx, y + 0.5 - cy, r);
      const [cr, cg, cb] = SHAPE_COLOURS[on ? fg : bg][1];
      const p = (i * size * size + y * size + x) * 3;
      pixels[p] = cr;
      pixels[p + 1] = cg;
      pixels[p + 2] = cb;
      labelMaps[i * size * size + y * size + x] = on ? 1 + kind : 0;
      instanceMaps[i * size * size + y * size + x] = on ? (1 + kind) * 1000 : 0;
    }
    labels[i] = kind;
    captions.push([`a ${large ? 'large' : 'small'} ${SHAPE_COLOURS[fg][0]} ${SHAPE_NAMES[kind]} on a ${SHAPE_COLOURS[bg][0]} background`]);
  }
  return {
    name: `shapes:${n}`, n, height: size, width: size, channels: 3, pixels, labels,
    classNames: [...SHAPE_NAMES], captions, labelMaps, instanceMaps, labelNames: ['background', ...SHAPE_NAMES],
  };
}
