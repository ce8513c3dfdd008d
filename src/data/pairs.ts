import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import { GantryError } from '../errors.ts';
import { requireDataFolder } from './data-folder.ts';
import { readIdMap, type IdMap } from '../io/id-map.ts';
import { readImageFile } from '../io/image.ts';
import { cropImage, nearestCoverCrop, type RawImage } from '../io/pixels.ts';
import { CITYSCAPES_LABELS } from './cityscapes.ts';
import type { ImageDataset, LoadProgress } from './dataset.ts';
import { IMAGE_EXTENSIONS, listFiles } from './folder.ts';
import { fitImage, packedPicture, type ImageFit } from './transform.ts';
import { loadFitted, type FittedRecord, type FittedSize, type StoreSpec } from './fitted-store.ts';
import { packFeatureLevels } from './feature-maps.ts';

/**
 * `pairs:DIR`: semantic label maps with their photos (and optionally instance maps), in any of the
 * layouts pix2pixHD users have:
 *   - pix2pixHD's own: train_label/, train_inst/ (optional), train_img/ (test_* for evaluation), matched
 *     by sorted name, as its aligned dataset does, and train_feat/ (optional: precomputed instance feature
 *     maps, 8-bit RGB, at the label maps' size or any size of their shape, read for --load_features runs:
 *     ImageFit.readFeatureMaps);
 *   - the Cityscapes release: gtFine/{train,val}/<city>/*_gtFine_labelIds.png (+ *_gtFine_instanceIds.png,
 *     16-bit) with leftImg8bit/{train,val}/<city>/*_leftImg8bit.png, matched by name (the test split is val:
 *     Cityscapes' own test labels are not public), and featureMaps/{train,val}/<city>/*_featureMaps.png
 *     (optional: the feature maps, named as the release names its packages' files);
 *   - pictures as inputs (pix2pixHD's --label_nc 0): train_A/ (the input pictures) with train_B/ (the pictures
 *     to draw from them), matched by sorted name; or pix2pix's aligned layout, train/ (test/, else val/) of
 *     side-by-side pictures, A on the left and B on the right (?direction=BtoA: the right half is the input).
 *     An input picture is fitted like an image and kept where a label map would be, each pixel's RGB levels
 *     packed into one id (feature-maps.ts's packing), so it is cropped, mirrored and stored as the maps are
 *     (`ImageDataset.pictureInputs`).
 * Maps are read as ids and fitted nearest-neighbour (never blended); images are fitted like any source.
 */
export type PairSplit = 'train' | 'test';

/** Which half of pix2pix's side-by-side pictures is the input (its --direction). */
export type PairDirection = 'AtoB' | 'BtoA';

export interface PairFiles {
  label: string;
  instance: string | null;
  image: string;
  /** The precomputed feature map. */
  features?: string | null;
}

export interface PairListing {
  layout: 'pix2pixhd' | 'cityscapes' | 'pictures' | 'aligned';
  pairs: PairFiles[];
  /** Names of the label ids where the layout defines them (Cityscapes). */
  labelNames: string[] | null;
  /** Where instance maps would be, for the message of a run without them. */
  instanceFolder: string;
  /** Where the split's feature maps are read from (whether or not it has them). */
  featureFolder: string;
}

/** The Cityscapes layout's folder of feature maps, a package beside gtFine/ and leftImg8bit/. */
const CITYSCAPES_FEATURES = 'featureMaps';

export const PNG_ONLY = new Set(['.png']);

/** A file's name without extension and without the suffixes Cityscapes adds to one frame's files. */
function frameKey(path: string): string {
  return basename(path, extname(path)).replace(/_(gtFine_labelIds|gtFine_instanceIds|gtFine_color|leftImg8bit)$/, '');
}

function isDir(path: string): boolean {
  return existsSync(path) && statSync(path).isDirectory();
}

/**
 * The label / instance / image files of a split of a `pairs:DIR`, paired, with the feature maps where asked
 * and present, or one error naming what is wrong.
 */
