import { writeFileAtomicFrom } from './atomic.ts';
import { readFully, withFile } from './file-read.ts';
import { arrayFor, parseSafetensorsHeader, safetensorsHeaderLength, safetensorsParts, type NamedArray, type SafetensorsEntry, type SafetensorsFile, type SafetensorsLayout } from './safetensors.ts';

/**
 * safetensors files (the codec is safetensors.ts), written atomically and read with one error naming the
 * file. Both go a tensor at a time, straight between the file and the tensors' arrays: a checkpoint of
 * pix2pixHD's official network with its Adam moments is 2.3 GB, past what one read or write call takes
 * (2 GiB), and a copy of the whole file in memory would double what a checkpoint costs.
 */

export function writeSafetensors(path: string, tensors: Record<string, NamedArray>, metadata: Record<string, string> = {}): void {
  writeFileAtomicFrom(path, (write) => {
    for (const part of safetensorsParts(tensors, metadata)) write(part);
  });
}

/**
 * Reads every tensor into an array of its own, from `allocate` where given (a checkpoint's weights go
 * into the arrays their tensors will keep); a tensor it gives null for is left unread.
 */
export function readSafetensors(path: string, what = path, allocate: (entry: SafetensorsEntry) => Float32Array | Int32Array | null = arrayFor): SafetensorsFile {
  return withFile(path, what, (fd, length) => {
    const layout = readLayout(fd, length, what);
    const tensors: Record<string, NamedArray> = {};
    for (const e of layout.entries) {
      const data = allocate(e);
      if (!data) continue;
      readFully(fd, new Uint8Array(data.buffer, data.byteOffset, e.end - e.begin), e.begin, what);
      tensors[e.name] = { shape: e.shape, data };
    }
    return { tensors, metadata: layout.metadata };
  });
}

/** A safetensors file's metadata alone (its header), without reading its tensors. */
export function readSafetensorsMetadata(path: string, what = path): Record<string, string> {
  return withFile(path, what, (fd, length) => readLayout(fd, length, what).metadata);
}

function readLayout(fd: number, length: number, what: string): SafetensorsLayout {
  const first8 = new Uint8Array(Math.min(8, length));
  readFully(fd, first8, 0, what);
  const header = new Uint8Array(safetensorsHeaderLength(first8, length, what));
  readFully(fd, header, 8, what);
  return parseSafetensorsHeader(header, length, what);
}
