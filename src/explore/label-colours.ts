import { areCityscapesNames, CITYSCAPES_LABELS } from '../data/cityscapes.ts';
import type { LabelMaps } from './conditions.ts';

/**
 * Colours to show label ids with: Cityscapes' own colours for Cityscapes' ids, else the PASCAL VOC
 * colour map (each id's bits spread over the high bits of R, G and B), which keeps neighbouring ids apart.
 */
export function labelPalette(count: number, names: string[] = []): [number, number, number][] {
  const cityscapes = areCityscapesNames(names);
  return Array.from({ length: count }, (_, id) => (cityscapes && id < CITYSCAPES_LABELS.length ? CITYSCAPES_LABELS[id][1] : vocColour(id)));
}

function vocColour(id: number): [number, number, number] {
  let [r, g, b] = [0, 0, 0];
  for (let bit = 7, c = id; c > 0 && bit >= 0; bit--, c >>= 3) {
    r |= (c & 1) << bit;
    g |= ((c >> 1) & 1) << bit;
    b |= ((c >> 2) & 1) << bit;
  }
  return [r, g, b];
}

/** The maps as 8-bit RGB images, back to back (ids beyond the palette in grey). */
export function colourLabels(maps: LabelMaps, palette: [number, number, number][]): Uint8Array {
  const out = new Uint8Array(maps.labels.length * 3);
  maps.labels.forEach((id, p) => out.set(palette[id] ?? [128, 128, 128], p * 3));
  return out;
}

/**
 * The instance boundaries of an instance map [height * width] as the painter outlines its objects: 1 where a
 * 4-neighbour has another id, as instanceEdges gives the networks (checked against it), without tfjs, so
 * that outlining never waits on a generator's queued work.
 */
export function instanceBoundaries(instances: Int32Array, width: number, height: number): Uint8Array {
  const out = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const p = y * width + x;
      if (x + 1 < width && instances[p] !== instances[p + 1]) out[p] = out[p + 1] = 1;
      if (y + 1 < height && instances[p] !== instances[p + width]) out[p] = out[p + width] = 1;
    }
  }
  return out;
}
