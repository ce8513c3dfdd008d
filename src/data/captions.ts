import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, extname, join, relative, sep } from 'node:path';
import { GantryError } from '../errors.ts';
import { requireDataFolder } from './data-folder.ts';
import type { ImageDataset, LoadProgress } from './dataset.ts';
import { IMAGE_EXTENSIONS, fittedImages } from './folder.ts';
import type { ImageFit } from './transform.ts';

/** Image files under dir, at any depth, in sorted path order (text folders skipped). */
function walkImages(dir: string, out: string[] = []): string[] {
  for (const entry of readdirSync(dir).sort()) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) {
      if (!TEXT_FOLDERS.includes(entry)) walkImages(path, out);
    } else if (IMAGE_EXTENSIONS.has(extname(entry).toLowerCase())) {
      out.push(path);
    }
  }
  return out;
}

/** Where the CUB / Oxford-102 caption releases (Reed et al.) keep their .txt files, mirroring images/. */
const TEXT_FOLDERS = ['text_c10', 'text'];

/**
 * The caption files an image may have: X.txt beside X.jpg, or, for the CUB / Oxford-102 layout
 * (`images/<class>/X.jpg` with `text_c10/<class>/X.txt`), the same path under a text folder.
 */
function captionCandidates(root: string, image: string): string[] {
  const stem = basename(image, extname(image));
  return [join(dirname(image), `${stem}.txt`), ...TEXT_FOLDERS.map((t) => join(root, t, ...foldersBelowImages(root, image), `${stem}.txt`))];
}

/** The folders between the root (or root/images) and an image: ["001.Black_footed_Albatross"] in CUB. */
function foldersBelowImages(root: string, image: string): string[] {
  const rel = relative(root, dirname(image)).split(sep).filter(Boolean);
  return rel[0] === 'images' ? rel.slice(1) : rel;
}

function readCaptions(path: string): string[] {
  return readFileSync(path, 'utf8').split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
}

/** The images under dir and their captions, in the same order (checked: every image has some). */
function captionedFiles(dir: string): { files: string[]; captions: string[][] } {
  requireDataFolder('captions', dir);
  const files = walkImages(dir);
  if (files.length === 0) throw new GantryError(`captions: no .png/.jpg images in ${dir} or its sub-folders`);
  const captions: string[][] = [];
  const missing: string[] = [];
  for (const f of files) {
    const found = captionCandidates(dir, f).find((c) => existsSync(c));
    const lines = found ? readCaptions(found) : [];
    if (lines.length === 0) missing.push(f);
    captions.push(lines);
  }
  if (missing.length > 0) {
    const [first] = captionCandidates(dir, missing[0]);
    throw new GantryError(`captions: ${missing.length} of ${files.length} images have no captions, e.g. ${missing[0]}; write one caption a line to ${first} (or text_c10/<class>/<name>.txt)`);
  }
  return { files, captions };
}

/** Every image's captions under dir, without decoding an image (FID of a text run draws with them). */
export function readCaptionLists(dir: string): string[][] {
  return captionedFiles(dir).captions;
}

/**
 * `captions:DIR`: images with their descriptions, one caption a line in a .txt of the same name (beside
 * the image, or under text_c10/ as the CUB and Oxford-102 caption releases have it). Images in
 * sub-folders are labelled by their first folder below DIR (or below DIR/images), as CUB's classes are. The
 * images are held as fittedImages holds them: in memory, or read from the cache a batch at a time.
 */
export function loadCaptionedImages(dir: string, fit: ImageFit, onProgress?: LoadProgress): ImageDataset {
  const { files, captions } = captionedFiles(dir);
  const classOf = files.map((f) => foldersBelowImages(dir, f)[0] ?? '');
  const classNames = [...new Set(classOf)].sort();
  const labelled = classNames.length > 1 || (classNames.length === 1 && classNames[0] !== '');
  return {
    name: `captions:${dir}`,
    n: files.length, height: fit.height, width: fit.width, channels: fit.channels,
    ...fittedImages(files, fit, `the ${files.length} captioned images of ${dir}`, onProgress),
    labels: labelled ? Int32Array.from(classOf, (c) => classNames.indexOf(c)) : null,
    classNames: labelled ? classNames : null,
    captions,
  };
}
