import { readFileSync } from 'node:fs';
import { PNG } from 'pngjs';
import jpeg from 'jpeg-js';
import { GantryError, describeError } from '../errors.ts';
import type { RawImage } from './pixels.ts';

/** A decoder's failure in words: pngjs says a PNG cut short "has some read requests waitng on finished stream". */
export function describeDecodeError(err: unknown): string {
  const text = describeError(err);
  return /read requests wait/i.test(text) ? 'the file ends before the image does' : text;
}

/** Decodes a PNG or JPEG file (by its signature, not its name) to RGBA. */
export function readImageFile(path: string): RawImage {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    throw new GantryError(`cannot read image ${path}: ${describeError(err)}`);
  }
  try {
    if (bytes.length >= 8 && bytes.readUInt32BE(0) === 0x89504e47) {
      const png = PNG.sync.read(bytes);
      return { width: png.width, height: png.height, channels: 4, data: new Uint8Array(png.data.buffer, png.data.byteOffset, png.data.length) };
    }
    if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) {
      const img = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true, maxMemoryUsageInMB: 1024 });
      return { width: img.width, height: img.height, channels: 4, data: img.data };
    }
  } catch (err) {
    throw new GantryError(`image ${path} is corrupt or truncated (${describeDecodeError(err)}); re-export it or remove it from the folder`);
  }
  throw new GantryError(`${path} is neither a PNG nor a JPEG file; convert it or remove it from the folder`);
}
