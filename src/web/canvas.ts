import { GantryError } from '../errors.ts';
import { tileImages } from '../explore/grid.ts';
import { convertChannels, type RawImage } from '../io/pixels.ts';
import type { GeneratedImages } from './generator.ts';

/** Image i of generated images, its pixels a view of theirs. */
export function imageAt(images: GeneratedImages, i = 0): RawImage {
  if (!Number.isInteger(i) || i < 0 || i >= images.n) throw new GantryError(`image ${i} of ${images.n}`);
  const { width, height, channels, pixels } = images;
  return { width, height, channels, data: pixels.subarray(i * width * height * channels, (i + 1) * width * height * channels) };
}

/** Image i as RGBA pixels (grey images spread over R, G and B): what a canvas takes. */
export function toImageData(images: GeneratedImages, i = 0): ImageData {
  const image = imageAt(images, i);
  return new ImageData(Uint8ClampedArray.from(convertChannels(image, 4).data), image.width, image.height);
}

/**
 * Draws image i on a canvas at its own size (the canvas is resized to it). Show it larger with CSS
 * (`width: 256px; image-rendering: pixelated`) to keep the pixels crisp.
 */
export function drawImage(canvas: HTMLCanvasElement | OffscreenCanvas, images: GeneratedImages, i = 0): void {
  canvas.width = images.width;
  canvas.height = images.height;
  const context = canvas.getContext('2d') as CanvasRenderingContext2D | OffscreenCanvasRenderingContext2D | null;
  if (!context) throw new GantryError('the canvas has no 2d context');
  context.putImageData(toImageData(images, i), 0, 0);
}

/** The images tiled into one (a grid of `cols` columns, 2-pixel grey gaps, as the CLI's grids). */
export function tile(images: GeneratedImages, cols = images.n): GeneratedImages {
  const { width, height, channels, data } = tileImages(images.pixels, images.n, images.height, images.width, images.channels, cols);
  return { n: 1, width, height, channels, pixels: data };
}

/** Image i as PNG bytes (a download, an upload). */
export async function pngBytes(images: GeneratedImages, i = 0): Promise<Uint8Array> {
  const canvas = new OffscreenCanvas(images.width, images.height);
  drawImage(canvas, images, i);
  const blob = await canvas.convertToBlob({ type: 'image/png' });
  return new Uint8Array(await blob.arrayBuffer());
}
