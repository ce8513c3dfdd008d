import jpeg from 'jpeg-js';
import type { RawImage } from './pixels.ts';

/**
 * JPEG to RGBA as libjpeg(-turbo) decodes it by default, which is what PIL, torchvision and pytorch-fid
 * see: jpeg-js decodes the components (its IDCT differs from libjpeg's "islow" by at most one level on a
 * few samples), and gantry upsamples the chroma and converts to RGB as libjpeg does. jpeg-js by itself
 * repeats each chroma sample over its 2x2 (4:2:0) or 2x1 (4:2:2) pixels, where libjpeg's triangle filter
 * (`h2v2_fancy_upsample` in jdsample.c) blends the neighbouring samples, and truncates its float colour
 * conversion, where libjpeg rounds.
 */
export function decodeJpeg(bytes: Uint8Array): RawImage {
  const layout = frameLayout(bytes);
  const three = layout?.components.length === 3;
  const ycc = three && layout!.ycc;
  // Three components are YCbCr to convert here, or RGB (an Adobe marker's transform 0), which jpeg-js would
  // convert as YCbCr unless told not to; others (grey, CMYK) are jpeg-js's to convert.
  const img = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: !ycc, maxMemoryUsageInMB: 1024, ...(three ? { colorTransform: false } : {}) });
  if (!ycc) return { width: img.width, height: img.height, channels: 4, data: img.data };
  const { width, height } = img;
  const maxH = Math.max(...layout.components.map((c) => c.h));
  const maxV = Math.max(...layout.components.map((c) => c.v));
  // jpeg-js's output repeats each component's samples; take them back, then upsample as libjpeg does.
  const planes = layout.components.map((c, k) => upsample(samplesOf(img.data, width, height, k, maxH / c.h, maxV / c.v), maxH / c.h, maxV / c.v, width, height));
  const out = new Uint8Array(width * height * 4);
  const [Y, Cb, Cr] = planes;
  for (let p = 0; p < width * height; p++) {
    const y = Y[p];
    const cb = Cb[p] - 128;
    const cr = Cr[p] - 128;
    // jdcolor.c's ycc_rgb_convert: 16-bit fixed point, rounded, then clamped.
    out[p * 4] = clamp(y + ((CR_R * cr + HALF) >> 16));
    out[p * 4 + 1] = clamp(y + ((-CB_G * cb + HALF - CR_G * cr) >> 16));
    out[p * 4 + 2] = clamp(y + ((CB_B * cb + HALF) >> 16));
    out[p * 4 + 3] = 255;
  }
  return { width, height, channels: 4, data: out };
}

// libjpeg's FIX(x): x in 16-bit fixed point, rounded.
const CR_R = Math.round(1.402 * 65536);
const CB_B = Math.round(1.772 * 65536);
const CR_G = Math.round(0.71414 * 65536);
const CB_G = Math.round(0.34414 * 65536);
const HALF = 1 << 15;

const clamp = (v: number) => (v < 0 ? 0 : v > 255 ? 255 : v);

interface FrameLayout {
  components: { h: number; v: number }[];
  /** Whether three components are YCbCr (libjpeg's default_decompress_parms), not RGB. */
  ycc: boolean;
}

/** The frame header's sampling factors and the colour space, from the markers before the first scan; null if not found. */
function frameLayout(bytes: Uint8Array): FrameLayout | null {
  let components: FrameLayout['components'] | null = null;
  let ids: number[] = [];
  let jfif = false;
  let adobeTransform: number | null = null;
  for (let at = 2; at + 4 <= bytes.length;) {
    if (bytes[at] !== 0xff) return null;
    const marker = bytes[at + 1];
    if (marker === 0xff) {
      at++; // fill byte
      continue;
    }
    const length = (bytes[at + 2] << 8) | bytes[at + 3];
    const body = at + 4;
    if (marker === 0xe0 && bytes[body] === 0x4a && bytes[body + 1] === 0x46 && bytes[body + 2] === 0x49 && bytes[body + 3] === 0x46) jfif = true;
    if (marker === 0xee && length >= 12 && String.fromCharCode(...bytes.subarray(body, body + 5)) === 'Adobe') adobeTransform = bytes[body + 11];
    // SOF0-SOF15 but DHT (C4), JPG (C8) and DAC (CC).
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      const n = bytes[body + 5];
      components = [];
      ids = [];
      for (let i = 0; i < n; i++) {
        const id = bytes[body + 6 + 3 * i];
        const hv = bytes[body + 7 + 3 * i];
        ids.push(id);
        components.push({ h: hv >> 4, v: hv & 15 });
      }
    }
    if (marker === 0xda) break; // the first scan: every header that matters came before it
    at = body + length - 2;
  }
  if (!components || components.some((c) => c.h < 1 || c.v < 1)) return null;
  const rgbIds = ids.length === 3 && ids[0] === 0x52 && ids[1] === 0x47 && ids[2] === 0x42;
  const ycc = jfif || (adobeTransform !== null ? adobeTransform !== 0 : !rgbIds);
  return { components, ycc };
}

