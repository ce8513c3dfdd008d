import { PNG } from 'pngjs';
import type { RawImage } from './pixels.ts';
import { writeFileAtomic } from './atomic.ts';

/**
 * Encodes an 8-bit grey, RGB or RGBA image as PNG bytes. pngjs's packer gets a plain { width, height,
 * data }: a `new PNG()` object starts an asynchronous parser (a zlib stream) that stays alive, about
 * 35 KB an image, which a folder of 100,000 samples would pile up.
 */
export function encodePng(img: RawImage): Buffer {
  const rgba = Buffer.alloc(4 * img.width * img.height);
  const n = img.width * img.height;
  for (let i = 0; i < n; i++) {
    const s = i * img.channels;
    const d = i * 4;
    if (img.channels === 1) {
      rgba[d] = rgba[d + 1] = rgba[d + 2] = img.data[s];
    } else {
      rgba[d] = img.data[s];
      rgba[d + 1] = img.data[s + 1];
      rgba[d + 2] = img.data[s + 2];
    }
    rgba[d + 3] = img.channels === 4 ? img.data[s + 3] : 255;
  }
  return PNG.sync.write({ width: img.width, height: img.height, data: rgba } as PNG);
}

export function writePng(path: string, img: RawImage): void {
  writeFileAtomic(path, encodePng(img));
}
