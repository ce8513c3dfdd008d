import { createHash } from 'node:crypto';
import { GantryError, describeError } from '../errors.ts';
import { unpickle, type PickleGlobal } from './pickle.ts';
import { isZip, readZip } from './zip.ts';
import { readSafetensors } from './safetensors-file.ts';
import { arrayFor } from './safetensors.ts';
import { readFully, withFile } from './file-read.ts';

/** One tensor of a PyTorch state dict, as float32 (integer tensors are converted too). */
export interface TorchTensor {
  shape: number[];
  data: Float32Array;
}

interface StorageRef {
  kind: string;
  key: string;
}

const ELEMENT: Record<string, { size: number; read: (v: DataView, o: number) => number }> = {
  FloatStorage: { size: 4, read: (v, o) => v.getFloat32(o, true) },
  DoubleStorage: { size: 8, read: (v, o) => v.getFloat64(o, true) },
  HalfStorage: { size: 2, read: (v, o) => halfToFloat(v.getUint16(o, true)) },
  LongStorage: { size: 8, read: (v, o) => Number(v.getBigInt64(o, true)) },
  IntStorage: { size: 4, read: (v, o) => v.getInt32(o, true) },
  ByteStorage: { size: 1, read: (v, o) => v.getUint8(o) },
};

function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? Number.NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}

/** Which tensors of a state dict to read (all when absent): a network that uses part of a file (VGG19's features, not its classifier). */
export type KeepTensor = (name: string) => boolean;

/** A state dict from a .safetensors file (as safetensors.torch.save_file writes it); float32 tensors. */
export function readSafetensorsStateDict(path: string, keep?: KeepTensor): Map<string, TorchTensor> {
  const file = readSafetensors(path, `weights ${path}`, (e) => (keep && !keep(e.name) ? null : arrayFor(e)));
  const out = new Map<string, TorchTensor>();
  for (const [name, t] of Object.entries(file.tensors)) out.set(name, { shape: t.shape, data: t.data instanceof Float32Array ? t.data : Float32Array.from(t.data) });
  return out;
}

/** Where the legacy format's pickles are looked for first; a longer head is read where they run past it. */
const LEGACY_HEAD_BYTES = 1 << 20;

/** Values of each tensor hashed at either end by stateDictKey: a changed weight changes whole tensors. */
const KEY_VALUES = 4096;

/**
 * A short key of a state dict's weights, the same whichever format holds them (a .pth and its .safetensors
 * export): each tensor's name, shape and its first and last KEY_VALUES values, in name order. Batch norms'
 * step counters (num_batches_tracked, integers an export may keep or drop) do not count.
 */
export function stateDictKey(state: Map<string, TorchTensor>): string {
  const hash = createHash('sha1');
  for (const name of [...state.keys()].filter((n) => !n.endsWith('num_batches_tracked')).sort()) {
    const { shape, data } = state.get(name)!;
    hash.update(`${name}|${shape.join('x')}|`);
    const ends = data.length <= 2 * KEY_VALUES ? [data] : [data.subarray(0, KEY_VALUES), data.subarray(data.length - KEY_VALUES)];
    for (const part of ends) hash.update(new Uint8Array(part.buffer, part.byteOffset, part.byteLength));
  }
  return hash.digest('hex').slice(0, 12);
}

/** A state dict from a .pth (zip or legacy) or .safetensors file, by the file's content; only the tensors `keep` names, where given. */
export function readStateDict(path: string, keep?: KeepTensor): Map<string, TorchTensor> {
  const head = withFile(path, path, (fd, length) => {
    const bytes = new Uint8Array(Math.min(16, length));
    readFully(fd, bytes, 0, path);
    return bytes;
  });
  // safetensors starts with a little-endian header length and then '{'
  return head.length >= 9 && head[8] === 0x7b ? readSafetensorsStateDict(path, keep) : readTorchStateDict(path, { keep });
}

/**
 * Reads a PyTorch checkpoint holding a state dict (or {state_dict: ...}): the zip format of
 * torch >= 1.6 and the legacy format before it (pytorch-fid's pt_inception-2015-12-05-*.pth).
 * Returns tensors by name (those `keep` names, where given: a legacy file's other storages are not
 * read); nothing in the file is executed. `legacyHeadBytes`: how much of a legacy file is read first for
 * its pickles (tests make it small).
 */
