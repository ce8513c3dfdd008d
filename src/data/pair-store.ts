import { createHash } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, readSync, renameSync, rmSync, statSync, statfsSync, writeSync } from 'node:fs';
import { endianness } from 'node:os';
import { join } from 'node:path';
import { GantryError, describeError } from '../errors.ts';
import { removeAbandonedTempFiles, writeFileAtomic } from '../io/atomic.ts';
import { cacheFolder, fileIdentity } from '../io/cache-dir.ts';
import type { ImageRecords, StoredRecords } from './dataset.ts';
import type { LoadProgress } from './folder.ts';
import type { ImageFit } from './transform.ts';

/**
 * Label-map pairs too large for memory (Cityscapes at 512x1024 is 11 GB fitted): each pair is decoded and
 * fitted once into a file of fixed-size records in cacheFolder('pairs'), then read a batch at a time. The
 * file's name is a hash of the pairs' paths, sizes and times and of the size they are fitted to, so a
 * second run on the same data reads it without decoding a PNG, and a changed file makes a new one.
 * A record is the label ids (uint16), the instance ids (uint16, where there are instance maps), then the
 * 8-bit pixels (HWC); the header (`.json`) is written last, so a file without one was never finished.
 */
const FORMAT = 1;

/** One fitted pair as a source decodes it. */
export interface PairRecord {
  pixels: Uint8Array;
  labels: ArrayLike<number>;
  instances: ArrayLike<number> | null;
}

interface StoreHeader {
  format: number;
  endianness: string;
  n: number;
  height: number;
  width: number;
  channels: number;
  instances: boolean;
  /** Each record's largest label id. */
  maxLabels: number[];
}

export interface OpenedPairStore {
  records: StoredRecords;
  path: string;
  /** Whether this call decoded the pairs (false: an earlier run's file was read). */
  built: boolean;
  bytes: number;
}

function recordBytes(h: { height: number; width: number; channels: number; instances: boolean }): number {
  return h.height * h.width * (2 + (h.instances ? 2 : 0) + h.channels);
}

