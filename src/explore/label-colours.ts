import { CITYSCAPES_LABELS } from '../data/cityscapes.ts';
import type { LabelMaps } from './conditions.ts';

/**
 * Colours to show label ids with: Cityscapes' own colours for Cityscapes' ids, else the PASCAL VOC
 * colour map (each id's bits spread over the high bits of R, G and B), which keeps neighbouring ids apart.
 */
export function labelPalette(count: number, names: string[] = []): [number, number, number][] {
  const cityscapes = names.length > 0 && names.every((n, i) => CITYSCAPES_LABELS[i]?.[0] === n);
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
