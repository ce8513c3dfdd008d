import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, extname, join, relative, sep } from 'node:path';
import { GantryError, describeError } from '../errors.ts';
import { requireDataFolder } from './data-folder.ts';
import { chooseClasses, type ImageDataset, type LoadProgress } from './dataset.ts';
import { IMAGE_EXTENSIONS, fittedImages } from './folder.ts';
import type { CropBox } from '../io/pixels.ts';
import type { ImageFit } from './transform.ts';
import { unpickleStrings } from '../io/pickle.ts';

/**
 * `captions:DIR`: images with their descriptions, one caption a line in a .txt of the image's name, in the
 * layouts text-to-image data comes in:
 *   - a .txt beside each image;
 *   - Reed et al.'s CUB and Oxford-102 caption releases: text_c10/<class>/X.txt for images/<class>/X.jpg
 *     (CUB) or jpg/X.jpg (Oxford-102, whose classes are only in the text folder), with trainvalclasses.txt
 *     and testclasses.txt naming the classes of each split;
 *   - the birds/ folder of StackGAN, AttnGAN and DF-GAN: CUB_200_2011/images/<class>/X.jpg with
 *     text/<class>/X.txt, train/filenames.pickle and test/filenames.pickle naming each split's images;
 *     their coco/ folder the same with images/ and text/ flat.
 * Where CUB's bounding_boxes.txt and images.txt lie beside its images/, each bird is cropped to its box
 * as StackGAN, AttnGAN and DF-GAN crop it (?crop=none keeps whole images). Images in class folders are
 * labelled by them.
 */
export type CaptionSplit = 'train' | 'test';

export interface CaptionOptions {
  /** A split the data defines; absent: its train split where it defines one, else every image. */
  split?: CaptionSplit;
  /** 'none' keeps whole images where CUB's bounding boxes would crop them. */
  crop?: 'bbox' | 'none';
  /** Only the images of these class folders (?classes=), labelled in the order named. */
  classes?: string[];
}

/** Where the images are: the first of these folders DIR has, else DIR itself (at any depth). */
const IMAGE_FOLDERS = ['images', join('CUB_200_2011', 'images'), 'jpg'];

/** Where the caption releases keep their .txt files: Reed et al.'s text_c10/, the StackGAN family's text/. */
const TEXT_FOLDERS = ['text_c10', 'text'];

interface CaptionedFiles {
  files: string[];
  captions: string[][];
  classOf: string[];
  /** The classes, in label order: those of ?classes= as named, else every class found, sorted; null without classes. */
  classNames: string[] | null;
  /** Each image's crop (CUB's bounding boxes), with the file that gave them. */
  crops: { boxes: CropBox[]; source: string } | null;
  /** What was chosen for the user to know: the split and its source, the crops. */
  notes: string[];
}

function isDir(path: string): boolean {
  return existsSync(path) && statSync(path).isDirectory();
}

function imageRoot(dir: string): string {
  const folder = IMAGE_FOLDERS.find((f) => isDir(join(dir, f)));
  return folder ? join(dir, folder) : dir;
}

/** Files under dir at any depth whose extension is one of `extensions`, in sorted path order (`skip`: folders passed over). */
function walk(dir: string, extensions: Set<string>, skip: string[] = [], out: string[] = []): string[] {
  for (const entry of readdirSync(dir).sort()) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) {
      if (!skip.includes(entry)) walk(path, extensions, skip, out);
    } else if (extensions.has(extname(entry).toLowerCase())) {
      out.push(path);
    }
  }
  return out;
}

/** An image's path below the image root without its extension, with '/' between folders: CUB's and the split files' name for it. */
function imageKey(root: string, image: string): string {
  const rel = relative(root, image);
  return rel.slice(0, rel.length - extname(rel).length).split(sep).join('/');
}

/** A text file's lines, trimmed, without the empty ones (captions, class lists, CUB's tables). */
function nonEmptyLines(path: string): string[] {
  return readFileSync(path, 'utf8').split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
}

/**
 * An image's caption file: beside it, at its path below the image root in a text folder, or (Oxford-102,
 * whose text folder has class folders its jpg/ lacks) the one .txt of its name anywhere in a text folder.
 */