/** The store of these files fitted to `fit`: the cached one, or one built now by decoding each pair with `read`. */
export function openPairStore(files: string[][], fit: Required<ImageFit>, instances: boolean, read: (i: number) => PairRecord, onProgress?: LoadProgress): OpenedPairStore {
  const dir = cacheFolder('pairs');
  const key = createHash('sha1').update(JSON.stringify({ format: FORMAT, fit, instances, files: files.map((group) => group.map(fileIdentity)) })).digest('hex').slice(0, 20);
  const path = join(dir, `${key}.bin`);
  const wanted = { format: FORMAT, endianness: endianness(), n: files.length, ...fit, instances };
  const bytes = files.length * recordBytes(wanted);
  const cached = readHeader(path, wanted, bytes);
  if (cached) return { records: new FileRecords(path, cached), path, built: false, bytes };

  try {
    mkdirSync(dir, { recursive: true });
  } catch (err) {
    throw new GantryError(`cannot make the pairs cache folder ${dir} (${describeError(err)}); point GANTRY_CACHE at a folder gantry may write`);
  }
  removeAbandonedTempFiles(dir); // stores whose fitting was killed
  const free = freeBytes(dir);
  if (free !== null && free < bytes) {
    throw new GantryError(`the pairs fitted to ${fit.height}x${fit.width} take ${formatBytes(bytes)} on disk but ${dir} has ${formatBytes(free)} free; free space there, point GANTRY_CACHE at a larger disk, or train at a smaller size`);
  }
  const tmp = `${path}.tmp-${process.pid}`;
  const maxLabels: number[] = [];
  try {
    const fd = openSync(tmp, 'w');
    try {
      const record = new Uint8Array(recordBytes(wanted));
      const area = fit.height * fit.width;
      const labels = new Uint16Array(record.buffer, 0, area);
      const instanceIds = instances ? new Uint16Array(record.buffer, 2 * area, area) : null;
      const pixelsAt = (instances ? 4 : 2) * area;
      for (let i = 0; i < files.length; i++) {
        const pair = read(i);
        labels.set(pair.labels);
        if (instanceIds && pair.instances) instanceIds.set(pair.instances);
        record.set(pair.pixels, pixelsAt);
        let max = 0;
        for (let p = 0; p < area; p++) if (labels[p] > max) max = labels[p];
        maxLabels.push(max);
        writeAll(fd, record, tmp);
        onProgress?.(i + 1, files.length);
      }
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
    writeFileAtomic(join(dir, `${key}.json`), JSON.stringify({ ...wanted, maxLabels }));
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
  return { records: new FileRecords(path, { ...wanted, maxLabels }), path, built: true, bytes };
}

/** The header of a finished store of the wanted shape and size, or null (none, another format, cut short). */
function readHeader(path: string, wanted: Omit<StoreHeader, 'maxLabels'>, bytes: number): StoreHeader | null {
  const headerPath = path.replace(/\.bin$/, '.json');
  if (!existsSync(headerPath) || !existsSync(path)) return null;
  try {
    const header = JSON.parse(readFileSync(headerPath, 'utf8')) as StoreHeader;
    const same = (Object.keys(wanted) as (keyof typeof wanted)[]).every((k) => header[k] === wanted[k]);
    if (!same || !Array.isArray(header.maxLabels) || header.maxLabels.length !== wanted.n || statSync(path).size !== bytes) return null;
    return header;
  } catch {
    return null;
  }
}

function writeAll(fd: number, bytes: Uint8Array, path: string): void {
  try {
    for (let off = 0; off < bytes.length;) off += writeSync(fd, bytes, off, bytes.length - off);
  } catch (err) {
    throw new GantryError(`cannot write the pairs cache ${path} (${describeError(err)}); free space there or point GANTRY_CACHE at another disk`);
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

/** Bytes for a message: "10.9 GB", "43 MB", "12 kB". */
export function formatBytes(bytes: number): string {
  if (bytes >= 1e9) return `${(bytes / 1e9).toFixed(1)} GB`;
  return bytes >= 1e6 ? `${Math.round(bytes / 1e6)} MB` : `${Math.ceil(bytes / 1e3)} kB`;
}

/** A store's records (all, or a selection), read from its file a call at a time. */
class FileRecords implements StoredRecords {
  readonly n: number;
  readonly labelMaps = true;
  readonly instanceMaps: boolean;
  readonly maxLabel: { value: number; at: number };
  private readonly recordBytes: number;

  /** order: the file's record of each of this view's records (null: all, in order). */
  constructor(private readonly path: string, private readonly header: StoreHeader, private readonly order: Int32Array | null = null) {
    this.n = order ? order.length : header.n;
    this.instanceMaps = header.instances;
    this.recordBytes = recordBytes(header);
    let at = 0;
    for (let i = 1; i < this.n; i++) if (this.maxLabelOf(i) > this.maxLabelOf(at)) at = i;
    this.maxLabel = { value: this.n ? this.maxLabelOf(at) : 0, at };
  }

  private maxLabelOf(i: number): number {
    return this.header.maxLabels[this.order ? this.order[i] : i];
  }

  read(indices: ArrayLike<number>): ImageRecords {
    const { height, width, channels } = this.header;
    const area = height * width;
    const per = area * channels;
    const pixels = new Uint8Array(indices.length * per);
    const labelMaps = new Int32Array(indices.length * area);
    const instanceMaps = this.instanceMaps ? new Int32Array(indices.length * area) : undefined;
    const record = new Uint8Array(this.recordBytes);
    const labels = new Uint16Array(record.buffer, 0, area);
    const instances = this.instanceMaps ? new Uint16Array(record.buffer, 2 * area, area) : null;
    const pixelsAt = (this.instanceMaps ? 4 : 2) * area;
    let fd: number;
    try {
      fd = openSync(this.path, 'r');
    } catch (err) {
      throw new GantryError(`cannot read the pairs cache ${this.path} (${describeError(err)}); it was removed while in use: run the command again to make it anew`);
    }
    try {
      for (let i = 0; i < indices.length; i++) {
        const j = this.order ? this.order[indices[i]] : indices[i];
        if (!(j >= 0 && j < this.header.n)) throw new Error(`pair store: record ${indices[i]} of ${this.n}`);
        const got = readSync(fd, record, 0, record.length, j * record.length);
        if (got !== record.length) throw new GantryError(`the pairs cache ${this.path} is shorter than its header says; remove it and run again`);
        labelMaps.set(labels, i * area);
        if (instanceMaps && instances) instanceMaps.set(instances, i * area);
        pixels.set(record.subarray(pixelsAt, pixelsAt + per), i * per);
      }
    } finally {
      closeSync(fd);
    }
    return { pixels, labelMaps, instanceMaps };
  }

  select(indices: ArrayLike<number>): StoredRecords {
    return new FileRecords(this.path, this.header, Int32Array.from(indices, (i) => (this.order ? this.order[i] : i)));
  }
}
