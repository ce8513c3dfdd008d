import type { DataShape } from './batch.ts';

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
}

/** What a family sees of a dataset when it sizes its networks. */
export function dataShape(ds: ImageDataset): DataShape {
  return { height: ds.height, width: ds.width, channels: ds.channels, numClasses: ds.classNames?.length ?? 0, classNames: ds.classNames ?? [], captions: ds.captions ?? undefined };
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
  return { ...ds, name, n: indices.length, pixels, labels, captions };
}
