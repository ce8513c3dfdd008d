/// <reference types="@webgpu/types" />
import * as tf from '@tensorflow/tfjs-core';
import { GantryError } from '../errors.ts';

/**
 * A WebGPU device whose failures are errors where gantry can act on them, not lines in a log.
 *
 * WebGPU reports a tensor bound past the device's limit, a buffer past its size limit, running out of GPU
 * memory and a lost device as an event (Dawn prints it; a browser logs it) and goes on with an invalid
 * object: the op's output stays zero and a training step or a draw carries on with wrong numbers, to be
 * logged, checkpointed or shown. So, once guarded:
 * - a tensor, binding or buffer past the device's limits throws a GpuLimitError where it is made, before
 *   the op allocates or queues anything for it (inPassesThatFit splits a draw that meets one);
 * - any other error the device reports (out of memory, a lost device) is thrown by the next read of a
 *   result from it (throwDeviceErrors: tfjs's reads of tensors, and GpuContext's), before those numbers are used.
 */

/** Work too large for this GPU at once: `summary` says what did not fit, the message adds what to do. */
export class GpuLimitError extends GantryError {
  constructor(readonly summary: string, remedy: string) {
    super(`${summary}; ${remedy}`);
    this.name = 'GpuLimitError';
  }
}

const STORAGE = 0x80;

interface Guarded {
  /** What the user can do about a size past the limits, in their words (a flag, or a page's option). */
  remedy: string;
  /** Errors the device reported since the last read, oldest first. */
  errors: { text: string; outOfMemory: boolean }[];
}

const guarded = new WeakMap<GPUDevice, Guarded>();

/** A size in MiB, rounded up: a tensor past a limit never reads as the limit. */
const mib = (bytes: number) => `${Math.ceil(bytes / 2 ** 20)} MiB`;
/** A device limit in MiB, rounded down (4 GiB less a byte is 4095 MiB). */
export const limitMiB = (bytes: number) => `${Math.floor(bytes / 2 ** 20)} MiB`;
const remedyFor = (device: GPUDevice) => guarded.get(device)?.remedy ?? 'use a smaller batch or image size';

/**
 * Throws if `bytes` of one storage buffer cannot be bound on `device`; `what` names the tensor, kernel or
 * buffer for the message (made only then: this runs for every op).
 */
export function checkStorageBinding(device: GPUDevice, bytes: number, what: () => string): void {
  const limit = device.limits.maxStorageBufferBindingSize;
  if (bytes <= limit) return;
  throw new GpuLimitError(`WebGPU: ${what()} needs ${mib(bytes)} in one binding, more than this GPU binds at once (${limitMiB(limit)})`, remedyFor(device));
}

/**
 * Guards `device` (once; later calls only update the remedy). `remedy` completes a message about a size
 * past the device's limits, e.g. "use a smaller batch or image size, or --device cpu".
 */
export function guardDevice(device: GPUDevice, remedy: string): void {
  const known = guarded.get(device);
  if (known) {
    known.remedy = remedy;
    return;
  }
  const state: Guarded = { remedy, errors: [] };
  guarded.set(device, state);

  const createBindGroup = device.createBindGroup.bind(device);
  device.createBindGroup = (descriptor: GPUBindGroupDescriptor) => {
    for (const entry of descriptor.entries) {
      const bound = boundBuffer(entry.resource);
      if (bound && bound.buffer.usage & STORAGE) checkStorageBinding(device, bound.size, () => (descriptor.label ? `the kernel ${descriptor.label}` : 'an op'));
    }
    return createBindGroup(descriptor);
  };
  const createBuffer = device.createBuffer.bind(device);
  device.createBuffer = (descriptor: GPUBufferDescriptor) => {
    const limit = device.limits.maxBufferSize;
    if (descriptor.size > limit) {
      throw new GpuLimitError(`WebGPU: ${descriptor.label ? `the buffer ${descriptor.label}` : 'a tensor'} needs ${mib(descriptor.size)} in one buffer, more than this GPU allows (${limitMiB(limit)})`, state.remedy);
    }
    return createBuffer(descriptor);
  };
  device.addEventListener('uncapturederror', (event) => {
    const error = (event as GPUUncapturedErrorEvent).error;
    const message = error.message.split('\n')[0].trim();
    const outOfMemory = error.constructor?.name === 'GPUOutOfMemoryError' || /out of memory/i.test(message);
    state.errors.push({ text: outOfMemory ? `the GPU ran out of memory (${message})` : `the GPU reported an error (${message})`, outOfMemory });
  });
  void device.lost.then((info) => {
    // A device given up on purpose (destroy()) is not a failure.
    if (info.reason !== 'destroyed') state.errors.push({ text: `the GPU device was lost (${info.message || 'no reason given'})`, outOfMemory: false });
  });
}

