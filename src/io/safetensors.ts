import { GantryError, describeError } from '../errors.ts';

/**
 * The safetensors format (8-byte little-endian header length, a JSON header, raw little-endian data),
 * so checkpoints open in PyTorch with `safetensors.torch.load_file`. float32 and int32 only. Bytes in
 * and out, the same in Node and the browser (files: safetensors-file.ts).
 */
export interface NamedArray {
  shape: number[];
  data: Float32Array | Int32Array;
}

const DTYPES = { F32: Float32Array, I32: Int32Array } as const;

/**
 * A safetensors file as its parts, in order: the 8-byte header length with the header, then each tensor's
 * bytes (views, not copies). A file writer writes them one by one; encodeSafetensors joins them.
 */
export function safetensorsParts(tensors: Record<string, NamedArray>, metadata: Record<string, string> = {}): Uint8Array[] {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const [name, t] of Object.entries(tensors)) {
    const bytes = t.data.byteLength;
    header[name] = { dtype: t.data instanceof Float32Array ? 'F32' : 'I32', shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  // The header is padded with spaces to a multiple of 8 bytes, so the data that follows stays aligned.
  const head = new Uint8Array(8 + json.length + ((8 - (json.length % 8)) % 8)).fill(0x20);
  new DataView(head.buffer).setBigUint64(0, BigInt(head.length - 8), true);
  head.set(json, 8);
  return [head, ...Object.values(tensors).map((t) => new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength))];
}

export function encodeSafetensors(tensors: Record<string, NamedArray>, metadata: Record<string, string> = {}): Uint8Array {
  const parts = safetensorsParts(tensors, metadata);
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let pos = 0;
  for (const p of parts) {
    out.set(p, pos);
    pos += p.length;
  }
  return out;
}

export interface SafetensorsFile {
  tensors: Record<string, NamedArray>;
  metadata: Record<string, string>;
}

/** Where a tensor lies in a safetensors file, from its header (offsets from the file's start). */
export interface SafetensorsEntry {
  name: string;
  shape: number[];
  dtype: keyof typeof DTYPES;
  begin: number;
  end: number;
}

export interface SafetensorsLayout {
  entries: SafetensorsEntry[];
  metadata: Record<string, string>;
}

/** The header's length from a file's first 8 bytes, checked against the file's length. */
export function safetensorsHeaderLength(first8: Uint8Array, fileLength: number, what: string): number {
  if (fileLength < 8 || first8.length < 8) throw corrupt(what, 'shorter than its 8-byte header length');
  const headerLen = Number(new DataView(first8.buffer, first8.byteOffset, 8).getBigUint64(0, true));
  if (8 + headerLen > fileLength) throw corrupt(what, `header of ${headerLen} bytes runs past the end of the file`);
  return headerLen;
}

/** Parses the JSON header (the bytes after the first 8) and checks every tensor against the file's length. */
export function parseSafetensorsHeader(header: Uint8Array, fileLength: number, what: string): SafetensorsLayout {
  let json: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] } | Record<string, string>>;
  try {
    json = JSON.parse(new TextDecoder().decode(header));
  } catch (err) {
    throw corrupt(what, `header is not JSON: ${describeError(err)}`);
  }
  const dataStart = 8 + header.length;
  const entries: SafetensorsEntry[] = [];
  for (const [name, entry] of Object.entries(json)) {
    if (name === '__metadata__') continue;
    const e = entry as { dtype: string; shape: number[]; data_offsets: [number, number] };
    if (!(e.dtype in DTYPES)) throw corrupt(what, `tensor ${name} has dtype ${e.dtype}; gantry reads F32 and I32`, false);
    const [begin, end] = e.data_offsets;
    const count = e.shape.reduce((a, b) => a * b, 1);
    if (end - begin !== count * 4) throw corrupt(what, `tensor ${name}: shape ${e.shape.join('x')} does not match its ${end - begin} bytes`);
    if (dataStart + end > fileLength) throw corrupt(what, `tensor ${name} runs past the end of the file`);
    entries.push({ name, shape: e.shape, dtype: e.dtype as keyof typeof DTYPES, begin: dataStart + begin, end: dataStart + end });
  }
  return { entries, metadata: (json.__metadata__ ?? {}) as Record<string, string> };
}

/** An empty array for a tensor of the layout, of its dtype. */
export function arrayFor(entry: SafetensorsEntry): Float32Array | Int32Array {
  return new DTYPES[entry.dtype]((entry.end - entry.begin) / 4);
}

function corrupt(what: string, why: string, damaged = true): GantryError {
  return new GantryError(damaged ? `${what} is truncated or corrupt (${why})` : `${what}: ${why}`);
}

/**
 * Parses safetensors bytes; `what` names the file in errors ("checkpoint runs/a/checkpoint.safetensors").
 * The arrays are views of `bytes` where aligned: the caller leaves `bytes` as they are.
 */
export function decodeSafetensors(bytes: Uint8Array, what: string): SafetensorsFile {
  const headerLen = safetensorsHeaderLength(bytes.subarray(0, 8), bytes.length, what);
  const layout = parseSafetensorsHeader(bytes.subarray(8, 8 + headerLen), bytes.length, what);
  const tensors: Record<string, NamedArray> = {};
  for (const e of layout.entries) {
    // A view of the file's bytes where the data is aligned for its type (gantry's files always are: the
    // header is padded to 8 bytes), so a page holding a 730 MB generator's file does not hold a copy
    // too; else a copy.
    const at = bytes.byteOffset + e.begin;
    const data = at % 4 === 0 ? new DTYPES[e.dtype](bytes.buffer as ArrayBuffer, at, (e.end - e.begin) / 4) : arrayFor(e);
    if (data.buffer !== bytes.buffer) new Uint8Array(data.buffer).set(bytes.subarray(e.begin, e.end));
    tensors[e.name] = { shape: e.shape, data };
  }
  return { tensors, metadata: layout.metadata };
}