function captionFinder(dir: string, root: string): (image: string) => string | null {
  let byName: Map<string, string[]> | null = null;
  return (image) => {
    const stem = basename(image, extname(image));
    const beside = join(dirname(image), `${stem}.txt`);
    if (existsSync(beside)) return beside;
    const below = relative(root, dirname(image)).split(sep).filter(Boolean);
    for (const t of TEXT_FOLDERS) {
      const f = join(dir, t, ...below, `${stem}.txt`);
      if (existsSync(f)) return f;
    }
    if (!byName) {
      byName = new Map();
      for (const t of TEXT_FOLDERS.filter((f) => isDir(join(dir, f)))) {
        for (const f of walk(join(dir, t), new Set(['.txt']))) byName.set(basename(f, '.txt'), [...(byName.get(basename(f, '.txt')) ?? []), f]);
      }
    }
    const found = byName.get(stem);
    return found?.length === 1 ? found[0] : null;
  };
}

/** An image's class: its folder below the image root, else its caption file's folder in a text folder (Oxford-102), else none. */
function classOfImage(dir: string, root: string, image: string, captionFile: string): string {
  const below = relative(root, dirname(image)).split(sep).filter(Boolean);
  if (below.length) return below[0];
  for (const t of TEXT_FOLDERS) {
    const rel = relative(join(dir, t), dirname(captionFile));
    if (rel && !rel.startsWith('..')) return rel.split(sep)[0];
  }
  return '';
}

/** The split files a captions folder has, in the order they are looked for. */
function splitFiles(dir: string): { kind: 'names' | 'classes'; train: string; test: string } | null {
  const pickles = { kind: 'names' as const, train: join(dir, 'train', 'filenames.pickle'), test: join(dir, 'test', 'filenames.pickle') };
  if (existsSync(pickles.train) || existsSync(pickles.test)) return pickles;
  const classes = { kind: 'classes' as const, train: join(dir, 'trainvalclasses.txt'), test: join(dir, 'testclasses.txt') };
  if (existsSync(classes.train) || existsSync(classes.test)) return classes;
  return null;
}

/** The images (and their classes) of a split, as its file names them; every image it names must be here. */
function applySplit(dir: string, root: string, files: string[], classOf: string[], split: CaptionSplit | undefined): { keep: number[]; note: string | null; split: CaptionSplit | null } {
  const all = { keep: files.map((_, i) => i), note: null, split: null };
  const found = splitFiles(dir);
  if (!found) {
    if (split) throw new GantryError(`captions:${dir}?split=${split}: the folder defines no split; it needs train/filenames.pickle and test/filenames.pickle (StackGAN, AttnGAN, DF-GAN) or trainvalclasses.txt and testclasses.txt (Reed et al.), or leave ?split out to use every image`);
    return all;
  }
  const which = split ?? 'train';
  const file = found[which];
  if (!existsSync(file)) throw new GantryError(`captions:${dir}: the ${which} split has no ${relative(dir, file)} beside ${relative(dir, found[which === 'train' ? 'test' : 'train'])}; add it`);
  let keep: number[];
  if (found.kind === 'names') {
    let names: string[];
    try {
      names = unpickleStrings(readFileSync(file), file);
    } catch (err) {
      throw new GantryError(`captions: cannot read ${file} (${describeError(err)}); it should be a pickled list of image names as StackGAN's data has them`);
    }
    const wanted = new Set(names.map((n) => n.replace(/\\/g, '/').replace(/\.(jpe?g|png)$/i, '')));
    keep = files.flatMap((f, i) => (wanted.has(imageKey(root, f)) ? [i] : []));
    if (keep.length < wanted.size) {
      const have = new Set(keep.map((i) => imageKey(root, files[i])));
      const missing = [...wanted].filter((n) => !have.has(n));
      throw new GantryError(`captions: ${file} names ${wanted.size} images but ${missing.length} of them are not in ${root} with captions, e.g. ${missing[0]}; give the whole data set or leave the split files out`);
    }
  } else {
    const classes = new Set(nonEmptyLines(file));
    keep = files.flatMap((_, i) => (classes.has(classOf[i]) ? [i] : []));
    if (keep.length === 0) throw new GantryError(`captions: ${file} names ${classes.size} classes, but no image of ${root} is in their folders; check that its lines are the class folders' names`);
  }
  const source = relative(dir, file);
  const note = split ? `the ${which} split: ${keep.length} of ${files.length} images (${source})` : `the train split: ${keep.length} of ${files.length} images (${source}; captions:${dir}?split=test is the test split)`;
  return { keep, note, split: which };
}

