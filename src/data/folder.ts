import { readdirSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { GantryError } from '../errors.ts';
import { requireDataFolder } from './data-folder.ts';
import { readImageFile } from '../io/image.ts';
import { cropImage, type CropBox } from '../io/pixels.ts';
import { loadFitted } from './fitted-store.ts';
import { chooseClasses, type ImageDataset, type LoadProgress } from './dataset.ts';
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
    for (const f of listFiles(d, UNREAD_IMAGE_EXTENSIONS)) {
      const ext = extname(f).toLowerCase();
      counts.set(ext, (counts.get(ext) ?? 0) + 1);
    }
  return [...counts].map(([ext, n]) => `${n} ${ext}`).join(', ');
}

/**
 * `folder:DIR`: PNG/JPEG images, each resized to cover height x width and centre-cropped.
 * Sub-folders with images are classes, named by the folder, in sorted order (or those of `classes`, in its
 * order: ?classes=); otherwise no labels. Held as fittedImages holds them.
 */
export function loadImageFolder(dir: string, fit: ImageFit, onProgress?: LoadProgress, classes?: string[]): ImageDataset {
  const { files, labels, classNames } = listFolderImages(dir, classes);
  return {
    name: `folder:${dir}`,
    n: files.length, height: fit.height, width: fit.width, channels: fit.channels,
    ...fittedImages(files, fit, `the ${files.length} images of ${dir}`, onProgress),
    labels,
    classNames,
  };
}

/**
 * The image files of a `folder:DIR`, in dataset order, with their class labels where sub-folders are classes;
 * with `classes` (?classes=) only those sub-folders, labelled in the order named, are read.
 */
export function listFolderImages(dir: string, classes?: string[]): { files: string[]; labels: Int32Array | null; classNames: string[] | null } {
  requireDataFolder('folder', dir);
  const allClassDirs = readdirSync(dir)
    .filter((f) => statSync(join(dir, f)).isDirectory())
    .sort()
    .filter((f) => listImages(join(dir, f)).length > 0);
  if (classes && allClassDirs.length === 0) throw new GantryError(`folder:${dir}: ?classes= needs class sub-folders, and ${dir} has none`);
  const classDirs = classes ? chooseClasses(allClassDirs, classes, `folder:${dir}`).map((k) => allClassDirs[k]) : allClassDirs;
  let files: string[] = [];
  const labels: number[] = [];
  if (classDirs.length > 0) {
    classDirs.forEach((c, k) => {
      for (const f of listImages(join(dir, c))) {
        files.push(f);
        labels.push(k);
      }
    });
  } else {
    files = listImages(dir); // one folder of them all (CelebA's 202,599): no push(...files), whose arguments would overflow the stack
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

/**
 * The image files, each resized and centre-cropped to height x width x channels, back to back: in memory, or
 * where they exceed GANTRY_DATA_MEMORY_MB fitted once into a file of gantry's cache and read a batch at a time
 * (`stored`, with a `note` naming `what`). A set held in memory whose decoding took long (photos: ~1.5 s a
 * 12-megapixel JPEG) is kept fitted in the cache too, so later runs on it (a --resume, a sweep's points,
 * compare's families) read it without decoding an image (fitted-store.ts).
 */
export function fittedImages(files: string[], fit: ImageFit, what: string, onProgress?: LoadProgress, crops?: { boxes: CropBox[]; source: string }): Pick<ImageDataset, 'pixels' | 'stored' | 'note'> {
  // A cropped image's record also names the file of its box, so that a changed box file makes a new store.
  const spec = { kind: 'images' as const, files: files.map((f) => (crops ? [f, crops.source] : [f])), fit, maps: { labelMaps: false, instanceMaps: false } };
  const read = (i: number) => (crops ? cropImage(readImageFile(files[i]), crops.boxes[i]) : readImageFile(files[i]));
  const set = loadFitted(spec, (i) => ({ pixels: fitImage(read(i), fit).data }), what, onProgress);
  return { pixels: set.contents?.pixels ?? null, stored: set.stored, note: set.note };
}
