import * as tf from '@tensorflow/tfjs-core';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { ensureMemoryFor } from '../../engine/memory.ts';

/**
 * Output arrays for gantry's cpu kernels, recycled once no tensor holds them. A training step makes
 * hundreds of outputs (pix2pixHD's small step, >64 MB of them): as fresh ArrayBuffers they are external
 * memory to V8, which starts a full mark-compact each time 64 MB more has been allocated (every step),
 * and each fresh array costs page faults. Recycled, the same arrays serve step after step.
 *
 * An array goes back to the pool only when (a) the pool made it, (b) no tensor of the backend holds it or
 * a view of it (tfjs's contiguous slices are subarray views), counted over the backend's write, move and
 * disposeData, and (c) nothing outside a kernel has been handed it: readSync (so dataSync(), data(),
 * arraySync(), bufferSync) marks it escaped for good, since the caller may keep it.
 * Arrays come back zeroed, like `new Float32Array(n)`. Free arrays are held up to the most bytes of pooled
 * arrays that tensors have held at once (what a step needs, so that steady steps allocate nothing: DF-GAN's
 * batch-16 step holds ~500 MB at its peak); the oldest go first to make room. No fixed cap beside that:
 * an array let go in the middle of a step is garbage that V8 frees only after a collection and a turn of
 * the event loop, so the process holds it all the same, and the next step pays page faults for its
 * replacement.
 * A fresh array is checked against the memory left first (engine/memory.ts): an OutOfMemoryError, not a kill.
 */
const made = new WeakSet<ArrayBuffer>();
const escaped = new WeakSet<ArrayBuffer>();
/** Tensor data entries holding each pooled buffer (or a view of it). */
const holders = new WeakMap<ArrayBuffer, number>();
const free = new Map<number, Float32Array[]>();
/** The free arrays, oldest first: the first to go when a newer one needs the room. */
const freeOrder = new Set<Float32Array>();
let freeBytes = 0;
/** Bytes of pooled arrays held by tensors now, and the most at any time. */
let heldBytes = 0;
let peakHeldBytes = 0;
const hooked = new WeakSet<MathBackendCPU>();

interface TensorData {
  values?: unknown;
}

function pooledBuffer(values: unknown): ArrayBuffer | null {
  if (!(values instanceof Float32Array)) return null;
  const buffer = values.buffer as ArrayBuffer;
  return made.has(buffer) ? buffer : null;
}

function held(values: unknown): void {
  const buffer = pooledBuffer(values);
  if (!buffer) return;
  const count = holders.get(buffer) ?? 0;
  holders.set(buffer, count + 1);
  if (count === 0) {
    heldBytes += buffer.byteLength;
    peakHeldBytes = Math.max(peakHeldBytes, heldBytes);
  }
}

function released(values: unknown): void {
  const buffer = pooledBuffer(values);
  if (!buffer) return;
  const left = (holders.get(buffer) ?? 1) - 1;
  holders.set(buffer, left);
  if (left > 0) return;
  heldBytes -= buffer.byteLength;
  const bound = peakHeldBytes;
  if (escaped.has(buffer) || buffer.byteLength > bound) return;
  while (freeBytes + buffer.byteLength > bound) evictOldest();
  const length = buffer.byteLength / 4;
  const list = free.get(length) ?? [];
  const array = new Float32Array(buffer);
  list.push(array);
  free.set(length, list);
  freeOrder.add(array);
  freeBytes += buffer.byteLength;
}

function evictOldest(): void {
  const oldest = freeOrder.values().next().value as Float32Array;
  freeOrder.delete(oldest);
  const list = free.get(oldest.length)!;
  list.splice(list.indexOf(oldest), 1);
  freeBytes -= oldest.byteLength;
}

