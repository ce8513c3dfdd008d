import type { DataShape } from './batch.ts';

/** Per-pixel ids as a dataset keeps them. */
export type IdArray = Int32Array | Uint16Array;

/**
 * An in-memory image dataset: n images of one size, 8-bit, HWC, back to back; optional class labels.
 * Sources convert their files to this; batches convert to [-1, 1] floats only when drawn.
 */
export interface ImageDataset {
  /** Where it came from, for messages ("mnist", "cifar10:/data/cifar"). */
  name: string;
  n: number;
  height: number;
  width: number;
  channels: number;
  pixels: Uint8Array;
  labels: Int32Array | null;
  classNames: string[] | null;
  /** Captioned data (captions:DIR, shapes): each image's captions, one or more (CUB has ten). */
  captions?: string[][] | null;
  /**
   * Label-map data (shapes, pairs): n maps of height x width label ids, back to back, aligned with the images;
   * 16-bit where they come from PNGs (whose ids fit), converted to int32 per batch (`gatherMaps`).
   */
  labelMaps?: IdArray | null;
  /** Their instance ids (Cityscapes' convention: label * 1000 + k for things, the label for stuff). */
  instanceMaps?: IdArray | null;
  /** Names of the label ids where the source defines them (Cityscapes, shapes). */
  labelNames?: string[] | null;
  /** Label-map data read from files: each image's label map file, for messages. */
  mapFiles?: string[];
  /** Label-map data without instance maps: where they would have been (the run says so once). */
  missingInstances?: string;
}

/** What a family sees of a dataset when it sizes its networks. */
export function dataShape(ds: ImageDataset): DataShape {
  return {
    height: ds.height, width: ds.width, channels: ds.channels, numClasses: ds.classNames?.length ?? 0, classNames: ds.classNames ?? [], captions: ds.captions ?? undefined,
    labelMaps: ds.labelMaps ? labelMapShape(ds) : undefined,
  };
}

/** The largest label id of a label-map dataset, where it is (a file or an image index), and what else the maps carry. */
function labelMapShape(ds: ImageDataset): NonNullable<DataShape['labelMaps']> {
  const maps = ds.labelMaps!;
  let at = 0;
  for (let i = 1; i < maps.length; i++) if (maps[i] > maps[at]) at = i;
  const image = Math.floor(at / (ds.height * ds.width));
  return {
    maxLabel: maps[at],
    maxLabelAt: ds.mapFiles?.[image] ?? `image ${image} of ${ds.name}`,
    instances: Boolean(ds.instanceMaps),
    labelNames: ds.labelNames ?? [],
    missingInstances: ds.missingInstances,
  };
}

/** The per-pixel maps (label or instance ids, `area` each) of the images at the given indices, back to back. */
export function gatherMaps(maps: IdArray | null | undefined, indices: ArrayLike<number>, area: number): Int32Array | undefined {
  if (!maps) return undefined;
  const out = new Int32Array(indices.length * area);
  for (let i = 0; i < indices.length; i++) out.set(maps.subarray(indices[i] * area, (indices[i] + 1) * area), i * area);
  return out;
}

export function imageBytes(ds: ImageDataset): number {
  return ds.height * ds.width * ds.channels;
}

/** The dataset restricted to the given indices (a copy). */
export function subset(ds: ImageDataset, indices: ArrayLike<number>, name = ds.name): ImageDataset {
  const size = imageBytes(ds);
  const pixels = new Uint8Array(indices.length * size);
  const labels = ds.labels ? new Int32Array(indices.length) : null;
  const captions = ds.captions ? Array.from(indices, (j) => ds.captions![j]) : ds.captions;
  for (let i = 0; i < indices.length; i++) {
    const j = indices[i];
    pixels.set(ds.pixels.subarray(j * size, (j + 1) * size), i * size);
    if (labels && ds.labels) labels[i] = ds.labels[j];
  }
  const area = ds.height * ds.width;
  const mapFiles = ds.mapFiles ? Array.from(indices, (j) => ds.mapFiles![j]) : undefined;
  return { ...ds, name, n: indices.length, pixels, labels, captions, labelMaps: gatherMaps(ds.labelMaps, indices, area), instanceMaps: gatherMaps(ds.instanceMaps, indices, area), mapFiles };
}