/**
 * Throws the errors the device reported since the last call, if any: the results read now may be wrong.
 * Reads call it after their data arrived, so the errors of the work before them have been delivered.
 */
export function throwDeviceErrors(device: GPUDevice): void {
  const state = guarded.get(device);
  if (!state || state.errors.length === 0) return;
  const [first, ...more] = state.errors.splice(0);
  const summary = `WebGPU: ${first.text}${more.length ? ` (and ${more.length} more error${more.length > 1 ? 's' : ''} after it)` : ''}, so the results since are not to be trusted`;
  if (first.outOfMemory) throw new GpuLimitError(summary, state.remedy);
  throw new GantryError(summary);
}

/** The buffer a bind group entry binds and how many bytes of it, or null (a sampler, a texture). */
function boundBuffer(resource: GPUBindingResource): { buffer: GPUBuffer; size: number } | null {
  const r = resource as Partial<GPUBufferBinding> & Partial<GPUBuffer>;
  if (r.buffer && typeof r.buffer.size === 'number') return { buffer: r.buffer, size: r.size ?? r.buffer.size - (r.offset ?? 0) };
  // A buffer bound whole, without a GPUBufferBinding around it.
  if (typeof r.size === 'number' && typeof r.usage === 'number' && typeof r.mapState === 'string') return { buffer: r as GPUBuffer, size: r.size };
  return null;
}

interface ReadingBackend {
  device: GPUDevice;
  write(values: unknown, shape: number[], dtype: tf.DataType): object;
  read(dataId: object): Promise<unknown>;
  readSync(dataId: object): unknown;
}

const guardedBackends = new WeakSet<object>();

/**
 * guardDevice on the device of tfjs's running WebGPU backend; a tensor too large to bind refused when it is
 * made (every op's output and every upload passes through the backend's write), before the op allocates its
 * buffer or queues anything; and the backend's reads of tensors (a loss's data(), a checkpoint's weights, a
 * drawn image's pixels) made to throw the errors the device reported first.
 */
export function guardTfjsWebGpu(remedy: string): void {
  const backend = tf.backend() as unknown as ReadingBackend;
  guardDevice(backend.device, remedy);
  if (guardedBackends.has(backend)) return;
  guardedBackends.add(backend);
  const { write, read, readSync } = backend;
  backend.write = function (values: unknown, shape: number[], dtype: tf.DataType) {
    // Every dtype tfjs keeps on the GPU takes 4 bytes a value (bool as i32; complex64 as two float32 tensors).
    if (dtype !== 'string' && dtype !== 'complex64') checkStorageBinding(backend.device, tf.util.sizeFromShape(shape) * 4, () => `a tensor of shape [${shape.join(', ')}]`);
    return write.call(backend, values, shape, dtype);
  };
  // The device's error wins over the read's result, or over the read's own failure (a lost device's).
  backend.read = async function (dataId: object) {
    try {
      return await read.call(backend, dataId);
    } finally {
      throwDeviceErrors(backend.device);
    }
  };
  backend.readSync = function (dataId: object) {
    try {
      return readSync.call(backend, dataId);
    } finally {
      throwDeviceErrors(backend.device);
    }
  };
}

/**
 * `pass(start, count)` over the items [start, start + count) in passes this GPU can take: a pass that meets
 * a limit (a GpuLimitError; nothing of that pass is kept) is done again in two halves. `fit.most` carries
 * the largest pass known to fit to the next call, so only the first pays for the split. On the CPU: one pass.
 */
export async function inPassesThatFit<T>(start: number, count: number, fit: { most: number }, pass: (start: number, count: number) => T | Promise<T>): Promise<T[]> {
  const out: T[] = [];
  for (let at = start; at < start + count;) {
    const size = Math.min(fit.most, start + count - at);
    try {
      out.push(await pass(at, size));
      at += size;
    } catch (err) {
      if (!(err instanceof GpuLimitError) || size === 1) throw err;
      fit.most = Math.ceil(size / 2);
    }
  }
  return out;
}
