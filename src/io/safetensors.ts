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

export function encodeSafetensors(tensors: Record<string, NamedArray>, metadata: Record<string, string> = {}): Uint8Array {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const [name, t] of Object.entries(tensors)) {
    const bytes = t.data.byteLength;
    header[name] = { dtype: t.data instanceof Float32Array ? 'F32' : 'I32', shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  // The header is padded with spaces to a multiple of 8 bytes, so the data that follows stays aligned.
  const headerBytes = new Uint8Array(json.length + ((8 - (json.length % 8)) % 8)).fill(0x20);
  headerBytes.set(json);
  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let pos = 8 + headerBytes.length;
  for (const t of Object.values(tensors)) {
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), pos);
    pos += t.data.byteLength;
  }
  return out;
}

export interface SafetensorsFile {
  tensors: Record<string, NamedArray>;
  metadata: Record<string, string>;
}

/** Parses safetensors bytes; `what` names the file in errors ("checkpoint runs/a/checkpoint.safetensors"). */
export function decodeSafetensors(bytes: Uint8Array, what: string): SafetensorsFile {
  const bad = (why: string) => new GantryError(`${what} is truncated or corrupt (${why})`);
  if (bytes.length < 8) throw bad('shorter than its 8-byte header length');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen = Number(view.getBigUint64(0, true));
  if (8 + headerLen > bytes.length) throw bad(`header of ${headerLen} bytes runs past the end of the file`);
  let header: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] } | Record<string, string>>;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLen)));
  } catch (err) {
    throw bad(`header is not JSON: ${describeError(err)}`);
  }
  const dataStart = 8 + headerLen;
  const tensors: Record<string, NamedArray> = {};
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const e = entry as { dtype: string; shape: number[]; data_offsets: [number, number] };
    const Ctor = DTYPES[e.dtype as keyof typeof DTYPES];
    if (!Ctor) throw bad(`tensor ${name} has dtype ${e.dtype}; gantry reads F32 and I32`);
    const [begin, end] = e.data_offsets;
    const count = e.shape.reduce((a, b) => a * b, 1);
    if (end - begin !== count * 4) throw bad(`tensor ${name}: shape ${e.shape.join('x')} does not match its ${end - begin} bytes`);
    if (dataStart + end > bytes.length) throw bad(`tensor ${name} runs past the end of the file`);
    // Copy so the arrays are aligned and independent of the file buffer.
    const copy = new Uint8Array(bytes.subarray(dataStart + begin, dataStart + end)); // Buffer#slice would not copy
    tensors[name] = { shape: e.shape, data: new Ctor(copy.buffer, 0, count) };
  }
  const metadata = (header.__metadata__ ?? {}) as Record<string, string>;
  return { tensors, metadata };
}
