import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, statSync, statfsSync } from 'node:fs';
import { endianness } from 'node:os';
import { basename, join } from 'node:path';
import { GantryError, describeError, formatBytes } from '../errors.ts';
import { removeAbandonedTempFiles, writeFileAtomic, writeFileAtomicFrom } from '../io/atomic.ts';
import { cacheFolder, fileIdentity } from '../io/cache-dir.ts';
import type { ImageRecords, LoadProgress, StoredRecords } from './dataset.ts';
import type { ImageFit } from './transform.ts';

/**
 * Images fitted to a size, with their label and instance maps where they have them, in a file of fixed-size
 * records in gantry's cache: label-map pairs too large for memory (Cityscapes at 512x1024 is 11 GB fitted)
 * and folders of images likewise are decoded and fitted once into one and read a batch at a time; a set
 * held in memory whose decoding was slow is kept in one too, so the next run reads it whole. The file's
 * name is a hash of the source files' paths, sizes and times, the size they are fitted to and what the
 * records hold, so a later run on the same data reads it without decoding an image, and a changed file
 * makes a new one. A record is the packed feature levels (int32, where there are feature maps), the label ids
 * (uint16, where there are label maps; int32 where they are input pictures' packed levels), the instance ids (uint16, where there are instance maps), then the
 * 8-bit pixels (HWC); the header (`.json`) is written last, so a file without one was never finished.
 */
// 3: JPEGs' chroma upsampled as libjpeg does (src/io/jpeg.ts), so sets fitted before hold other pixels.
const FORMAT = 3;

/** One fitted image (and its maps) as a source decodes it. */
export interface FittedRecord {
  pixels: Uint8Array;
  labels?: ArrayLike<number> | null;
  instances?: ArrayLike<number> | null;
  features?: ArrayLike<number> | null;
}

/** What a store's records hold besides the pixels. */
export interface RecordMaps {
  labelMaps: boolean;
  instanceMaps: boolean;
  /** Only where true: stores made before feature maps existed have no such field. */
  featureMaps?: true;
  /** The label maps are input pictures, each pixel's levels packed (int32); only where true, as featureMaps. */
  pictureInputs?: true;
}

/** The size records are fitted to. */
export type FittedSize = Pick<ImageFit, 'height' | 'width' | 'channels'>;

/**
 * Which store: its cache folder's kind, the source files of each record, their fitted size, what the records
 * hold, and anything else that decides a record from its files (`variant`: which half of a side-by-side
 * pair is the input).
 */
export interface StoreSpec {
  kind: 'pairs' | 'images';
  files: string[][];
  fit: FittedSize;
  maps: RecordMaps;
  variant?: string;
}

interface StoreHeader extends RecordMaps {
  format: number;
  endianness: string;
  n: number;
  height: number;
  width: number;
  channels: number;
  /** Each record's largest label id (with label maps). */
  maxLabels: number[];
}

interface OpenedStore {
  records: FileRecords;
  path: string;
}

/** A whole store read into memory: the images, and the maps as 16-bit ids (input pictures' packed levels 32-bit). */
export interface StoreContents {
  pixels: Uint8Array;
  labelMaps: Uint16Array | Int32Array | null;
  instanceMaps: Uint16Array | null;
  featureMaps: Int32Array | null;
}

/** Bytes a pixel of a record's label maps take: ids 16-bit, input pictures' packed levels 32-bit. */
const labelBytes = (h: RecordMaps) => (!h.labelMaps ? 0 : h.pictureInputs ? 4 : 2);

/** Label maps for n records of `area` pixels, of the width labelBytes says. */
const labelArray = (h: RecordMaps, length: number) => (h.pictureInputs ? new Int32Array(length) : new Uint16Array(length));

function recordBytes(h: { height: number; width: number; channels: number } & RecordMaps): number {
  return h.height * h.width * ((h.featureMaps ? 4 : 0) + labelBytes(h) + (h.instanceMaps ? 2 : 0) + h.channels);
}

/** A record's parts, as views of its bytes (the int32 features first, where they are aligned). */
function recordParts(record: Uint8Array, h: { height: number; width: number; channels: number } & RecordMaps) {
  const area = h.height * h.width;
  let at = 0;
  const view = <T>(bytes: number, make: (offset: number) => T): T => {
    const part = make(record.byteOffset + at);
    at += bytes * area;
    return part;
  };
  const features = h.featureMaps ? view(4, (o) => new Int32Array(record.buffer, o, area)) : null;
  const labels = !h.labelMaps ? null : h.pictureInputs ? view(4, (o) => new Int32Array(record.buffer, o, area)) : view(2, (o) => new Uint16Array(record.buffer, o, area));
  const instances = h.instanceMaps ? view(2, (o) => new Uint16Array(record.buffer, o, area)) : null;
  return { features, labels, instances, pixels: record.subarray(at, at + area * h.channels) };
}

