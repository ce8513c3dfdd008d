import { readFileSync } from 'node:fs';
import { GantryError, describeError } from '../errors.ts';
import { writeFileAtomic } from './atomic.ts';
import { unpickle, type PickleHooks } from './pickle.ts';
import { isZip, readZip, writeZip } from './zip.ts';

/** A NumPy array: little-endian float64 or float32 values in C order. */
export interface NpyArray {
  shape: number[];
  data: Float64Array | Float32Array;
}

const DESCR: Record<string, [Float64ArrayConstructor | Float32ArrayConstructor, number]> = {
  '<f8': [Float64Array, 8],
  '<f4': [Float32Array, 4],
};

/** A .npy file's header: its values' type, shape and order, and where the values start. */
function npyHeader(bytes: Uint8Array, what: string): { descr: string; fortran: boolean; shape: number[]; dataStart: number } {
  if (bytes.length < 10 || bytes[0] !== 0x93 || Buffer.from(bytes.subarray(1, 6)).toString('latin1') !== 'NUMPY') {
    throw new GantryError(`${what} is not a .npy array (bad magic)`);
  }
  const major = bytes[6];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const start = major === 1 ? 10 : 12;
  const header = Buffer.from(bytes.subarray(start, start + headerLen)).toString('latin1');
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1] === 'True';
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (!descr || shapeText === undefined) throw new GantryError(`${what}: unreadable .npy header`);
  return { descr, fortran, shape: shapeText.split(',').map((s) => s.trim()).filter(Boolean).map(Number), dataStart: start + headerLen };
}

/** Parses one .npy file (format versions 1-3). */
export function decodeNpy(bytes: Uint8Array, what: string): NpyArray {
  const { descr, fortran, shape, dataStart } = npyHeader(bytes, what);
  return arrayOf(bytes.subarray(dataStart), descr, shape, fortran, what);
}

/**
 * An array's values from their bytes (those past its count are not read), copied out in C order: the
 * rows of a Fortran-order matrix are transposed. Too few bytes: the file is truncated.
 */
function arrayOf(bytes: Uint8Array, descr: string, shape: number[], fortran: boolean, what: string): NpyArray {
  const spec = DESCR[descr];
  if (!spec) throw new GantryError(`${what} holds ${descr} values; gantry reads float64 (<f8) and float32 (<f4)`);
  const count = shape.reduce((a, b) => a * b, 1);
  if (count * spec[1] > bytes.length) throw new GantryError(`${what} is truncated`);
  const copy = new Uint8Array(bytes.subarray(0, count * spec[1]));
  let data = new spec[0](copy.buffer, 0, count);
  if (fortran && shape.length === 2) data = transpose2d(data, shape[1], shape[0]);
  return { shape, data };
}

/** A file's bytes, or one error naming it. */
function readBytes(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new GantryError(`cannot read ${path}: ${describeError(err)}`);
  }
}

function transpose2d<T extends Float64Array | Float32Array>(a: T, rows: number, cols: number): T {
  const out = new (a.constructor as { new (n: number): T })(a.length);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[j * rows + i] = a[i * cols + j];
  return out;
}

export function encodeNpy(arr: NpyArray): Uint8Array {
  const shape = arr.shape.length === 1 ? `(${arr.shape[0]},)` : `(${arr.shape.join(', ')})`;
  return npyBytes(arr.data instanceof Float64Array ? '<f8' : '<f4', shape, new Uint8Array(arr.data.buffer, arr.data.byteOffset, arr.data.byteLength));
}

