import { readFileSync } from 'node:fs';
import { crc32 } from 'node:zlib';
import { PNG } from 'pngjs';
import { GantryError, describeError } from '../errors.ts';
import { describeDecodeError } from './image.ts';

/** A map of integer ids per pixel (label or instance ids), rows top to bottom. */
export interface IdMap {
  width: number;
  height: number;
  ids: Int32Array;
  /** The file's bit depth: 8 maps cannot hold ids above 255 (Cityscapes' 26001 needs 16). */
  bitDepth: number;
}

/**
 * Reads a label or instance map PNG as ids, never rescaled or blended: a grey PNG's values (8 or 16 bit,
 * as Cityscapes' `*_instanceIds.png`), or a palette PNG's indices (PIL's 'P' images, which the official
 * pix2pixHD loader reads as ids too). A colour PNG is refused: its colours are not ids.
 * Palette indices arrive as the red channel (indexPalette).
 */
export function readIdMap(path: string, what = 'label map'): IdMap {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    throw new GantryError(`cannot read ${what} ${path}: ${describeError(err)}`);
  }
  if (bytes.length < 8 || bytes.readUInt32BE(0) !== 0x89504e47) throw new GantryError(`${what} ${path} is not a PNG; label and instance maps are grey (8 or 16 bit) or palette PNGs of ids`);
  let png: PNG & { depth: number; colorType: number };
  try {
    png = PNG.sync.read(indexPalette(bytes), { skipRescale: true }) as unknown as typeof png;
  } catch (err) {
    throw new GantryError(`${what} ${path} is corrupt or truncated (${describeDecodeError(err, bytes)}); re-export it`);
  }
  const { width, height, depth, colorType } = png;
  const data = png.data as unknown as ArrayLike<number>;
  const ids = new Int32Array(width * height);
  if (colorType === 2 || colorType === 6) {
    for (let p = 0; p < ids.length; p++) {
      if (data[4 * p] !== data[4 * p + 1] || data[4 * p] !== data[4 * p + 2]) {
        throw new GantryError(`${what} ${path} is a colour PNG (pixel ${p % width},${Math.floor(p / width)} is ${data[4 * p]},${data[4 * p + 1]},${data[4 * p + 2]}); save the ids as a grey or palette PNG (one id a pixel), not as colours`);
      }
    }
  }
  for (let p = 0; p < ids.length; p++) ids[p] = data[4 * p];
  return { width, height, ids, bitDepth: depth };
}

/**
 * A palette PNG with its palette replaced by entry i = (i, 0, 0): decoded to RGBA, red is the index
 * (palettes may repeat a colour, as Cityscapes' black ids 0..4 do, so colours cannot be mapped back).
 * Other PNGs are returned as they are.
 */
function indexPalette(bytes: Buffer): Buffer {
  if (bytes.length < 33 || bytes[25] !== 3) return bytes; // IHDR's colour type
  const out = Buffer.from(bytes);
  for (let p = 8; p + 12 <= out.length; ) {
    const length = out.readUInt32BE(p);
    if (out.toString('ascii', p + 4, p + 8) === 'PLTE' && p + 12 + length <= out.length) {
      for (let i = 0; i < length / 3; i++) out.set([i, 0, 0], p + 8 + 3 * i);
      out.writeUInt32BE(crc32(out.subarray(p + 4, p + 8 + length)), p + 8 + length);
      break;
    }
    p += 12 + length;
  }
  return out;
}

/** Encodes ids as a grey PNG: 8 bit when every id fits, else 16 bit (ids 0 .. 65535). */
export function encodeIdMap(map: { width: number; height: number; ids: ArrayLike<number> }, bitDepth?: 8 | 16): Buffer {
  let max = 0;
  for (let i = 0; i < map.ids.length; i++) max = Math.max(max, map.ids[i]);
  const depth = bitDepth ?? (max > 255 ? 16 : 8);
  if (max > (depth === 8 ? 255 : 65535)) throw new GantryError(`id ${max} does not fit a ${depth}-bit PNG`);
  const data = depth === 16 ? Uint16Array.from(map.ids) : Buffer.from(Uint8Array.from(map.ids));
  return PNG.sync.write({ width: map.width, height: map.height, data } as unknown as PNG, { colorType: 0, inputColorType: 0, bitDepth: depth, inputHasAlpha: false });
}