/**
 * The images of the classes ?classes= names among those a split kept, in file order; a class of the
 * folder that the split has no images of is named with the split, not called unknown.
 */
function keepNamedClasses(dir: string, keep: number[], classOf: string[], names: string[], split: CaptionSplit | null): { keep: number[]; classNames: string[]; note: string } {
  const source = `captions:${dir}`;
  const everyClass = [...new Set(classOf)].filter(Boolean).sort();
  if (everyClass.length === 0) throw new GantryError(`${source}: ?classes= needs images in class folders (images/<class>/ or text_c10/<class>/), and it has none`);
  const chosen = chooseClasses(everyClass, names, source).map((k) => everyClass[k]);
  const inSplit = new Set(keep.map((i) => classOf[i]));
  const absent = chosen.find((c) => !inSplit.has(c));
  if (absent !== undefined) {
    const other = split === 'test' ? 'train' : 'test';
    throw new GantryError(`${source}: class "${absent}" has no images in the ${split} split; it is in the ${other} split (?split=${other}), or choose among ${[...inSplit].sort().join(', ')}`);
  }
  const kept = keep.filter((i) => chosen.includes(classOf[i]));
  return { keep: kept, classNames: chosen, note: `classes ${chosen.join(', ')}: ${kept.length} images` };
}

/**
 * CUB's bounding boxes beside its images/ (bounding_boxes.txt: id x y width height; images.txt: id and the
 * path below images/), by image key; null where the folder has none.
 */
function readBoxes(root: string): { boxes: Map<string, CropBox>; source: string } | null {
  if (basename(root) !== 'images') return null;
  const source = join(dirname(root), 'bounding_boxes.txt');
  const names = join(dirname(root), 'images.txt');
  if (!existsSync(source) || !existsSync(names)) return null;
  const pathOf = new Map<string, string>();
  for (const line of nonEmptyLines(names)) {
    const [id, path] = line.split(/\s+/);
    if (id && path) pathOf.set(id, path.slice(0, path.length - extname(path).length));
  }
  const boxes = new Map<string, CropBox>();
  for (const [k, line] of nonEmptyLines(source).entries()) {
    const [id, ...numbers] = line.split(/\s+/);
    const box = numbers.map(Number);
    const key = pathOf.get(id);
    if (box.length !== 4 || box.some((v) => !Number.isFinite(v)) || !key) throw new GantryError(`captions: ${source} line ${k + 1} is "${line}"; each line should be an image id of images.txt and its box: x y width height`);
    boxes.set(key, birdCrop(box as [number, number, number, number]));
  }
  return { boxes, source };
}

/**
 * The square around a bird's box that StackGAN, AttnGAN and DF-GAN crop (their get_imgs): 1.5 times the
 * box's longer side, centred on the box, cut by the picture's edges (which cropImage clips to).
 */
export function birdCrop([x, y, w, h]: [number, number, number, number]): CropBox {
  const r = Math.trunc(Math.max(w, h) * 0.75);
  const cx = Math.trunc((2 * x + w) / 2);
  const cy = Math.trunc((2 * y + h) / 2);
  return { x0: Math.max(0, cx - r), y0: Math.max(0, cy - r), x1: cx + r, y1: cy + r };
}