export function listPairs(dir: string, split: PairSplit, withFeatures = false): PairListing {
  requireDataFolder('pairs', dir);
  if (isDir(join(dir, 'gtFine'))) return listCityscapes(dir, split, withFeatures);
  const labelDir = join(dir, `${split}_label`);
  const imageDir = join(dir, `${split}_img`);
  const instanceDir = join(dir, `${split}_inst`);
  const featureDir = join(dir, `${split}_feat`);
  if (!isDir(labelDir) && (isDir(join(dir, `${split}_A`)) || isDir(join(dir, `${split}_B`)))) return listPictures(dir, split);
  const aligned = alignedFolder(dir, split);
  if (!isDir(labelDir) && aligned) return listAligned(aligned);
  if (!isDir(labelDir)) {
    throw new GantryError(`pairs: ${dir} has no ${split}_label/ folder; lay out the data as pix2pixHD's ${split}_label/ + ${split}_img/ (+ ${split}_inst/), as the Cityscapes release (gtFine/ and leftImg8bit/), or, for pictures as inputs, as ${split}_A/ + ${split}_B/ or pix2pix's ${split}/ of side-by-side pictures`);
  }
  if (!isDir(imageDir)) throw new GantryError(`pairs: ${dir} has ${split}_label/ but no ${split}_img/ folder with the photos of those label maps`);
  const labels = listFiles(labelDir, PNG_ONLY);
  const images = listFiles(imageDir, IMAGE_EXTENSIONS);
  if (labels.length === 0) throw new GantryError(`pairs: no .png label maps in ${labelDir}`);
  const instances = isDir(instanceDir) ? listFiles(instanceDir, PNG_ONLY) : null;
  // An empty train_feat/ is none (`gantry features --maps-out` may be about to fill it).
  const featureFiles = withFeatures && isDir(featureDir) ? listFiles(featureDir, PNG_ONLY) : [];
  const features = featureFiles.length ? featureFiles : null;
  checkCounts(labels, images, `${split}_img/`, 'image');
  if (instances) checkCounts(labels, instances, `${split}_inst/`, 'instance map');
  if (features) checkCounts(labels, features, `${split}_feat/`, 'feature map');
  return {
    layout: 'pix2pixhd',
    pairs: labels.map((label, i) => ({ label, image: images[i], instance: instances ? instances[i] : null, features: features ? features[i] : null })),
    labelNames: null,
    instanceFolder: instanceDir,
    featureFolder: featureDir,
  };
}

/** Equal counts, or the first label map (input picture) without a partner named (by frame name where they share one). */
function checkCounts(labels: string[], others: string[], folder: string, what: string, inputs = 'label map'): void {
  if (labels.length === others.length) return;
  const keys = new Set(others.map(frameKey));
  const orphan = labels.find((l) => !keys.has(frameKey(l)));
  const named = orphan ? `; ${orphan} has no ${what} in ${folder}` : '';
  throw new GantryError(`pairs: ${labels.length} ${inputs}s but ${others.length} files in ${folder}${named} (pairs are matched by sorted name: give each ${inputs} its ${what})`);
}

/** pix2pixHD's layout for pictures as inputs: train_A/ (inputs) + train_B/ (targets), matched by sorted name. */
function listPictures(dir: string, split: PairSplit): PairListing {
  const [inputDir, targetDir] = [join(dir, `${split}_A`), join(dir, `${split}_B`)];
  if (!isDir(inputDir)) throw new GantryError(`pairs: ${dir} has ${split}_B/ but no ${split}_A/ with the input pictures to draw them from (pix2pixHD's layout for pictures as inputs: ${split}_A/ + ${split}_B/)`);
  if (!isDir(targetDir)) throw new GantryError(`pairs: ${dir} has ${split}_A/ but no ${split}_B/ with the pictures to draw from them (pix2pixHD's layout for pictures as inputs: ${split}_A/ + ${split}_B/)`);
  const inputs = listFiles(inputDir, IMAGE_EXTENSIONS);
  if (inputs.length === 0) throw new GantryError(`pairs: no pictures (PNG or JPEG) in ${inputDir}`);
  if (isDir(join(dir, `${split}_inst`))) throw new GantryError(`pairs: ${dir} has ${split}_A/ (pictures as inputs) and ${split}_inst/; gantry reads instance maps only with label maps (${split}_label/): move ${split}_inst/ aside`);
  const targets = listFiles(targetDir, IMAGE_EXTENSIONS);
  checkCounts(inputs, targets, `${split}_B/`, 'picture', 'input picture');
  return {
    layout: 'pictures',
    pairs: inputs.map((input, i) => ({ label: input, image: targets[i], instance: null, features: null })),
    labelNames: null,
    instanceFolder: join(dir, `${split}_inst`),
    featureFolder: join(dir, `${split}_feat`),
  };
}