export function readTorchStateDict(path: string, { keep, legacyHeadBytes = LEGACY_HEAD_BYTES }: { keep?: KeepTensor; legacyHeadBytes?: number } = {}): Map<string, TorchTensor> {
  return withFile(path, path, (fd, length) => {
    try {
      const head = new Uint8Array(Math.min(4, length));
      readFully(fd, head, 0, path);
      if (length === 0) throw new GantryError(`${path} is empty; download it again`);
      // The legacy format starts with a pickle (its PROTO opcode); anything else is another kind of file.
      if (!isZip(head) && head[0] !== 0x80) throw new GantryError(`${path} is not a PyTorch checkpoint (it starts with neither a zip archive's header nor a pickle's); check that it is the .pth file meant`);
      if (!isZip(head)) return readLegacyFormat(fd, length, path, legacyHeadBytes, keep);
      const bytes = new Uint8Array(length);
      readFully(fd, bytes, 0, path);
      const all = readZipFormat(bytes);
      return keep ? new Map([...all].filter(([name]) => keep(name))) : all;
    } catch (err) {
      if (err instanceof GantryError) throw err;
      throw new GantryError(`${path} is not a readable PyTorch checkpoint (${describeError(err)}); it may be truncated, download it again`);
    }
  });
}

function makeHooks(storages: (ref: StorageRef) => { bytes: Uint8Array; kind: string }) {
  return {
    persistentLoad(pid: unknown): unknown {
      const t = pid as unknown[];
      if (!Array.isArray(t) || t[0] !== 'storage') throw new Error('unknown persistent id');
      const kind = (t[1] as PickleGlobal).global.split('.').pop()!;
      return { kind, key: String(t[2]) } satisfies StorageRef;
    },
    reduce(fn: PickleGlobal, args: unknown[]): unknown {
      switch (fn.global) {
        case 'collections.OrderedDict':
          return new Map();
        case 'torch._utils._rebuild_tensor_v2':
        case 'torch._utils._rebuild_tensor': {
          const [ref, offset, size, stride] = args as [StorageRef, number, number[], number[]];
          const storage = storages(ref);
          return buildTensor(storage.bytes, storage.kind, offset, size, stride);
        }
        case 'torch._utils._rebuild_parameter':
          return args[0];
        default:
          return { callable: fn.global, args };
      }
    },
  };
}

const LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

/** Whether stride is size's row-major layout (dimensions of size 1 may have any stride). */
function rowMajor(size: number[], stride: number[]): boolean {
  let expected = 1;
  for (let d = size.length - 1; d >= 0; d--) {
    if (size[d] !== 1 && stride[d] !== expected) return false;
    expected *= size[d];
  }
  return true;
}

