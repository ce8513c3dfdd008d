import { GantryError } from '../errors.ts';
import type { DataShape } from './batch.ts';

/** Per-pixel ids as a dataset keeps them. */
export type IdArray = Int32Array | Uint16Array;

/**
 * An image dataset: n images of one size, 8-bit, HWC, back to back; optional class labels. Sources convert
 * their files to this; batches convert to [-1, 1] floats only when drawn. The images (and label maps) are
 * in memory, or, for folder, caption or label-map data too large for it, in a file of fitted records read a batch at
 * a time (`stored`); `readImages` reads either.
 */
export interface ImageDataset {
  /** Where it came from, for messages ("mnist", "cifar10:/data/cifar"). */
  name: string;
  n: number;
  height: number;
  width: number;
  channels: number;
  /** The images, or null where they are `stored`. */
  pixels: Uint8Array | null;
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
  /**
   * The label maps are input pictures (pairs:DIR's train_A/, pix2pixHD's --label_nc 0): a pixel's "id" is
   * its RGB levels packed, r << 16 | g << 8 | b, as feature maps are (data/feature-maps.ts).
   */
  pictureInputs?: boolean;
  /**
   * Precomputed instance feature maps (pix2pixHD's train_feat/: 8-bit RGB images), each pixel's three levels
   * packed as one id, r << 16 | g << 8 | b, so that they are fitted, cropped and mirrored as the maps are.
   */
  featureMaps?: Int32Array | null;
  /** Names of the label ids where the source defines them (Cityscapes, shapes). */
  labelNames?: string[] | null;
  /** Label-map data read from files: each image's label map file, for messages. */
  mapFiles?: string[];
  /** Label-map data without instance maps: where they would have been (the run says so once). */
  missingInstances?: string;
  /** Images and maps kept in a file rather than in memory (then pixels and the maps are null). */
  stored?: StoredRecords;
  /** Said once by a command that opens the data (where the data streams from). */
  note?: string;
}

/** A dataset whose images are in memory (every source but large folder, caption and label-map data). */
export type InMemoryDataset = ImageDataset & { pixels: Uint8Array };

/**
 * The images of some classes only (a SPEC's `?classes=a,b`), labelled 0..k-1 in the order they are named,
 * so that a run's class ids follow the user's list.
 */
export function keepClasses(ds: InMemoryDataset, names: string[], source: string): InMemoryDataset {
  if (!ds.labels || !ds.classNames) throw new GantryError(`${source}: ?classes= needs labelled images, and ${ds.name} has none`);
  const all = ds.classNames;
  const keep = chooseClasses(all, names, source);
  const newLabel = new Int32Array(all.length).fill(-1);
  keep.forEach((k, at) => { newLabel[k] = at; });
  const size = ds.height * ds.width * ds.channels;
  const chosen: number[] = [];
  for (let i = 0; i < ds.n; i++) if (newLabel[ds.labels[i]] >= 0) chosen.push(i);
  if (chosen.length === 0) throw new GantryError(`${source}: no images of classes ${names.join(',')} in ${ds.name}`);
  const pixels = new Uint8Array(chosen.length * size);
  chosen.forEach((i, at) => pixels.set(ds.pixels.subarray(i * size, (i + 1) * size), at * size));
  return {
    ...ds,
    n: chosen.length,
    pixels,
    labels: Int32Array.from(chosen, (i) => newLabel[ds.labels![i]]),
    classNames: keep.map((k) => all[k]),
  };
}

/** The indices in `all` of the classes `names` picks (?classes=), in the order named; an unknown or repeated name is one error. */
export function chooseClasses(all: string[], names: string[], source: string): number[] {
  const keep = names.map((name) => {
    const k = all.indexOf(name.trim());
    if (k < 0) throw new GantryError(`${source}: unknown class "${name}"; the classes are ${all.join(', ')}`);
    return k;
  });
  const twice = keep.find((k, at) => keep.indexOf(k) !== at);
  if (twice !== undefined) throw new GantryError(`${source}: class "${all[twice]}" is named twice in ?classes=; name each once`);
  return keep;
}

