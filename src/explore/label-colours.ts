import { areCityscapesNames, CITYSCAPES_LABELS } from '../data/cityscapes.ts';
import { GantryError } from '../errors.ts';
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

/**
 * The label ids of a label image [height * width] RGBA as a person may draw one: a grey pixel below the
 * label count is that id, any other pixel the label of its colour in `palette` (labelPalette's, one colour a
 * label). Where labels share a colour (Cityscapes' pole and polegroup), the first id, the common one, is read.
 */
export function labelIdsOfColours(image: { width: number; height: number; data: ArrayLike<number> }, palette: [number, number, number][], name: string): Int32Array {
  const byColour = new Map<number, number>();
  palette.forEach(([r, g, b], id) => {
    if (!byColour.has((r << 16) | (g << 8) | b)) byColour.set((r << 16) | (g << 8) | b, id);
  });
  const { width, data } = image;
  const ids = new Int32Array(image.width * image.height);
  for (let p = 0; p < ids.length; p++) {
    const [r, g, b] = [data[p * 4], data[p * 4 + 1], data[p * 4 + 2]];
    const id = r === g && g === b && r < palette.length ? r : byColour.get((r << 16) | (g << 8) | b);
    if (id === undefined) throw new GantryError(`${name} has colour rgb(${r}, ${g}, ${b}) at pixel ${p % width},${Math.floor(p / width)}: neither an id below ${palette.length} in grey nor a label's colour`);
    ids[p] = id;
  }
  return ids;
}