/** Component k's own samples ([ceil(height / fy), ceil(width / fx)]) from jpeg-js's output, where each was repeated fx x fy times. */
function samplesOf(data: Uint8Array, width: number, height: number, k: number, fx: number, fy: number): { w: number; h: number; s: Uint8Array } {
  const w = Math.ceil(width / fx);
  const h = Math.ceil(height / fy);
  const s = new Uint8Array(w * h);
  for (let j = 0; j < h; j++) {
    const row = Math.ceil(j * fy) * width;
    for (let i = 0; i < w; i++) s[j * w + i] = data[(row + Math.ceil(i * fx)) * 3 + k];
  }
  return { w, h, s };
}

/**
 * A component's samples at the image's size, as jdsample.c upsamples them by default: the triangle
 * filters for 2x1 (4:2:2, h2v1_fancy_upsample) and 2x2 (4:2:0, h2v2_fancy_upsample) where the component
 * is more than 2 samples wide, the edge rows repeated as libjpeg's context rows are; each sample repeated
 * otherwise (4:1:1 and the like, as libjpeg's int_upsample; 4:4:0, which libjpeg-turbo filters too, is
 * left repeated: no encoder here writes one to test it against).
 */
function upsample({ w, h, s }: { w: number; h: number; s: Uint8Array }, fx: number, fy: number, width: number, height: number): Uint8Array {
  if (fx === 1 && fy === 1) return s; // a full-size component (luma): its samples are the plane
  const out = new Uint8Array(width * height);
  const fancyX = fx === 2 && w > 2;
  const set = (x: number, y: number, v: number) => {
    if (x < width && y < height) out[y * width + x] = v;
  };
  if (fx === 2 && fy === 1 && fancyX) {
    for (let j = 0; j < h; j++) {
      const r = j * w;
      for (let i = 0; i < w; i++) {
        const here = s[r + i] * 3;
        set(2 * i, j, i === 0 ? s[r] : (here + s[r + i - 1] + 1) >> 2);
        set(2 * i + 1, j, i === w - 1 ? s[r + i] : (here + s[r + i + 1] + 2) >> 2);
      }
    }
    return out;
  }
  if (fx === 2 && fy === 2 && fancyX) {
    const sums = new Int32Array(w);
    for (let j = 0; j < h; j++) {
      for (const v of [0, 1]) {
        // The nearer sample row: above for the upper output row, below for the lower; the edge rows repeat.
        const other = Math.min(h - 1, Math.max(0, v === 0 ? j - 1 : j + 1));
        for (let i = 0; i < w; i++) sums[i] = s[j * w + i] * 3 + s[other * w + i];
        const y = 2 * j + v;
        for (let i = 0; i < w; i++) {
          set(2 * i, y, i === 0 ? (sums[0] * 4 + 8) >> 4 : (sums[i] * 3 + sums[i - 1] + 8) >> 4);
          set(2 * i + 1, y, i === w - 1 ? (sums[i] * 4 + 7) >> 4 : (sums[i] * 3 + sums[i + 1] + 7) >> 4);
        }
      }
    }
    return out;
  }
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) out[y * width + x] = s[Math.floor(y / fy) * w + Math.floor(x / fx)];
  }
  return out;
}
