import { convertChannels, type RawImage } from '../io/pixels.ts';

/**
 * pix2pixHD's precomputed instance feature maps (its train_feat/, NVIDIA's --load_features): 8-bit RGB
 * images whose three levels a pixel are its features, level / 127.5 - 1 (its dataset's normalize). In
 * a dataset a pixel's levels are packed into one id, r << 16 | g << 8 | b, so that the maps are fitted,
 * cropped and mirrored by the code that does so for label and instance maps.
 */
export const FEATURE_MAP_CHANNELS = 3;

/** Where pairs:DIR keeps its feature maps, for messages. */
export const FEATURE_MAP_FOLDERS = 'train_feat/, or featureMaps/train/<city>/ in the Cityscapes layout';

/** An image's pixels as packed feature levels (grey and RGBA images read as RGB). */
export function packFeatureLevels(img: RawImage): Int32Array {
  const rgb = convertChannels(img, FEATURE_MAP_CHANNELS).data;
  const out = new Int32Array(img.width * img.height);
  for (let p = 0; p < out.length; p++) out[p] = (rgb[3 * p] << 16) | (rgb[3 * p + 1] << 8) | rgb[3 * p + 2];
  return out;
}

/** Packed levels [n, H, W] as 8-bit RGB pixels [n, H, W, 3] (pictures as inputs, shown beside their results). */
export function unpackLevels(packed: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(packed.length * FEATURE_MAP_CHANNELS);
  for (let p = 0; p < packed.length; p++) {
    const v = packed[p];
    out[3 * p] = (v >> 16) & 255;
    out[3 * p + 1] = (v >> 8) & 255;
    out[3 * p + 2] = v & 255;
  }
  return out;
}

/** Packed levels [n, H, W] as features [n, H, W, 3] in [-1, 1]. */
export function featureValues(packed: ArrayLike<number>): Float32Array {
  const out = new Float32Array(packed.length * FEATURE_MAP_CHANNELS);
  for (let p = 0; p < packed.length; p++) {
    const v = packed[p];
    out[3 * p] = ((v >> 16) & 255) / 127.5 - 1;
    out[3 * p + 1] = ((v >> 8) & 255) / 127.5 - 1;
    out[3 * p + 2] = (v & 255) / 127.5 - 1;
  }
  return out;
}

/** A feature in [-1, 1] as the level NVIDIA's tensor2im saves: (x + 1) / 2 * 255, clipped, truncated. */
export function featureLevel(x: number): number {
  return Math.trunc(Math.min(255, Math.max(0, ((x + 1) / 2) * 255)));
}
