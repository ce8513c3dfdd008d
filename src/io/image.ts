import { readFileSync } from 'node:fs';
import { PNG } from 'pngjs';
import { GantryError, describeError } from '../errors.ts';
import { decodeJpeg } from './jpeg.ts';
import type { RawImage } from './pixels.ts';

/**
 * Why an image file did not decode, in words: a file cut short says so, where pngjs says "There are some read
 * requests waitng on finished stream" and jpeg-js "unknown JPEG marker 0" (a JPEG ends with its EOI marker, FF D9).
 */
export function describeDecodeError(err: unknown, bytes: Uint8Array): string {
  const text = describeError(err);
  const jpegCut = bytes[0] === 0xff && bytes[1] === 0xd8 && !(bytes[bytes.length - 2] === 0xff && bytes[bytes.length - 1] === 0xd9);
  return jpegCut || /read requests wait/i.test(text) ? 'the file ends before the image does' : text;
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
    if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return decodeJpeg(bytes);
  } catch (err) {
    throw new GantryError(`image ${path} is corrupt or truncated (${describeDecodeError(err, bytes)}); re-export it or leave it out`);
  }
  throw new GantryError(`${path} is neither a PNG nor a JPEG file; convert it to PNG or JPEG, or leave it out`);
}