/** Watches a backend's tensor data so that arrays come back to the pool when their last tensor goes. */
function hook(backend: MathBackendCPU): void {
  if (hooked.has(backend)) return;
  hooked.add(backend);
  const data = (dataId: object) => (backend.data.has(dataId) ? backend.data.get(dataId) as TensorData : null);
  const write = backend.write.bind(backend);
  backend.write = (values, shape, dtype) => {
    held(values);
    return write(values, shape, dtype);
  };
  const move = backend.move.bind(backend);
  backend.move = (dataId, values, shape, dtype, refCount) => {
    const before = data(dataId);
    if (before) released(before.values);
    held(values);
    move(dataId, values, shape, dtype, refCount);
  };
  const disposeData = backend.disposeData.bind(backend);
  backend.disposeData = (dataId, force) => {
    const values = data(dataId)?.values;
    const gone = disposeData(dataId, force);
    if (gone && values !== undefined && !backend.data.has(dataId)) released(values);
    return gone;
  };
  const readSync = backend.readSync.bind(backend);
  backend.readSync = (dataId) => {
    const buffer = pooledBuffer(data(dataId)?.values);
    if (buffer) escaped.add(buffer);
    return readSync(dataId);
  };
}

/** A zeroed float32 array of length n for a kernel's output on this backend: a recycled one where there is one. */
export function outputFloats(backend: MathBackendCPU, n: number): Float32Array {
  return take(backend, n, true);
}

/**
 * A zeroed float32 array of length n for values computed in JavaScript and then made a tensor that alone
 * holds it (tf.tensor(values)): weights as they are first drawn. On the cpu backend it is the pool's, so
 * gantry's kernels may later write it in place (Adam from its first update on, rather than leaving a whole
 * copy of the weights for the garbage collector); elsewhere a plain array, which the backend copies.
 */
export function floatsForTensor(n: number): Float32Array {
  return tf.getBackend() === 'cpu' ? take(tf.backend() as MathBackendCPU, n, true) : new Float32Array(n);
}

/**
 * outputFloats for a kernel that writes every element: a recycled array comes back with its old values
 * rather than zeroed (a step's outputs are hundreds of MB; zeroing them all cost 4-6% of DF-GAN's step).
 */
export function overwrittenFloats(backend: MathBackendCPU, n: number): Float32Array {
  return take(backend, n, false);
}

function take(backend: MathBackendCPU, n: number, zeroed: boolean): Float32Array {
  hook(backend);
  const recycled = free.get(n)?.pop();
  if (recycled) {
    freeOrder.delete(recycled);
    freeBytes -= recycled.byteLength;
    return zeroed ? recycled.fill(0) : recycled;
  }
  ensureMemoryFor(n * 4);
  const fresh = new Float32Array(n);
  made.add(fresh.buffer as ArrayBuffer);
  return fresh;
}

/**
 * A tensor's array that may be overwritten in place, or null: a whole array the pool made, held by one
 * tensor alone (one tensor on its data, no other data entry on a view of it) and never handed outside a
 * kernel. Adam's moments and parameters are such arrays from their second update on: written in place,
 * a large generator's update touches no new memory (fresh arrays cost a page fault per 4 KB).
 */
export function ownedFloats(backend: MathBackendCPU, dataId: object): Float32Array | null {
  if (!backend.data.has(dataId)) return null;
  const entry = backend.data.get(dataId) as TensorData & { refCount: number };
  const buffer = pooledBuffer(entry.values);
  if (!buffer || escaped.has(buffer) || holders.get(buffer) !== 1 || entry.refCount !== 1) return null;
  const values = entry.values as Float32Array;
  return values.byteOffset === 0 && values.byteLength === buffer.byteLength ? values : null;
}

/** How many bytes of free arrays the pool holds (tests). */
export function pooledFreeBytes(): number {
  return freeBytes;
}

/** Bytes of pooled arrays tensors hold now (bench/memory-step.ts). */
export function pooledHeldBytes(): number {
  return heldBytes;
}

/** The most bytes of pooled arrays tensors have held at once: the free arrays' bound (tests). */
export function peakPooledHeldBytes(): number {
  return peakHeldBytes;
}
