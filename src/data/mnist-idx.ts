import { existsSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { GantryError, describeError } from '../errors.ts';
import { requireDataFolder } from './data-folder.ts';
import type { InMemoryDataset } from './dataset.ts';

/** Reads one IDX file (raw or gzip), checking its magic number and that its data is all there. */
export function readIdx(path: string): { dims: number[]; data: Uint8Array } {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    throw new GantryError(`cannot read ${path}: ${describeError(err)}`);
  }
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      bytes = gunzipSync(bytes);
    } catch (err) {
      throw new GantryError(`${path} is a corrupt or truncated gzip file (${describeError(err)}); download it again`);
    }
  }
  if (bytes.length < 4 || bytes[0] !== 0 || bytes[1] !== 0 || bytes[2] !== 0x08) {
    throw new GantryError(`${path} is not an unsigned-byte IDX file (bad magic number); expected MNIST's train-images-idx3-ubyte / train-labels-idx1-ubyte`);
  }
  const rank = bytes[3];
  const headerSize = 4 + 4 * rank;
  if (bytes.length < headerSize) throw new GantryError(`${path} is truncated (its header is incomplete); download it again`);
  const dims: number[] = [];
  for (let i = 0; i < rank; i++) dims.push(bytes.readUInt32BE(4 + 4 * i));
  const count = dims.reduce((a, b) => a * b, 1);
  if (bytes.length < headerSize + count) {
    throw new GantryError(`${path} is truncated: its header promises ${count} bytes of data but only ${bytes.length - headerSize} are there; download it again`);
  }
  return { dims, data: new Uint8Array(bytes.buffer, bytes.byteOffset + headerSize, count) };
}

function findFile(dir: string, stems: string[]): string | null {
  for (const stem of stems) for (const ext of ['', '.gz']) {
    const p = join(dir, stem + ext);
    if (existsSync(p)) return p;
  }
  return null;
}

/** `mnist-idx:DIR`: the classic MNIST files (train set, or t10k if only that is there). */
export function loadMnistIdx(dir: string): InMemoryDataset {
  requireDataFolder('mnist-idx', dir);
  const images = findFile(dir, ['train-images-idx3-ubyte', 'train-images.idx3-ubyte', 't10k-images-idx3-ubyte', 't10k-images.idx3-ubyte']);
  if (!images) throw new GantryError(`mnist-idx: no train-images-idx3-ubyte[.gz] in ${dir}; put the MNIST IDX files there`);
  const prefix = basename(images).startsWith('t10k') ? 't10k' : 'train';
  const labelsFile = findFile(dir, [`${prefix}-labels-idx1-ubyte`, `${prefix}-labels.idx1-ubyte`]);
  const img = readIdx(images);
  if (img.dims.length !== 3) throw new GantryError(`${images} should hold a 3-D array (count, rows, cols) but has ${img.dims.length} dimensions`);
  const [n, h, w] = img.dims;
  let labels: Int32Array | null = null;
  if (labelsFile) {
    const lab = readIdx(labelsFile);
    if (lab.dims.length !== 1 || lab.dims[0] !== n) throw new GantryError(`${labelsFile} holds ${lab.dims.join('x')} labels but ${images} holds ${n} images`);
    labels = Int32Array.from(lab.data);
    const bad = labels.findIndex((l) => l > 9);
    if (bad >= 0) throw new GantryError(`${labelsFile}: label ${bad} is ${labels[bad]}, outside MNIST's digits 0-9; the file is corrupt, download it again`);
  }
  return {
    name: `mnist-idx:${dir}`,
    n, height: h, width: w, channels: 1,
    pixels: new Uint8Array(img.data),
    labels,
    classNames: labels ? ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'] : null,
  };
}
