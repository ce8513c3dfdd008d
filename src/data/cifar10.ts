import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { GantryError, describeError } from '../errors.ts';
import { requireDataFolder } from './data-folder.ts';
import type { InMemoryDataset } from './dataset.ts';

export const CIFAR10_CLASSES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];
const RECORD = 1 + 32 * 32 * 3;

const RECORDS_PER_BATCH = 10_000;

/**
 * Reads one CIFAR-10 binary batch: records of <1-byte label><1024 R><1024 G><1024 B>, planes row-major.
 * Returns HWC pixels.
 */
export function readCifar10Batch(path: string): { pixels: Uint8Array; labels: Int32Array } {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    throw new GantryError(`cannot read ${path}: ${describeError(err)}`);
  }
  if (bytes.length === 0 || bytes.length % RECORD !== 0) {
    throw new GantryError(`${path} is truncated or not a CIFAR-10 binary batch (${bytes.length} bytes is not a whole number of ${RECORD}-byte records); download cifar-10-binary.tar.gz again`);
  }
  const n = bytes.length / RECORD;
  // The release's batches hold 10,000 records each: a file cut exactly between records is still shorter.
  if (n !== RECORDS_PER_BATCH) process.stderr.write(`warning: ${path} holds ${n} records; CIFAR-10's batches hold ${RECORDS_PER_BATCH}, so it may be cut short (download cifar-10-binary.tar.gz again unless you made it so)\n`);
  const pixels = new Uint8Array(n * 3072);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const rec = i * RECORD;
    const label = bytes[rec];
    if (label > 9) throw new GantryError(`${path}: record ${i} has label ${label}, outside 0-9; the file is corrupt`);
    labels[i] = label;
    for (let p = 0; p < 1024; p++) {
      const d = (i * 1024 + p) * 3;
      pixels[d] = bytes[rec + 1 + p];
      pixels[d + 1] = bytes[rec + 1 + 1024 + p];
      pixels[d + 2] = bytes[rec + 1 + 2048 + p];
    }
  }
  return { pixels, labels };
}

/** `cifar10:DIR`: the training batches (data_batch_*.bin), or test_batch.bin if only that is there. */
export function loadCifar10(dir: string): InMemoryDataset {
  requireDataFolder('cifar10', dir);
  const names = readdirSync(dir);
  let files = names.filter((f) => /^data_batch_\d+\.bin$/.test(f)).sort();
  if (files.length === 0) files = names.filter((f) => f === 'test_batch.bin');
  if (files.length === 0) throw new GantryError(`cifar10: no data_batch_*.bin in ${dir}; unpack cifar-10-binary.tar.gz (the binary version) there`);
  const parts = files.map((f) => readCifar10Batch(join(dir, f)));
  const n = parts.reduce((s, p) => s + p.labels.length, 0);
  const pixels = new Uint8Array(n * 3072);
  const labels = new Int32Array(n);
  let at = 0;
  for (const part of parts) {
    pixels.set(part.pixels, at * 3072);
    labels.set(part.labels, at);
    at += part.labels.length;
  }
  return { name: `cifar10:${dir}`, n, height: 32, width: 32, channels: 3, pixels, labels, classNames: CIFAR10_CLASSES };
}