/** pix2pix's folder of side-by-side pictures for a split: train/; test/, else val/ (its datasets without a test/); null: none. */
function alignedFolder(dir: string, split: PairSplit): string | null {
  const names = split === 'train' ? ['train'] : ['test', 'val'];
  const found = names.map((n) => join(dir, n)).find(isDir);
  return found ?? null;
}

/** pix2pix's aligned layout: each picture A | B side by side, split in halves as it is read. */
function listAligned(folder: string): PairListing {
  const pictures = listFiles(folder, IMAGE_EXTENSIONS);
  if (pictures.length === 0) throw new GantryError(`pairs: no pictures (PNG or JPEG) in ${folder}; pix2pix's layout has side-by-side pictures there (A on the left, B on the right)`);
  return {
    layout: 'aligned',
    pairs: pictures.map((picture) => ({ label: picture, image: picture, instance: null, features: null })),
    labelNames: null,
    instanceFolder: folder,
    featureFolder: folder,
  };
}

/** A side-by-side picture's halves, each half its width (rounded down): [left, right]. */
function halves(file: string): [RawImage, RawImage] {
  const img = readImageFile(file);
  const half = Math.floor(img.width / 2);
  if (half < 1) throw new GantryError(`pairs: ${file} is ${img.width}x${img.height}, too narrow to be two pictures side by side (pix2pix's aligned layout: A on the left, B on the right)`);
  return [cropImage(img, { x0: 0, y0: 0, x1: half, y1: img.height }), cropImage(img, { x0: half, y0: 0, x1: 2 * half, y1: img.height })];
}

/**
 * Where a pair's feature map is written in its split's feature folder: the label map's name in pix2pixHD's
 * layout (matched by sorted name), <city>/<frame>_featureMaps.png in the Cityscapes one.
 */
export function featureMapName(layout: PairListing['layout'], label: string): string {
  return layout === 'pix2pixhd' ? basename(label) : join(basename(dirname(label)), `${frameKey(label)}_${CITYSCAPES_FEATURES}.png`);
}

function listCityscapes(dir: string, split: PairSplit, withFeatures: boolean): PairListing {
  const part = split === 'train' ? 'train' : 'val';
  const labelRoot = join(dir, 'gtFine', part);
  const imageRoot = join(dir, 'leftImg8bit', part);
  const featureRoot = join(dir, CITYSCAPES_FEATURES, part);
  if (!isDir(labelRoot)) throw new GantryError(`pairs: ${dir} looks like Cityscapes (gtFine/) but has no gtFine/${part}/ folder`);
  if (!isDir(imageRoot)) throw new GantryError(`pairs: ${dir} has gtFine/${part}/ but no leftImg8bit/${part}/ with the photos; unpack leftImg8bit_trainvaltest.zip into ${dir}`);
  const pairs: PairFiles[] = [];
  for (const city of readdirSync(labelRoot).sort()) {
    if (!isDir(join(labelRoot, city))) continue;
    for (const label of listFiles(join(labelRoot, city), PNG_ONLY).filter((f) => f.endsWith('_gtFine_labelIds.png'))) {
      const key = frameKey(label);
      const image = join(imageRoot, city, `${key}_leftImg8bit.png`);
      if (!existsSync(image)) throw new GantryError(`pairs: ${label} has no image; expected ${image}`);
      const instance = join(labelRoot, city, `${key}_gtFine_instanceIds.png`);
      const features = join(featureRoot, featureMapName('cityscapes', label));
      pairs.push({ label, image, instance: existsSync(instance) ? instance : null, features: withFeatures && existsSync(features) ? features : null });
    }
  }
  if (pairs.length === 0) throw new GantryError(`pairs: no *_gtFine_labelIds.png under ${labelRoot}/<city>/; run cityscapesScripts' createTrainIdLabelImgs or unpack gtFine_trainvaltest.zip as released`);
  const withInstances = pairs.filter((p) => p.instance).length;
  if (withInstances > 0 && withInstances < pairs.length) {
    const missing = pairs.find((p) => !p.instance)!;
    throw new GantryError(`pairs: ${missing.label} has no *_gtFine_instanceIds.png beside it, but ${withInstances} other label maps do; give every map its instance map or none`);
  }
  const featureCount = pairs.filter((p) => p.features).length;
  if (featureCount > 0 && featureCount < pairs.length) {
    const missing = pairs.find((p) => !p.features)!;
    throw new GantryError(`pairs: ${missing.label} has no feature map (expected ${join(featureRoot, featureMapName('cityscapes', missing.label))}), but ${featureCount} other label maps do; give every map its feature map (gantry features --maps-out ${featureRoot} writes them all)`);
  }
  return { layout: 'cityscapes', pairs, labelNames: CITYSCAPES_LABELS.map(([name]) => name), instanceFolder: join(labelRoot, '<city>'), featureFolder: featureRoot };
}

