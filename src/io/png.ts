import { PNG } from 'pngjs';
import type { RawImage } from './image.ts';
import { writeFileAtomic } from './atomic.ts';

/** Encodes an 8-bit grey, RGB or RGBA image as PNG bytes. */
export function encodePng(img: RawImage): Buffer {
  const png = new PNG({ width: img.width, height: img.height });
  const rgba = png.data;
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
  return PNG.sync.write(png);
}

export function writePng(path: string, img: RawImage): void {
  writeFileAtomic(path, encodePng(img));
}