/** The images under dir and their captions, classes and crops, in the same order (checked: every image has some). */
function captionedFiles(dir: string, o: CaptionOptions = {}): CaptionedFiles {
  requireDataFolder('captions', dir);
  const root = imageRoot(dir);
  const everything = walk(root, IMAGE_EXTENSIONS, root === dir ? TEXT_FOLDERS : []);
  if (everything.length === 0) throw new GantryError(`captions: no .png/.jpg images in ${root} or its sub-folders`);
  const find = captionFinder(dir, root);
  const captionFiles = everything.map(find);
  const allCaptions = captionFiles.map((f) => (f ? nonEmptyLines(f) : []));
  const missing = everything.filter((_, i) => allCaptions[i].length === 0);
  if (missing.length > 0) {
    const below = relative(root, dirname(missing[0])).split(sep).filter(Boolean);
    throw new GantryError(`captions: ${missing.length} of ${everything.length} images have no captions, e.g. ${missing[0]}; write one caption a line to ${join(dirname(missing[0]), `${basename(missing[0], extname(missing[0]))}.txt`)} (or ${join(dir, 'text_c10', ...below, `${basename(missing[0], extname(missing[0]))}.txt`)})`);
  }
  const allClasses = everything.map((f, i) => classOfImage(dir, root, f, captionFiles[i]!));
  const split = applySplit(dir, root, everything, allClasses, o.split);
  let keep = split.keep;
  let classNames: string[] | null = null;
  const notes = split.note ? [split.note] : [];
  if (o.classes) {
    const named = keepNamedClasses(dir, keep, allClasses, o.classes, split.split);
    ({ keep, classNames } = named);
    notes.push(named.note);
  } else {
    const found = [...new Set(keep.map((i) => allClasses[i]))].sort();
    if (found.length > 1 || (found.length === 1 && found[0] !== '')) classNames = found;
  }
  const files = keep.map((i) => everything[i]);
  const captions = keep.map((i) => allCaptions[i]);
  let crops: CaptionedFiles['crops'] = null;
  if (o.crop !== 'none') {
    const found = readBoxes(root);
    if (!found && o.crop === 'bbox') throw new GantryError(`captions:${dir}?crop=bbox: no bounding_boxes.txt and images.txt beside ${root} (CUB_200_2011's); leave ?crop out`);
    if (found) {
      const unboxed = files.find((f) => !found.boxes.has(imageKey(root, f)));
      if (unboxed) throw new GantryError(`captions: ${found.source} has no box for ${unboxed}; give the release's whole bounding_boxes.txt and images.txt, or add ?crop=none`);
      crops = { boxes: files.map((f) => found.boxes.get(imageKey(root, f))!), source: found.source };
      notes.push(`each bird cropped to 1.5 times its box (${relative(dir, found.source)}, as StackGAN, AttnGAN and DF-GAN crop; ?crop=none keeps whole images)`);
    }
  }
  return { files, captions, classOf: keep.map((i) => allClasses[i]), classNames, crops, notes };
}

/** Every image's captions under dir, without decoding an image (FID of a text run draws with them). */
export function readCaptionLists(dir: string, o: CaptionOptions = {}): string[][] {
  return captionedFiles(dir, { ...o, crop: 'none' }).captions; // the crops do not change the captions
}

/**
 * The captions a text run trained on captions:DIR draws its images with for FID: the test split's where the
 * folder defines a split (DF-GAN's and AttnGAN's protocol on CUB), of the run's classes where it kept some;
 * else, as where a class split (Reed et al.'s) holds those classes only in training, its training captions.
 */
export function evaluationCaptionLists(dir: string, o: CaptionOptions = {}): string[][] {
  if (splitFiles(dir) === null) return readCaptionLists(dir, o);
  const test = captionedFiles(dir, { ...o, split: 'test', classes: undefined, crop: 'none' });
  if (!o.classes) return test.captions;
  const wanted = o.classes.map((c) => c.trim());
  if (!wanted.every((c) => test.classOf.includes(c))) return readCaptionLists(dir, o);
  return test.captions.filter((_, i) => wanted.includes(test.classOf[i]));
}

/**
 * The images of `captions:DIR` and their captions; classes from their folders. The images are held as
 * fittedImages holds them: in memory, or read from the cache a batch at a time.
 */
export function loadCaptionedImages(dir: string, fit: ImageFit, o: CaptionOptions = {}, onProgress?: LoadProgress): ImageDataset {
  const { files, captions, classOf, classNames, crops, notes } = captionedFiles(dir, o);
  const images = fittedImages(files, fit, `the ${files.length} captioned images of ${dir}`, onProgress, crops ?? undefined);
  const note = [...notes, ...(images.note ? [images.note] : [])].join('; ');
  return {
    name: `captions:${dir}`,
    n: files.length, height: fit.height, width: fit.width, channels: fit.channels,
    ...images,
    ...(note ? { note } : {}),
    labels: classNames ? Int32Array.from(classOf, (c) => classNames.indexOf(c)) : null,
    classNames,
    captions,
  };
}
