import { convertChannels, nearestCoverCrop, resizeAndCenterCrop, type RawImage } from '../io/pixels.ts';
import type { IdArray, ImageDataset, ImageRecords, InMemoryDataset, StoredRecords } from './dataset.ts';
import { packFeatureLevels } from './feature-maps.ts';

/** The size and channel count a model wants its images at (channels 0: the data's own). */
export interface ImageFit {
  height: number;
  width: number;
  channels: number;
  /** pairs:DIR: read pix2pixHD's precomputed feature maps (train_feat/) too, where the data has them. */
  readFeatureMaps?: boolean;
}

/** Puts one decoded image into a dataset's shape: channel count first, then height x width (cover, centre crop). */
export function fitImage(img: RawImage, fit: ImageFit): RawImage {
  return resizeAndCenterCrop(convertChannels(img, fit.channels), fit.width, fit.height);
}

/**
 * An input picture (pix2pixHD's pictures as inputs) fitted as an image is (fitImage, RGB) and kept as a map:
 * each pixel's levels packed into one id (feature-maps.ts).
 */
export function packedPicture(img: RawImage, size: { height: number; width: number }): Int32Array {
  return packFeatureLevels(fitImage(img, { ...size, channels: 3 }));
}

/**
 * Images fitted (fitImage) and scaled to [-1, 1] as the networks read them, level / 127.5 - 1, back to back
 * (NHWC); an image given more than once (one photo for every map) is fitted once.
 */
export function fittedPixels(images: RawImage[], fit: ImageFit): Float32Array {
  const per = fit.height * fit.width * fit.channels;
  const out = new Float32Array(images.length * per);
  const first = new Map<RawImage, number>();
  images.forEach((img, i) => {
    const seen = first.get(img);
    if (seen !== undefined) {
      out.copyWithin(i * per, seen * per, (seen + 1) * per);
      return;
    }
    first.set(img, i);
    const { data } = fitImage(img, fit);
    for (let k = 0; k < per; k++) out[i * per + k] = data[k] / 127.5 - 1;
  });
  return out;
}

/**
 * Reshapes a whole dataset (e.g. MNIST 28x28 grey to 32x32 RGB). 'pad' centres small images on a black
 * square of the fit's height first (never stretched), then fits them like 'resize'.
 */
export function reshapeDataset(ds: InMemoryDataset, fit: ImageFit, mode?: 'pad' | 'resize'): InMemoryDataset;
export function reshapeDataset(ds: ImageDataset, fit: ImageFit, mode?: 'pad' | 'resize'): ImageDataset;
export function reshapeDataset(ds: ImageDataset, fit: ImageFit, mode: 'pad' | 'resize' = 'resize'): ImageDataset {
  const { height, width, channels } = fit;
  if (ds.height === height && ds.width === width && ds.channels === channels) return ds;
  if (ds.stored) {
    if (mode === 'pad') throw new Error('reshapeDataset: padding stored images');
    return { ...ds, height, width, channels, stored: new RefittedRecords(ds.stored, ds, fit) };
  }
  const per = height * width * channels;
  const pixels = new Uint8Array(ds.n * per);
  const src = ds.height * ds.width * ds.channels;
  for (let i = 0; i < ds.n; i++) {
    let img: RawImage = { width: ds.width, height: ds.height, channels: ds.channels, data: ds.pixels!.subarray(i * src, (i + 1) * src) };
    img = convertChannels(img, channels);
    if (mode === 'pad' && height >= ds.width && height >= ds.height) img = padImage(img, height);
    pixels.set(fitImage(img, fit).data, i * per);
  }
  // Label and instance maps follow their images' geometry, nearest-neighbour (MNIST, the one padded source, has none).
  const maps = (m: IdArray | null | undefined) => {
    if (!m) return m;
    const [area, out] = [ds.height * ds.width, new (m instanceof Uint16Array ? Uint16Array : Int32Array)(ds.n * height * width)];
    for (let i = 0; i < ds.n; i++) out.set(nearestCoverCrop(m.subarray(i * area, (i + 1) * area), ds.width, ds.height, width, height), i * height * width);
    return out;
  };
  return { ...ds, height, width, channels, pixels, labelMaps: maps(ds.labelMaps), instanceMaps: maps(ds.instanceMaps), featureMaps: maps(ds.featureMaps) as Int32Array | null | undefined };
}

/** Centres an image on a black square canvas of the given size. */
export function padImage(img: RawImage, size: number): RawImage {
  const c = img.channels;
  const out = new Uint8Array(size * size * c);
  const x0 = Math.floor((size - img.width) / 2);
  const y0 = Math.floor((size - img.height) / 2);
  for (let y = 0; y < img.height; y++) {
    out.set(img.data.subarray(y * img.width * c, (y + 1) * img.width * c), ((y + y0) * size + x0) * c);
  }
  return { width: size, height: size, channels: c, data: out };
}

/** Stored records fitted to another size as they are read (images like fitImage, maps nearest-neighbour). */
class RefittedRecords implements StoredRecords {
  readonly n: number;
  readonly labelMaps: boolean;
  readonly instanceMaps: boolean;
  readonly featureMaps?: boolean;
  readonly pictureInputs?: boolean;
  readonly maxLabel: { value: number; at: number };

  constructor(private readonly source: StoredRecords, private readonly from: ImageFit, private readonly to: ImageFit) {
    ({ n: this.n, labelMaps: this.labelMaps, instanceMaps: this.instanceMaps, featureMaps: this.featureMaps, pictureInputs: this.pictureInputs, maxLabel: this.maxLabel } = source);
  }

  read(indices: ArrayLike<number>): ImageRecords {
    const records = this.source.read(indices);
    const { height, width, channels } = this.from;
    const [area, per] = [height * width, height * width * channels];
    const [toArea, toPer] = [this.to.height * this.to.width, this.to.height * this.to.width * this.to.channels];
    const pixels = new Uint8Array(indices.length * toPer);
    const maps = (m: Int32Array | undefined) => m && new Int32Array(indices.length * toArea);
    const [labelMaps, instanceMaps, featureMaps] = [maps(records.labelMaps), maps(records.instanceMaps), maps(records.featureMaps)];
    for (let i = 0; i < indices.length; i++) {
      const img: RawImage = { width, height, channels, data: records.pixels.subarray(i * per, (i + 1) * per) };
      pixels.set(fitImage(img, this.to).data, i * toPer);
      for (const [m, out] of [[records.labelMaps, labelMaps], [records.instanceMaps, instanceMaps], [records.featureMaps, featureMaps]] as const) {
        if (m && out) out.set(nearestCoverCrop(m.subarray(i * area, (i + 1) * area), width, height, this.to.width, this.to.height), i * toArea);
      }
    }
    return { pixels, labelMaps, instanceMaps, featureMaps };
  }

  select(indices: ArrayLike<number>): StoredRecords {
    return new RefittedRecords(this.source.select(indices), this.from, this.to);
  }
}
