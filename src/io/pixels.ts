/** 8-bit images and label maps as arrays: converted between channel counts and fitted to a size. Pure
 * functions, the same in Node and the browser (decoding files is image.ts's). */
import { GantryError } from '../errors.ts';

/** An 8-bit image, rows top to bottom, channels interleaved (HWC). */
export interface RawImage {
  width: number;
  height: number;
  channels: number;
  data: Uint8Array;
}

/** One line for an image a caller handed in that is not one (its size, channels and byte count), naming it as `what`. */
export function checkRawImage(img: RawImage, what: string): void {
  const { width, height, channels, data } = img ?? ({} as RawImage);
  const size = (v: unknown) => Number.isInteger(v) && (v as number) > 0;
  if (!size(width) || !size(height)) throw new GantryError(`${what}: width and height must be whole numbers above 0, got ${width} x ${height}`);
  if (![1, 3, 4].includes(channels)) throw new GantryError(`${what}: channels must be 1 (grey), 3 (RGB) or 4 (RGBA), got ${channels}`);
  const length = (data as ArrayLike<number> | undefined)?.length;
  if (length !== width * height * channels) throw new GantryError(`${what}: ${width} x ${height} x ${channels} is ${width * height * channels} values, but data has ${length ?? 'none'}`);
}

/** Converts between 1 (grey), 3 (RGB) and 4 (RGBA) channels; alpha is composited over black. */
export function convertChannels(img: RawImage, channels: number): RawImage {
  if (img.channels === channels) return img;
  const n = img.width * img.height;
  const out = new Uint8Array(n * channels);
  for (let i = 0; i < n; i++) {
    let r: number, g: number, b: number;
    const src = i * img.channels;
    if (img.channels === 1) {
      r = g = b = img.data[src];
    } else {
      const a = img.channels === 4 ? img.data[src + 3] / 255 : 1;
      r = img.data[src] * a;
      g = img.data[src + 1] * a;
      b = img.data[src + 2] * a;
    }
    const dst = i * channels;
    if (channels === 1) {
      out[dst] = Math.round(0.299 * r + 0.587 * g + 0.114 * b);
    } else {
      out[dst] = Math.round(r);
      out[dst + 1] = Math.round(g);
      out[dst + 2] = Math.round(b);
      if (channels === 4) out[dst + 3] = 255;
    }
  }
  return { width: img.width, height: img.height, channels, data: out };
}

/** Bilinear resampling (half-pixel centres, i.e. align_corners=false) to width x height. */
export function resizeBilinear(img: RawImage, width: number, height: number): RawImage {
  if (img.width === width && img.height === height) return img;
  const c = img.channels;
  const out = new Uint8Array(width * height * c);
  const sx = img.width / width;
  const sy = img.height / height;
  for (let y = 0; y < height; y++) {
    const fy = Math.min(Math.max((y + 0.5) * sy - 0.5, 0), img.height - 1);
    const y0 = Math.floor(fy);
    const y1 = Math.min(y0 + 1, img.height - 1);
    const wy = fy - y0;
    for (let x = 0; x < width; x++) {
      const fx = Math.min(Math.max((x + 0.5) * sx - 0.5, 0), img.width - 1);
      const x0 = Math.floor(fx);
      const x1 = Math.min(x0 + 1, img.width - 1);
      const wx = fx - x0;
      for (let k = 0; k < c; k++) {
        const p00 = img.data[(y0 * img.width + x0) * c + k];
        const p01 = img.data[(y0 * img.width + x1) * c + k];
        const p10 = img.data[(y1 * img.width + x0) * c + k];
        const p11 = img.data[(y1 * img.width + x1) * c + k];
        const top = p00 + (p01 - p00) * wx;
        const bottom = p10 + (p11 - p10) * wx;
        out[(y * width + x) * c + k] = Math.round(top + (bottom - top) * wy);
      }
    }
  }
  return { width, height, channels: c, data: out };
}

/** Area-style downscale first when shrinking a lot, so bilinear does not alias; then exact size. */
function resizeSmooth(img: RawImage, width: number, height: number): RawImage {
  let cur = img;
  while (cur.width >= 2 * width && cur.height >= 2 * height) {
    cur = resizeBilinear(cur, Math.floor(cur.width / 2), Math.floor(cur.height / 2));
  }
  return resizeBilinear(cur, width, height);
}

/** A rectangle of an image: columns x0 .. x1 - 1, rows y0 .. y1 - 1 (cropImage clips it to the image). */
export interface CropBox {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

/** The part of an image a box covers, clipped to the image (as PIL's crop of a box inside the picture). */
export function cropImage(img: RawImage, box: CropBox): RawImage {
  const x0 = Math.max(0, Math.min(img.width - 1, box.x0));
  const y0 = Math.max(0, Math.min(img.height - 1, box.y0));
  const width = Math.max(1, Math.min(img.width, box.x1) - x0);
  const height = Math.max(1, Math.min(img.height, box.y1) - y0);
  if (x0 === 0 && y0 === 0 && width === img.width && height === img.height) return img;
  const c = img.channels;
  const out = new Uint8Array(width * height * c);
  for (let y = 0; y < height; y++) out.set(img.data.subarray(((y0 + y) * img.width + x0) * c, ((y0 + y) * img.width + x0 + width) * c), y * width * c);
  return { width, height, channels: c, data: out };
}

/**
 * Scales the image to cover width x height (keeping its aspect ratio), then crops the centre: the usual
 * GAN preprocessing (shorter side to the size, centre square, for square targets).
 */
export function resizeAndCenterCrop(img: RawImage, width: number, height: number): RawImage {
  const { w, h } = coverSize(img.width, img.height, width, height);
  const scaled = resizeSmooth(img, w, h);
  if (w === width && h === height) return scaled;
  const x0 = Math.floor((w - width) / 2);
  const y0 = Math.floor((h - height) / 2);
  const c = img.channels;
  const out = new Uint8Array(width * height * c);
  for (let y = 0; y < height; y++) {
    const src = ((y0 + y) * w + x0) * c;
    out.set(scaled.data.subarray(src, src + width * c), y * width * c);
  }
  return { width, height, channels: c, data: out };
}

/** The size an image of srcW x srcH is scaled to so that it covers width x height (aspect ratio kept). */
export function coverSize(srcW: number, srcH: number, width: number, height: number): { w: number; h: number } {
  const scale = Math.max(width / srcW, height / srcH);
  return { w: Math.max(width, Math.round(srcW * scale)), h: Math.max(height, Math.round(srcH * scale)) };
}

/**
 * A label or instance map fitted like its image (resizeAndCenterCrop's scale and centre crop) but with
 * nearest-neighbour sampling: ids are never blended.
 */
export function nearestCoverCrop(map: ArrayLike<number>, srcW: number, srcH: number, width: number, height: number): Int32Array {
  const { w, h } = coverSize(srcW, srcH, width, height);
  const x0 = Math.floor((w - width) / 2);
  const y0 = Math.floor((h - height) / 2);
  const out = new Int32Array(width * height);
  for (let y = 0; y < height; y++) {
    const sy = Math.min(srcH - 1, Math.floor(((y + y0 + 0.5) * srcH) / h));
    for (let x = 0; x < width; x++) out[y * width + x] = map[sy * srcW + Math.min(srcW - 1, Math.floor(((x + x0 + 0.5) * srcW) / w))];
  }
  return out;
}
