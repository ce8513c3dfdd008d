import { readFileSync } from 'node:fs';
import { GantryError, describeError } from '../errors.ts';
import { writeFileAtomic } from './atomic.ts';
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

/** Parses one .npy file (format versions 1-3). */
export function decodeNpy(bytes: Uint8Array, what: string): NpyArray {
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
  const spec = DESCR[descr];
  if (!spec) throw new GantryError(`${what} holds ${descr} values; gantry reads float64 (<f8) and float32 (<f4)`);
  const shape = shapeText.split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  const count = shape.reduce((a, b) => a * b, 1);
  const dataStart = start + headerLen;
  if (dataStart + count * spec[1] > bytes.length) throw new GantryError(`${what} is truncated`);
  const copy = new Uint8Array(bytes.subarray(dataStart, dataStart + count * spec[1]));
  let data = new spec[0](copy.buffer, 0, count);
  if (fortran && shape.length === 2) data = transpose2d(data, shape[1], shape[0]);
  return { shape, data };
}

function transpose2d<T extends Float64Array | Float32Array>(a: T, rows: number, cols: number): T {
  const out = new (a.constructor as { new (n: number): T })(a.length);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[j * rows + i] = a[i * cols + j];
  return out;
}

export function encodeNpy(arr: NpyArray): Uint8Array {
  const descr = arr.data instanceof Float64Array ? '<f8' : '<f4';
  const shape = arr.shape.length === 1 ? `(${arr.shape[0]},)` : `(${arr.shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }`;
  // Pad with spaces so the data starts on a 64-byte boundary, ending in a newline (format 1.0).
  const total = Math.ceil((10 + header.length + 1) / 64) * 64;
  header = header.padEnd(total - 10 - 1, ' ') + '\n';
  const out = new Uint8Array(total + arr.data.byteLength);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0], 0);
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(Buffer.from(header, 'latin1'), 10);
  out.set(new Uint8Array(arr.data.buffer, arr.data.byteOffset, arr.data.byteLength), total);
  return out;
}

/** Reads an .npz archive (stored or compressed, as numpy.savez and savez_compressed write). */
export function readNpz(path: string): Record<string, NpyArray> {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    throw new GantryError(`cannot read ${path}: ${describeError(err)}`);
  }
  if (!isZip(bytes)) throw new GantryError(`${path} is not an .npz file (not a ZIP archive)`);
  let entries: Map<string, Uint8Array>;
  try {
    entries = readZip(bytes);
  } catch (err) {
    throw new GantryError(`${path} is a damaged .npz file: ${describeError(err)}`);
  }
  const out: Record<string, NpyArray> = {};
  for (const [name, data] of entries) out[name.replace(/\.npy$/, '')] = decodeNpy(data, `${path}:${name}`);
  return out;
}

export function writeNpz(path: string, arrays: Record<string, NpyArray>): void {
  writeFileAtomic(path, writeZip(Object.entries(arrays).map(([name, arr]) => ({ name: `${name}.npy`, data: encodeNpy(arr) }))));
}
