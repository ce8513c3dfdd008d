import { readFileSync } from 'node:fs';
import { GantryError, describeError } from '../errors.ts';
import { writeFileAtomic } from './atomic.ts';
import { decodeSafetensors, encodeSafetensors, type NamedArray, type SafetensorsFile } from './safetensors.ts';

/** safetensors files (the codec is safetensors.ts): written atomically, read with one error naming the file. */

export function writeSafetensors(path: string, tensors: Record<string, NamedArray>, metadata: Record<string, string> = {}): void {
  writeFileAtomic(path, encodeSafetensors(tensors, metadata));
}

export function readSafetensors(path: string, what = path): SafetensorsFile {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    throw new GantryError(`cannot read ${what}: ${describeError(err)}`);
  }
  return decodeSafetensors(bytes, what);
}