function buildTensor(bytes: Uint8Array, kind: string, offset: number, size: number[], stride: number[]): TorchTensor {
  const el = ELEMENT[kind];
  if (!el) throw new GantryError(`tensor storage type ${kind} is not supported (float, double, half, long, int, byte are)`);
  const count = size.reduce((a, b) => a * b, 1);
  if (kind === 'FloatStorage' && LITTLE_ENDIAN && rowMajor(size, stride)) {
    // Nearly every weight: float32 in order. A view of the bytes read where aligned (torch aligns a zip
    // archive's records to 64 bytes; a legacy file's storage is read into an array of its own), so NVIDIA's
    // 730 MB generator is neither copied nor read a value at a time.
    const begin = offset * 4;
    if (begin + count * 4 > bytes.length) throw new Error('tensor data runs past its storage (truncated?)');
    const at = bytes.byteOffset + begin;
    if (at % 4 === 0) return { shape: size, data: new Float32Array(bytes.buffer, at, count) };
    const data = new Float32Array(count);
    new Uint8Array(data.buffer).set(bytes.subarray(begin, begin + count * 4));
    return { shape: size, data };
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const data = new Float32Array(count);
  const index = new Array(size.length).fill(0);
  for (let i = 0; i < count; i++) {
    let o = offset;
    for (let d = 0; d < size.length; d++) o += index[d] * stride[d];
    if ((o + 1) * el.size > bytes.length) throw new Error('tensor data runs past its storage (truncated?)');
    data[i] = el.read(view, o * el.size);
    for (let d = size.length - 1; d >= 0; d--) {
      if (++index[d] < size[d]) break;
      index[d] = 0;
    }
  }
  return { shape: size, data };
}

function toStateDict(value: unknown): Map<string, TorchTensor> {
  let v = value;
  if (v instanceof Map && v.has('state_dict')) v = v.get('state_dict');
  if (!(v instanceof Map)) throw new GantryError('the checkpoint does not hold a state dict');
  const out = new Map<string, TorchTensor>();
  for (const [k, t] of v) if (t && typeof t === 'object' && 'data' in (t as object)) out.set(String(k), t as TorchTensor);
  return out;
}

function readZipFormat(bytes: Uint8Array): Map<string, TorchTensor> {
  const entries = readZip(bytes);
  const pkl = [...entries.keys()].find((n) => n.endsWith('/data.pkl') || n === 'data.pkl');
  if (!pkl) throw new Error('no data.pkl in the archive');
  const prefix = pkl.slice(0, -'data.pkl'.length);
  const hooks = makeHooks((ref) => {
    const data = entries.get(`${prefix}data/${ref.key}`);
    if (!data) throw new Error(`storage ${ref.key} missing from the archive`);
    return { bytes: data, kind: ref.kind };
  });
  return toStateDict(unpickle(entries.get(pkl)!, 0, hooks).value);
}

/**
 * The legacy format: five pickles (magic number, protocol, system info, the state dict with its tensors'
 * storage references, the storages' keys), then each storage's element count and bytes. The pickles are
 * read from the file's head; each storage is read straight into an array of its own, which its float32
 * tensors view, so NVIDIA's 730 MB generator is held once, not as the file and then its tensors.
 */
function readLegacyFormat(fd: number, length: number, path: string, firstHeadBytes: number, keep?: KeepTensor): Map<string, TorchTensor> {
  for (let headBytes = Math.min(Math.max(1, firstHeadBytes), length); ; headBytes = Math.min(2 * headBytes, length)) {
    const head = new Uint8Array(headBytes);
    readFully(fd, head, 0, path);
    let pickles: ReturnType<typeof legacyPickles>;
    try {
      pickles = legacyPickles(head);
    } catch (err) {
      // A pickle that runs past the head fails to parse; so does a damaged one, once the head is the whole file.
      if (headBytes < length) continue;
      throw err;
    }
    return legacyStorages(fd, length, path, pickles, keep);
  }
}

/** The legacy format's pickles: the state dict (its tensors still empty), the tensors to fill, the storages' keys and where their data starts. */
function legacyPickles(bytes: Uint8Array) {
  const noHooks = makeHooks(() => { throw new Error('storage before the main object'); });
  let p = 0;
  const magic = unpickle(bytes, p, noHooks);
  if (typeof magic.value !== 'number') throw new Error('not a PyTorch file (no magic number)');
  p = magic.end;
  p = unpickle(bytes, p, noHooks).end; // protocol version
  p = unpickle(bytes, p, noHooks).end; // sys info
  // The main object refers to storages whose data follows it: fill the tensors in after reading them.
  const tensors: { target: TorchTensor; ref: StorageRef; offset: number; size: number[]; stride: number[] }[] = [];
  const hooks = {
    persistentLoad: makeHooks(() => ({ bytes: new Uint8Array(), kind: '' })).persistentLoad,
    reduce(fn: PickleGlobal, args: unknown[]): unknown {
      if (fn.global === 'torch._utils._rebuild_tensor_v2' || fn.global === 'torch._utils._rebuild_tensor') {
        const [ref, offset, size, stride] = args as [StorageRef, number, number[], number[]];
        const target: TorchTensor = { shape: size, data: new Float32Array(0) };
        tensors.push({ target, ref, offset, size, stride });
        return target;
      }
      return makeHooks(() => ({ bytes: new Uint8Array(), kind: '' })).reduce(fn, args);
    },
  };
  const main = unpickle(bytes, p, hooks);
  const keys = unpickle(bytes, main.end, noHooks);
  if (!Array.isArray(keys.value)) throw new Error('no list of storage keys');
  return { main: main.value, tensors, keys: keys.value.map(String), dataStart: keys.end };
}

function legacyStorages(fd: number, length: number, path: string, { main, tensors, keys, dataStart }: ReturnType<typeof legacyPickles>, keep?: KeepTensor): Map<string, TorchTensor> {
  // The state dict's tensors are still empty here: its names say which to fill, and so which storages to read.
  const stateDict = toStateDict(main);
  const kept = keep ? new Map([...stateDict].filter(([name]) => keep(name))) : stateDict;
  const targets = new Set(kept.values());
  const wanted = tensors.filter((t) => targets.has(t.target));
  const storageBytes = new Map<string, Uint8Array>();
  // Every storage's kind sizes its bytes, read or passed over.
  const kindOf = new Map(tensors.map((t) => [t.ref.key, t.ref.kind]));
  const read = new Set(wanted.map((t) => t.ref.key));
  const count = new Uint8Array(8);
  let p = dataStart;
  for (const key of keys) {
    if (p + 8 > length) throw new Error('storage data truncated');
    readFully(fd, count, p, path);
    const numel = Number(new DataView(count.buffer).getBigInt64(0, true));
    p += 8;
    const el = ELEMENT[kindOf.get(key) ?? 'FloatStorage'];
    const n = numel * (el?.size ?? 4);
    if (!(n >= 0) || p + n > length) throw new Error('storage data truncated');
    if (read.has(key)) {
      const bytes = new Uint8Array(n);
      readFully(fd, bytes, p, path);
      storageBytes.set(key, bytes);
    }
    p += n;
  }
  for (const t of wanted) {
    const b = storageBytes.get(t.ref.key);
    if (!b) throw new Error(`storage ${t.ref.key} missing`);
    t.target.data = buildTensor(b, t.ref.kind, t.offset, t.size, t.stride).data;
  }
  return kept;
}