/**
 * Instance ids follow Cityscapes' convention: the label for stuff, label * 1000 + k for things. A thing's
 * id must carry its pixel's label; in an 8-bit map any id other than the label is a sign of ids cut to 8
 * bits (Cityscapes' 26001 cannot be stored in 8).
 */
function checkInstanceMap(instance: IdMap, label: IdMap, files: PairFiles): void {
  if (instance.width !== label.width || instance.height !== label.height) {
    throw new GantryError(`pairs: instance map ${files.instance} is ${instance.width}x${instance.height} but its label map ${files.label} is ${label.width}x${label.height}; they must be the same size`);
  }
  const eightBit = instance.bitDepth < 16;
  for (let p = 0; p < instance.ids.length; p++) {
    const id = instance.ids[p];
    const wrong = id >= 1000 ? Math.floor(id / 1000) !== label.ids[p] : eightBit && id !== label.ids[p];
    if (wrong) {
      const depth = eightBit ? ` It is an ${instance.bitDepth}-bit PNG: ids like ${label.ids[p] * 1000 + 1} need 16 bits; re-save it as a 16-bit grey PNG.` : '';
      throw new GantryError(`pairs: instance map ${files.instance} has id ${id} at pixel ${p % label.width},${Math.floor(p / label.width)} where the label map has ${label.ids[p]}; instance ids are the label (stuff) or label * 1000 + k (things), as Cityscapes' *_instanceIds.png.${depth}`);
    }
  }
}

/** Pair i of a listing, checked and fitted: 8-bit pixels, label and instance ids (or the input picture's packed levels), packed feature levels. */
function readPair(listing: PairListing, i: number, fit: FittedSize, direction: PairDirection): FittedRecord {
  const files = listing.pairs[i];
  const { height, width } = fit;
  if (listing.layout === 'aligned') {
    const [left, right] = halves(files.image);
    const [input, image] = direction === 'AtoB' ? [left, right] : [right, left];
    return { pixels: fitImage(image, fit).data, labels: packedPicture(input, fit) };
  }
  if (listing.layout === 'pictures') {
    const [input, image] = [readImageFile(files.label), readImageFile(files.image)];
    if (image.width !== input.width || image.height !== input.height) {
      throw new GantryError(`pairs: input picture ${files.label} is ${input.width}x${input.height} but its picture ${files.image} is ${image.width}x${image.height}; a pair must be the same size`);
    }
    return { pixels: fitImage(image, fit).data, labels: packedPicture(input, fit) };
  }
  const label = readIdMap(files.label, 'label map');
  const image = readImageFile(files.image);
  if (image.width !== label.width || image.height !== label.height) {
    throw new GantryError(`pairs: label map ${files.label} is ${label.width}x${label.height} but its image ${files.image} is ${image.width}x${image.height}; a pair must be the same size`);
  }
  let instances: Int32Array | null = null;
  if (files.instance) {
    const instance = readIdMap(files.instance, 'instance map');
    if (listing.layout === 'cityscapes' && instance.bitDepth !== 16) {
      throw new GantryError(`pairs: ${files.instance} is an ${instance.bitDepth}-bit PNG; Cityscapes' instance ids (label * 1000 + k) need the released 16-bit file`);
    }
    checkInstanceMap(instance, label, files);
    instances = nearestCoverCrop(instance.ids, instance.width, instance.height, width, height);
  }
  let features: Int32Array | null = null;
  if (files.features) {
    // Any size of the label map's shape (NVIDIA's are written at twice the smaller model's size): fitted
    // nearest-neighbour like the maps, they cover the same part of the picture.
    const map = readImageFile(files.features);
    if (map.width * label.height !== map.height * label.width) {
      throw new GantryError(`pairs: feature map ${files.features} is ${map.width}x${map.height} but its label map ${files.label} is ${label.width}x${label.height}; a feature map must have its label map's shape (write them again from the label maps: gantry features --maps-out)`);
    }
    features = nearestCoverCrop(packFeatureLevels(map), map.width, map.height, width, height);
  }
  return { pixels: fitImage(image, fit).data, labels: nearestCoverCrop(label.ids, label.width, label.height, width, height), instances, features };
}