/** Images with their label and instance maps where they have them, a few at a time, from a file (fitted-store.ts). */
export interface StoredRecords {
  readonly n: number;
  readonly labelMaps: boolean;
  readonly instanceMaps: boolean;
  readonly featureMaps?: boolean;
  /** The label maps are input pictures' packed levels (ImageDataset.pictureInputs). */
  readonly pictureInputs?: boolean;
  /** The largest label id and the record that has it. */
  readonly maxLabel: { value: number; at: number };
  /** Records at the given indices, back to back: 8-bit pixels, label and instance ids. */
  read(indices: ArrayLike<number>): ImageRecords;
  /** The records at the given indices, as records 0 .. indices.length - 1 of a new view. */
  select(indices: ArrayLike<number>): StoredRecords;
}

/** Some images of a dataset, back to back, with their maps where it has them. */
export interface ImageRecords {
  pixels: Uint8Array;
  labelMaps?: Int32Array;
  instanceMaps?: Int32Array;
  featureMaps?: Int32Array;
}

/** The images at the given indices (and their maps), in that order, from memory or from the data's file. */
export function readImages(ds: ImageDataset, indices: ArrayLike<number>): ImageRecords {
  if (ds.stored) return ds.stored.read(indices);
  const size = imageBytes(ds);
  const pixels = new Uint8Array(indices.length * size);
  for (let i = 0; i < indices.length; i++) pixels.set(ds.pixels!.subarray(indices[i] * size, (indices[i] + 1) * size), i * size);
  const area = ds.height * ds.width;
  return { pixels, labelMaps: gatherMaps(ds.labelMaps, indices, area), instanceMaps: gatherMaps(ds.instanceMaps, indices, area), featureMaps: gatherMaps(ds.featureMaps, indices, area) };
}

export function hasLabelMaps(ds: ImageDataset): boolean {
  return Boolean(ds.labelMaps || ds.stored?.labelMaps);
}

export function hasInstanceMaps(ds: ImageDataset): boolean {
  return Boolean(ds.instanceMaps || ds.stored?.instanceMaps);
}

export function hasPictureInputs(ds: ImageDataset): boolean {
  return Boolean(ds.pictureInputs || ds.stored?.pictureInputs);
}

export function hasFeatureMaps(ds: ImageDataset): boolean {
  return Boolean(ds.featureMaps || ds.stored?.featureMaps);
}

/** What a family sees of a dataset when it sizes its networks. */
export function dataShape(ds: ImageDataset): DataShape {
  return {
    height: ds.height, width: ds.width, channels: ds.channels, numClasses: ds.classNames?.length ?? 0, classNames: ds.classNames ?? [], captions: ds.captions ?? undefined,
    labelMaps: hasLabelMaps(ds) ? labelMapShape(ds) : undefined,
  };
}

/** The largest label id of a label-map dataset, where it is (a file or an image index), and what else the maps carry. */
function labelMapShape(ds: ImageDataset): NonNullable<DataShape['labelMaps']> {
  let max = ds.stored?.maxLabel;
  if (!max) {
    const maps = ds.labelMaps!;
    let at = 0;
    for (let i = 1; i < maps.length; i++) if (maps[i] > maps[at]) at = i;
    max = { value: maps[at], at: Math.floor(at / (ds.height * ds.width)) };
  }
  return {
    maxLabel: max.value,
    maxLabelAt: ds.mapFiles?.[max.at] ?? `image ${max.at} of ${ds.name}`,
    instances: hasInstanceMaps(ds),
    features: hasFeatureMaps(ds),
    ...(hasPictureInputs(ds) ? { pictures: true } : {}),
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

/** The dataset restricted to the given indices (a copy; of a stored dataset, a view of its file). */
export function subset(ds: ImageDataset, indices: ArrayLike<number>, name = ds.name): ImageDataset {
  const labels = ds.labels ? Int32Array.from(indices, (j) => ds.labels![j]) : null;
  const captions = ds.captions ? Array.from(indices, (j) => ds.captions![j]) : ds.captions;
  const mapFiles = ds.mapFiles ? Array.from(indices, (j) => ds.mapFiles![j]) : undefined;
  const kept = { ...ds, name, n: indices.length, labels, captions, mapFiles };
  if (ds.stored) return { ...kept, stored: ds.stored.select(indices) };
  const records = readImages(ds, indices);
  return { ...kept, pixels: records.pixels, labelMaps: records.labelMaps, instanceMaps: records.instanceMaps, featureMaps: records.featureMaps };
}

/** Told after each file a source reads: images read so far and in all (a progress line for large folders). */
export type LoadProgress = (done: number, total: number) => void;
