import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, extname, join } from 'node:path';
import { GantryError, describeError } from '../errors.ts';
import { writeFileAtomic } from '../io/atomic.ts';
import { cacheFolder, fileIdentity } from '../io/cache-dir.ts';
import { readImageFile } from '../io/image.ts';
import type { InMemoryDataset } from './dataset.ts';
import { fitImage, type ImageFit } from './transform.ts';

export const IMAGE_EXTENSIONS = new Set(['.png', '.jpg', '.jpeg']);

/** The files of dir whose extension (any case) is one of `extensions`, in sorted name order. */
export function listFiles(dir: string, extensions: Set<string>): string[] {
  return readdirSync(dir)
    .filter((f) => extensions.has(extname(f).toLowerCase()))
    .sort()
    .map((f) => join(dir, f));
}

function listImages(dir: string): string[] {
  return listFiles(dir, IMAGE_EXTENSIONS);
}

/** Formats people keep pictures in that gantry does not decode: a folder's files of these are named, not passed over in silence. */
const UNREAD_IMAGE_EXTENSIONS = new Set(['.webp', '.gif', '.bmp', '.tif', '.tiff', '.heic', '.heif', '.avif', '.jxl']);

/** How many files of each unread picture format the folders hold, as "2 .webp, 1 .gif" (empty when none). */
function unreadPictures(dirs: string[]): string {
  const counts = new Map<string, number>();
  for (const d of dirs)
    for (const f of listFiles(d, UNREAD_IMAGE_EXTENSIONS)) counts.set(extname(f).toLowerCase(), (counts.get(extname(f).toLowerCase()) ?? 0) + 1);
  return [...counts].map(([ext, n]) => `${n} ${ext}`).join(', ');
}

/**
 * `folder:DIR`: PNG/JPEG images, each resized to cover height x width and centre-cropped.
 * Sub-folders with images are classes, named by the folder, in sorted order; otherwise no labels.
 */
export function loadImageFolder(dir: string, fit: ImageFit, onProgress?: LoadProgress): InMemoryDataset {
  const { files, labels, classNames } = listFolderImages(dir);
  return {
    name: `folder:${dir}`,
    n: files.length, height: fit.height, width: fit.width, channels: fit.channels,
    pixels: readFittedImages(files, fit, onProgress),
    labels,
    classNames,
  };
}

/** The image files of a `folder:DIR`, in dataset order, with their class labels where sub-folders are classes. */
export function listFolderImages(dir: string): { files: string[]; labels: Int32Array | null; classNames: string[] | null } {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new GantryError(`folder: ${dir} is not a folder`);
  const classDirs = readdirSync(dir)
    .filter((f) => statSync(join(dir, f)).isDirectory())
    .sort()
    .filter((f) => listImages(join(dir, f)).length > 0);
  const files: string[] = [];
  const labels: number[] = [];
  if (classDirs.length > 0) {
    classDirs.forEach((c, k) => {
      for (const f of listImages(join(dir, c))) {
        files.push(f);
        labels.push(k);
      }
    });
  } else {
    files.push(...listImages(dir));
  }
  const unread = unreadPictures([dir, ...classDirs.map((c) => join(dir, c))]);
  const convert = 'gantry reads PNG and JPEG: convert them (ImageMagick: mogrify -format png FILES) to use them';
  if (files.length === 0) throw new GantryError(`folder: no .png/.jpg images in ${dir} or its sub-folders${unread ? `, only ${unread} files; ${convert}` : ''}`);
  if (unread) process.stderr.write(`warning: folder: left out ${unread} files of ${dir}; ${convert}\n`);
  const loose = classDirs.length > 0 ? listImages(dir).length : 0;
  if (loose > 0) process.stderr.write(`warning: folder: left out the ${loose} image(s) directly in ${dir}: its sub-folders are the classes, so each image belongs in one of them\n`);
  return {
    files,
    labels: classDirs.length > 0 ? Int32Array.from(labels) : null,
    classNames: classDirs.length > 0 ? classDirs : null,
  };
}

/** Bump when decoding or fitting changes what an image's fitted pixels are: older cached ones are not read. */
const FITTED_FORMAT = 1;

/**
 * The image files, each resized and centre-cropped to height x width x channels, back to back. A set whose
 * decoding took long (a folder of photos: ~1.5 s a 12-megapixel JPEG) is kept fitted in cacheFolder('images'),
 * under a hash of the files' paths, sizes and times and the size, so later runs on it (a --resume, a sweep's
 * points, compare's families) read it without decoding an image.
 */
export function readFittedImages(files: string[], fit: ImageFit, onProgress?: LoadProgress): Uint8Array {
  const per = fit.height * fit.width * fit.channels;
  const key = createHash('sha1').update(JSON.stringify({ format: FITTED_FORMAT, fit: [fit.height, fit.width, fit.channels], files: files.map(fileIdentity) })).digest('hex').slice(0, 20);
  const cached = join(cacheFolder('images'), `${key}.bin`);
  if (existsSync(cached) && statSync(cached).size === files.length * per) {
    const pixels = new Uint8Array(readFileSync(cached));
    onProgress?.(files.length, files.length);
    return pixels;
  }
  const start = performance.now();
  const pixels = new Uint8Array(files.length * per);
  files.forEach((f, i) => {
    pixels.set(fitImage(readImageFile(f), fit).data, i * per);
    onProgress?.(i + 1, files.length);
  });
  if (performance.now() - start >= imageCacheSeconds() * 1000) {
    try {
      mkdirSync(dirname(cached), { recursive: true });
      writeFileAtomic(cached, pixels);
    } catch (err) {
      process.stderr.write(`warning: could not keep the fitted images in ${cached} (${describeError(err)}); later runs decode them again\n`);
    }
  }
  return pixels;
}

/** How long decoding a set must take before its fitted pixels are cached: GANTRY_IMAGE_CACHE_SECONDS, default 10. */
function imageCacheSeconds(): number {
  const v = Number(process.env.GANTRY_IMAGE_CACHE_SECONDS ?? 10);
  return Number.isFinite(v) && v >= 0 ? v : 10;
}

/** Told after each file a source reads: images read so far and in all (a progress line for large folders). */
export type LoadProgress = (done: number, total: number) => void;