/** Where a spec's store lives and what its header must say: one stat of every source file, done once a load. */
type Location = ReturnType<typeof locate>;

function locate(spec: StoreSpec) {
  const dir = cacheFolder(spec.kind);
  const { files, maps } = spec;
  // The size alone (an ImageFit may say more): it names the store and its header.
  const fit: FittedSize = { height: spec.fit.height, width: spec.fit.width, channels: spec.fit.channels };
  const key = createHash('sha1').update(JSON.stringify({ format: FORMAT, fit, maps, ...(spec.variant ? { variant: spec.variant } : {}), files: files.map((group) => group.map(fileIdentity)) })).digest('hex').slice(0, 20);
  const wanted = { format: FORMAT, endianness: endianness(), n: files.length, ...fit, ...maps };
  return { spec, dir, path: join(dir, `${key}.bin`), wanted, bytes: files.length * recordBytes(wanted) };
}

/** A source's fitted set: in memory, or in its store's file, read a batch at a time, with a line saying so. */
export type FittedSet = { contents: StoreContents; stored?: undefined; note?: undefined } | { contents?: undefined; stored: StoredRecords; note: string };

/**
 * The set `spec` names, each record decoded and fitted by `read`: in memory where its fitted bytes are within
 * GANTRY_DATA_MEMORY_MB (fittedInMemory), else in a store, built now or by an earlier run. `what` names it in
 * the note ("the 3 pairs of DIR").
 */
export function loadFitted(spec: StoreSpec, read: (i: number) => FittedRecord, what: string, onProgress?: LoadProgress): FittedSet {
  const at = locate(spec);
  const { bytes } = at;
  if (bytes <= dataMemoryLimit()) return { contents: fittedInMemory(at, read, onProgress) };
  const found = findStore(at);
  const store = found ?? build(at, read, onProgress);
  const size = `${formatBytes(bytes)} at ${spec.fit.height}x${spec.fit.width}, more than GANTRY_DATA_MEMORY_MB`;
  const note = found ? `reading ${what} from ${store.path} (${size}), a batch at a time`
    : `fitted ${what} into ${store.path} (${size}); they are read from there a batch at a time, and by later runs on the same data and size`;
  return { stored: store.records, note };
}

/**
 * A set held in memory: read whole from its store where an earlier run kept one, else decoded record by record
 * and, when that took GANTRY_IMAGE_CACHE_SECONDS (10) or more, kept in a store for the next run (best effort:
 * a store that cannot be written is one warning).
 */
function fittedInMemory(at: Location, read: (i: number) => FittedRecord, onProgress?: LoadProgress): StoreContents {
  const { spec } = at;
  const n = spec.files.length;
  const found = findStore(at);
  if (found) {
    const contents = found.records.readAll();
    onProgress?.(n, n);
    return contents;
  }
  const start = performance.now();
  const area = spec.fit.height * spec.fit.width, per = area * spec.fit.channels;
  const contents: StoreContents = {
    pixels: new Uint8Array(n * per),
    labelMaps: spec.maps.labelMaps ? labelArray(spec.maps, n * area) : null,
    instanceMaps: spec.maps.instanceMaps ? new Uint16Array(n * area) : null,
    featureMaps: spec.maps.featureMaps ? new Int32Array(n * area) : null,
  };
  for (let i = 0; i < n; i++) {
    const r = read(i);
    contents.pixels.set(r.pixels, i * per);
    if (contents.labelMaps && r.labels) contents.labelMaps.set(r.labels, i * area);
    if (contents.instanceMaps && r.instances) contents.instanceMaps.set(r.instances, i * area);
    if (contents.featureMaps && r.features) contents.featureMaps.set(r.features, i * area);
    onProgress?.(i + 1, n);
  }
  if (performance.now() - start >= imageCacheSeconds() * 1000) {
    const record = (i: number): FittedRecord => ({
      pixels: contents.pixels.subarray(i * per, (i + 1) * per),
      labels: contents.labelMaps?.subarray(i * area, (i + 1) * area),
      instances: contents.instanceMaps?.subarray(i * area, (i + 1) * area),
      features: contents.featureMaps?.subarray(i * area, (i + 1) * area),
    });
    try {
      build(at, record);
    } catch (err) {
      process.stderr.write(`warning: could not keep the fitted images in ${at.path} (${err instanceof GantryError ? err.message : describeError(err)}); later runs decode them again\n`);
    }
  }
  return contents;
}