/** A .npy file (format 1.0) of values' bytes with their dtype and shape (Python's tuple text). */
function npyBytes(descr: string, shape: string, data: Uint8Array): Uint8Array {
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }`;
  // Pad with spaces so the data starts on a 64-byte boundary, ending in a newline (format 1.0).
  const total = Math.ceil((10 + header.length + 1) / 64) * 64;
  header = header.padEnd(total - 10 - 1, ' ') + '\n';
  const out = new Uint8Array(total + data.byteLength);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0], 0);
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(Buffer.from(header, 'latin1'), 10);
  out.set(data, total);
  return out;
}

/** NumPy's strings: str ('<U', UTF-32) and bytes ('|S'), n characters or bytes, padded with zeros. */
const TEXT_DESCR = /^(?:[<|]U|\|S)(\d+)$/;

/** A 0-d string array's text (a .npy file's values), its padding dropped. */
function textOf(bytes: Uint8Array, descr: string, what: string): string {
  const width = Number(TEXT_DESCR.exec(descr)![1]);
  const unicode = descr.includes('U');
  const length = unicode ? 4 * width : width;
  if (bytes.length < length) throw new GantryError(`${what} is truncated`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, length);
  const chars = unicode ? Array.from({ length: width }, (_, i) => String.fromCodePoint(view.getUint32(4 * i, true))).join('') : Buffer.from(bytes.subarray(0, length)).toString('utf8');
  return chars.replace(/\0+$/, '');
}

/** A 0-d NumPy str array ('<U') of `text`, as np.savez writes one. */
function encodeNpyText(text: string): Uint8Array {
  const points = Array.from(text, (c) => c.codePointAt(0)!);
  const data = new Uint8Array(4 * Math.max(1, points.length));
  const view = new DataView(data.buffer);
  points.forEach((p, i) => view.setUint32(4 * i, p, true));
  return npyBytes(`<U${Math.max(1, points.length)}`, '()', data);
}

/** An .npz archive's entries by name: float arrays, single strings, and the dtype of each other entry. */
export interface NpzContents {
  arrays: Record<string, NpyArray>;
  texts: Record<string, string>;
  /** Entries of other dtypes (integers, arrays of strings, objects), unread: their NumPy dtype (descr). */
  others: Record<string, string>;
}

/**
 * Reads an .npz archive (stored or compressed, as numpy.savez and savez_compressed write): its float arrays,
 * its strings (0-d str or bytes arrays) as texts, and what else it holds by dtype, so that a caller names
 * an entry it needs in a dtype gantry does not read and passes over the rest.
 */
export function readNpz(path: string): NpzContents {
  const bytes = readBytes(path);
  if (!isZip(bytes)) throw new GantryError(`${path} is not an .npz file (not a ZIP archive)`);
  let entries: Map<string, Uint8Array>;
  try {
    entries = readZip(bytes);
  } catch (err) {
    throw new GantryError(`${path} is a damaged .npz file: ${describeError(err)}`);
  }
  const contents: NpzContents = { arrays: {}, texts: {}, others: {} };
  for (const [name, data] of entries) {
    const key = name.replace(/\.npy$/, '');
    const what = `${path}:${name}`;
    const { descr, fortran, shape, dataStart } = npyHeader(data, what);
    if (DESCR[descr]) contents.arrays[key] = arrayOf(data.subarray(dataStart), descr, shape, fortran, what);
    else if (TEXT_DESCR.test(descr) && shape.length === 0) contents.texts[key] = textOf(data.subarray(dataStart), descr, what);
    else contents.others[key] = shape.length === 0 ? descr : `${descr} [${shape.join('x')}]`;
  }
  return contents;
}

/** Writes an .npz archive of float arrays and strings (each a 0-d str array), as np.savez would. */
export function writeNpz(path: string, arrays: Record<string, NpyArray>, texts: Record<string, string> = {}): void {
  const entries = [
    ...Object.entries(arrays).map(([name, arr]) => ({ name: `${name}.npy`, data: encodeNpy(arr) })),
    ...Object.entries(texts).map(([name, text]) => ({ name: `${name}.npy`, data: encodeNpyText(text) })),
  ];
  writeFileAtomic(path, writeZip(entries));
}

/** A NumPy array as a pickle builds it (numpy's _reconstruct, then __setstate__ by BUILD). */
class PickledArray {
  shape: number[] = [];
  descr = '';
  fortran = false;
  /** The values' bytes, or for an object array its Python objects. */
  raw: Uint8Array | unknown[] = [];
}

/** A NumPy dtype as a pickle builds it: its name ('f8', 'O8') and byte order ('<', '|', '>'). */
class PickledDtype {
  order = '|';
  constructor(readonly name: string) {}
}

const pickledArrayHooks: PickleHooks = {
  persistentLoad() {
    throw new Error('a persistent id, which NumPy does not write');
  },
  reduce(fn, args) {
    switch (fn.global) {
      case 'numpy.core.multiarray._reconstruct':
      case 'numpy._core.multiarray._reconstruct':
        return new PickledArray();
      case 'numpy.dtype':
        return new PickledDtype(String(args[0]));
      case '_codecs.encode': // bytes as protocol 2 writes them: a latin-1 string
        return Buffer.from(String(args[0]), 'latin1');
      default:
        throw new Error(`${fn.global}, which gantry does not build (it only reads NumPy arrays, dicts and lists)`);
    }
  },
  build(target, state) {
    if (target instanceof PickledDtype) target.order = String((state as unknown[])[1]);
    else if (target instanceof PickledArray) {
      const [, shape, dtype, fortran, raw] = state as [number, number[], PickledDtype, boolean, Uint8Array | unknown[]];
      target.shape = shape;
      target.fortran = fortran;
      target.raw = raw;
      target.descr = dtype.name.startsWith('O') ? '|O' : `${dtype.order === '|' ? '<' : dtype.order}${dtype.name}`;
    }
  },
};

/** A pickled NumPy array as gantry's: float64 or float32 values, or for a 0-d object array the object it holds. */
function fromPickled(value: unknown, what: string): unknown {
  if (value instanceof Map) return new Map([...value].map(([k, v]) => [k, fromPickled(v, what)]));
  if (Array.isArray(value)) return value.map((v) => fromPickled(v, what));
  if (!(value instanceof PickledArray)) return value;
  if (value.descr === '|O') {
    if (!Array.isArray(value.raw)) throw new GantryError(`${what}: an object array without its objects`);
    if (value.shape.length === 0) return fromPickled(value.raw[0], what);
    return value.raw.map((v) => fromPickled(v, what));
  }
  const bytesPer = DESCR[value.descr]?.[1] ?? 0;
  if (bytesPer && (!(value.raw instanceof Uint8Array) || value.raw.length !== value.shape.reduce((a, b) => a * b, bytesPer))) {
    throw new GantryError(`${what}: an array of ${value.shape.join('x')} ${value.descr} values with ${value.raw.length} bytes (a file from Python 2's NumPy? load it and np.save it again with Python 3)`);
  }
  return arrayOf(value.raw as Uint8Array, value.descr, value.shape, value.fortran, what);
}

/**
 * What a .npy file of a pickled Python object holds (np.save of a dict, as pix2pixHD's encode_features.py
 * writes its clustered features): dicts as Maps, lists as arrays, NumPy arrays as NpyArrays. Only NumPy's
 * own globals are built; the pickle is never run as code.
 */
export function readNpyObject(path: string): unknown {
  const bytes = readBytes(path);
  const { descr, dataStart } = npyHeader(bytes, path);
  if (descr !== '|O') return decodeNpy(bytes, path);
  let value: unknown;
  try {
    value = unpickle(bytes, dataStart, pickledArrayHooks).value; // the object array itself
  } catch (err) {
    throw new GantryError(`${path}: cannot read the Python objects it holds: ${describeError(err)}`);
  }
  return fromPickled(value, path);
}