/**
 * Reads the pairs of a split, fitted to the model's size: 8-bit RGB images and 16-bit label / instance maps
 * (a PNG's ids fit in 16 bits), 7 bytes a pixel with instance maps (4 more with feature maps; input pictures
 * packed, 7 bytes a pixel). In memory up to GANTRY_DATA_MEMORY_MB;
 * larger sets are fitted once into a file in gantry's cache and read from it a batch at a time
 * (fitted-store.ts).
 */
export function loadLabelPairs(dir: string, fit: ImageFit, split: PairSplit, onProgress?: LoadProgress, direction?: PairDirection): ImageDataset {
  const listing = listPairs(dir, split, fit.readFeatureMaps === true);
  if (direction && listing.layout !== 'aligned') throw new GantryError(`pairs: ?direction= picks the input half of pix2pix's side-by-side pictures (a train/ folder of them), and ${dir} is in the ${listing.layout === 'pictures' ? 'train_A/ + train_B/' : listing.layout === 'cityscapes' ? 'Cityscapes' : 'train_label/ + train_img/'} layout; leave ?direction= out`);
  const { pairs } = listing;
  const { height, width } = fit;
  const fitted = { height, width, channels: fit.channels || 3 };
  const withInstances = pairs[0].instance !== null;
  const withFeatures = Boolean(pairs[0].features);
  const pictures = listing.layout === 'pictures' || listing.layout === 'aligned';
  const options = [split === 'test' ? 'split=test' : '', direction ? `direction=${direction}` : ''].filter(Boolean).join('&');
  const common = {
    name: `pairs:${dir}${options ? `?${options}` : ''}`,
    n: pairs.length, ...fitted,
    labels: null, classNames: null,
    labelNames: listing.labelNames,
    mapFiles: pairs.map((p) => p.label),
    missingInstances: withInstances || pictures ? undefined : listing.instanceFolder,
    ...(pictures ? { pictureInputs: true } : {}),
  };
  const files = pairs.map((p) => [p.label, p.image, ...(p.instance ? [p.instance] : []), ...(p.features ? [p.features] : [])]);
  const maps = { labelMaps: true, instanceMaps: withInstances, ...(withFeatures ? { featureMaps: true } as const : {}), ...(pictures ? { pictureInputs: true } as const : {}) };
  const spec: StoreSpec = { kind: 'pairs', files, fit: fitted, maps, ...(direction === 'BtoA' ? { variant: direction } : {}) };
  const set = loadFitted(spec, (i) => readPair(listing, i, fitted, direction ?? 'AtoB'), `the ${pairs.length} pairs of ${dir}`, onProgress);
  if (set.stored) return { ...common, pixels: null, labelMaps: null, instanceMaps: null, featureMaps: null, stored: set.stored, note: set.note };
  return { ...common, ...set.contents };
}