/** The finished store of this spec, or null (none yet, another format, cut short). */
function findStore({ path, wanted, bytes }: Location): OpenedStore | null {
  const header = readHeader(path, wanted, bytes);
  return header ? { records: new FileRecords(path, header), path } : null;
}

/** Builds the store of this spec, each record from `read`; the header goes last. */
function build({ spec, dir, path, wanted, bytes }: Location, read: (i: number) => FittedRecord, onProgress?: LoadProgress): OpenedStore {
  prepare(dir, bytes, spec);
  const record = new Uint8Array(recordBytes(wanted));
  const parts = recordParts(record, wanted);
  const maxLabels: number[] = [];
  writeRecords(path, (write) => {
    for (let i = 0; i < spec.files.length; i++) {
      const r = read(i);
      if (parts.labels && r.labels) parts.labels.set(r.labels);
      if (parts.instances && r.instances) parts.instances.set(r.instances);
      if (parts.features && r.features) parts.features.set(r.features);
      parts.pixels.set(r.pixels);
      if (parts.labels) maxLabels.push(largest(parts.labels));
      write(record);
      onProgress?.(i + 1, spec.files.length);
    }
  });
  writeFileAtomic(join(dir, `${basename(path, '.bin')}.json`), JSON.stringify({ ...wanted, maxLabels }));
  return { records: new FileRecords(path, { ...wanted, maxLabels }), path };
}

/** How long decoding a set must take before it is kept: GANTRY_IMAGE_CACHE_SECONDS, default 10. */
function imageCacheSeconds(): number {
  const text = process.env.GANTRY_IMAGE_CACHE_SECONDS;
  if (text === undefined || text === '') return 10;
  const seconds = Number(text);
  if (!Number.isFinite(seconds) || seconds < 0) throw new GantryError(`GANTRY_IMAGE_CACHE_SECONDS is "${text}"; give the seconds of decoding after which a data set is kept fitted in the cache (a number, 0 to always keep it)`);
  return seconds;
}

/** Fitted bytes beyond which a set is kept on disk and read a batch at a time: GANTRY_DATA_MEMORY_MB, default 1024. */
export function dataMemoryLimit(): number {
  const text = process.env.GANTRY_DATA_MEMORY_MB;
  if (text === undefined || text === '') return 1024 * 2 ** 20;
  const mb = Number(text);
  if (!Number.isFinite(mb) || mb < 0) throw new GantryError(`GANTRY_DATA_MEMORY_MB is "${text}"; give the megabytes of fitted images to hold in memory (a number, 0 to always read them from disk)`);
  return mb * 2 ** 20;
}

function largest(ids: Uint16Array | Int32Array): number {
  let max = 0;
  for (let p = 0; p < ids.length; p++) if (ids[p] > max) max = ids[p];
  return max;
}

/** The cache folder made, killed fittings' files removed, and room for `bytes` checked. */
function prepare(dir: string, bytes: number, spec: StoreSpec): void {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (err) {
    throw new GantryError(`cannot make the ${spec.kind} cache folder ${dir} (${describeError(err)}); point GANTRY_CACHE at a folder gantry may write`);
  }
  removeAbandonedTempFiles(dir); // stores whose fitting was killed
  const free = freeBytes(dir);
  if (free !== null && free < bytes) {
    throw new GantryError(`the ${spec.kind === 'pairs' ? 'pairs' : 'images'} fitted to ${spec.fit.height}x${spec.fit.width} take ${formatBytes(bytes)} on disk but ${dir} has ${formatBytes(free)} free; free space there, point GANTRY_CACHE at a larger disk, or train at a smaller size`);
  }
}

/** Writes the records `fill` hands over into path, whole or not at all (a full disk is one clear error). */
function writeRecords(path: string, fill: (write: (record: Uint8Array) => void) => void): void {
  writeFileAtomicFrom(path, (write) =>
    fill((record) => {
      try {
        write(record);
      } catch (err) {
        throw new GantryError(`cannot write the cache ${path} (${describeError(err)}); free space there or point GANTRY_CACHE at another disk`);
      }
    }),
  );
}

/** The header of a finished store of the wanted shape and size, or null (none, another format, cut short). */
function readHeader(path: string, wanted: Omit<StoreHeader, 'maxLabels'>, bytes: number): StoreHeader | null {
  const headerPath = path.replace(/\.bin$/, '.json');
  if (!existsSync(headerPath) || !existsSync(path)) return null;
  try {
    const header = JSON.parse(readFileSync(headerPath, 'utf8')) as StoreHeader;
    const same = (Object.keys(wanted) as (keyof typeof wanted)[]).every((k) => header[k] === wanted[k]);
    const maxLabels = wanted.labelMaps ? wanted.n : 0;
    if (!same || !Array.isArray(header.maxLabels) || header.maxLabels.length !== maxLabels || statSync(path).size !== bytes) return null;
    return header;
  } catch {
    return null;
  }
}

