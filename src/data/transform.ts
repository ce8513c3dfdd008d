import { convertChannels, resizeAndCenterCrop, type RawImage } from '../io/image.ts';
import type { ImageDataset } from './dataset.ts';

/** Puts one decoded image into a dataset's shape: channel count first, then square size. */
export function fitImage(img: RawImage, size: number, channels: number): RawImage {
  return resizeAndCenterCrop(convertChannels(img, channels), size);
}

/** Reshapes a whole dataset (e.g. MNIST 28x28 grey to 32x32 RGB). Pads when told to rather than stretch. */
export function reshapeDataset(ds: ImageDataset, size: number, channels: number, mode: 'pad' | 'resize' = 'resize'): ImageDataset {
  if (ds.height === size && ds.width === size && ds.channels === channels) return ds;
  const per = size * size * channels;
  const pixels = new Uint8Array(ds.n * per);
  const src = ds.height * ds.width * ds.channels;
  for (let i = 0; i < ds.n; i++) {
    let img: RawImage = { width: ds.width, height: ds.height, channels: ds.channels, data: ds.pixels.subarray(i * src, (i + 1) * src) };
    img = convertChannels(img, channels);
    if (mode === 'pad' && size >= ds.width && size >= ds.height) img = padImage(img, size);
    pixels.set(fitImage(img, size, channels).data, i * per);
  }
  return { ...ds, height: size, width: size, channels, pixels };
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