function freeBytes(dir: string): number | null {
  try {
    const s = statfsSync(dir);
    return s.bavail * s.bsize;
  } catch {
    return null;
  }
}

/** A store's records (all, or a selection), read from its file a call at a time. */
class FileRecords implements StoredRecords {
  readonly n: number;
  readonly labelMaps: boolean;
  readonly instanceMaps: boolean;
  readonly featureMaps: boolean;
  readonly pictureInputs: boolean;
  readonly maxLabel: { value: number; at: number };
  private readonly recordBytes: number;

  /** order: the file's record of each of this view's records (null: all, in order). */
  constructor(private readonly path: string, private readonly header: StoreHeader, private readonly order: Int32Array | null = null) {
    this.n = order ? order.length : header.n;
    this.labelMaps = header.labelMaps;
    this.instanceMaps = header.instanceMaps;
    this.featureMaps = header.featureMaps === true;
    this.pictureInputs = header.pictureInputs === true;
    this.recordBytes = recordBytes(header);
    let at = 0;
    if (this.labelMaps) for (let i = 1; i < this.n; i++) if (this.maxLabelOf(i) > this.maxLabelOf(at)) at = i;
    this.maxLabel = { value: this.n && this.labelMaps ? this.maxLabelOf(at) : 0, at };
  }

  private maxLabelOf(i: number): number {
    return this.header.maxLabels[this.order ? this.order[i] : i];
  }

  /** Each record, in this view's order, handed to fn as views of one reused buffer. */
  private each(count: number, fileRecord: (i: number) => number, fn: (i: number, parts: ReturnType<typeof recordParts>) => void): void {
    const record = new Uint8Array(this.recordBytes);
    const parts = recordParts(record, this.header);
    let fd: number;
    try {
      fd = openSync(this.path, 'r');
    } catch (err) {
      throw new GantryError(`cannot read the cache ${this.path} (${describeError(err)}); it was removed while in use: run the command again to make it anew`);
    }
    try {
      for (let i = 0; i < count; i++) {
        const j = fileRecord(i);
        if (!(j >= 0 && j < this.header.n)) throw new Error(`fitted store: record ${j} of ${this.header.n}`);
        const got = readSync(fd, record, 0, record.length, j * record.length);
        if (got !== record.length) throw new GantryError(`the cache ${this.path} is shorter than its header says; remove it and run again`);
        fn(i, parts);
      }
    } finally {
      closeSync(fd);
    }
  }

  read(indices: ArrayLike<number>): ImageRecords {
    const area = this.header.height * this.header.width;
    const per = area * this.header.channels;
    const pixels = new Uint8Array(indices.length * per);
    const labelMaps = this.labelMaps ? new Int32Array(indices.length * area) : undefined;
    const instanceMaps = this.instanceMaps ? new Int32Array(indices.length * area) : undefined;
    const featureMaps = this.featureMaps ? new Int32Array(indices.length * area) : undefined;
    this.each(indices.length, (i) => (this.order ? this.order[indices[i]] : indices[i]), (i, parts) => {
      if (labelMaps && parts.labels) labelMaps.set(parts.labels, i * area);
      if (instanceMaps && parts.instances) instanceMaps.set(parts.instances, i * area);
      if (featureMaps && parts.features) featureMaps.set(parts.features, i * area);
      pixels.set(parts.pixels, i * per);
    });
    return { pixels, labelMaps, instanceMaps, featureMaps };
  }

  /** Every record of this view, the maps kept 16-bit (input pictures 32-bit) as a dataset in memory holds them. */
  readAll(): StoreContents {
    const area = this.header.height * this.header.width;
    const per = area * this.header.channels;
    const pixels = new Uint8Array(this.n * per);
    const labelMaps = this.labelMaps ? labelArray(this.header, this.n * area) : null;
    const instanceMaps = this.instanceMaps ? new Uint16Array(this.n * area) : null;
    const featureMaps = this.featureMaps ? new Int32Array(this.n * area) : null;
    this.each(this.n, (i) => (this.order ? this.order[i] : i), (i, parts) => {
      if (labelMaps && parts.labels) labelMaps.set(parts.labels, i * area);
      if (instanceMaps && parts.instances) instanceMaps.set(parts.instances, i * area);
      if (featureMaps && parts.features) featureMaps.set(parts.features, i * area);
      pixels.set(parts.pixels, i * per);
    });
    return { pixels, labelMaps, instanceMaps, featureMaps };
  }

  select(indices: ArrayLike<number>): StoredRecords {
    return new FileRecords(this.path, this.header, Int32Array.from(indices, (i) => (this.order ? this.order[i] : i)));
  }
}
