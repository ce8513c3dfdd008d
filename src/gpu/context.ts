/// <reference types="@webgpu/types" />
import * as tf from '@tensorflow/tfjs-core';
import { GantryError } from '../errors.ts';
import { checkStorageBinding, throwDeviceErrors } from './device-guard.ts';

/**
 * gantry's own WebGPU compute layer, beside tfjs's WebGPU backend and on the same GPUDevice.
 *
 * Why not tfjs's eager kernels: on the H100 each eager op costs ~0.4 ms of host work (uniform buffer,
 * bind group, tensor bookkeeping) while a dispatch whose pipeline and bind group are reused costs
 * ~6.5 us. A training step built here is a fixed list of dispatches over buffers allocated once; each
 * step re-encodes that list into one compute pass and submits it, with no per-op host work and no
 * GPU-to-CPU read.
 */

/** A range of floats inside a GPU buffer (offsets in floats; bindings need 256-byte alignment). */
export interface Region {
  buffer: GPUBuffer;
  offset: number;
  length: number;
}

/** One dispatch: pipeline and bind group made once, replayed every step. */
export interface Dispatch {
  label: string;
  pipeline: GPUComputePipeline;
  bindGroup: GPUBindGroup;
  workgroups: [number, number, number];
}

/**
 * Where GpuContext.run writes the GPU time at which each of its compute passes starts and ends (two
 * timestamp queries a pass, from `next` on): a step's timeline (bench/profile-gpu-step.ts --timeline).
 */
export interface PassTimeline {
  querySet: GPUQuerySet;
  next: number;
}

/**
 * Dispatches encoded into one command buffer before it is submitted, so that the GPU runs them while the
 * host encodes the next ones (encoding costs ~10 us a dispatch in Node).
 */
export const SUBMIT_CHUNK = 48;

/** Floats per 256 bytes: sub-buffer bindings start on this boundary. */
export const ALIGN_FLOATS = 64;

export function alignFloats(n: number): number {
  return Math.ceil(n / ALIGN_FLOATS) * ALIGN_FLOATS;
}

const STORAGE = 0x80 | 0x4 | 0x8; // STORAGE | COPY_SRC | COPY_DST (GPUBufferUsage may not be global yet)

/** Compiled pipelines by WGSL source, per device: a rebuilt step (new batch size) reuses them. */
const pipelineCache = new WeakMap<GPUDevice, Map<string, GPUComputePipeline>>();

export class GpuContext {
  private readonly pipelines: Map<string, GPUComputePipeline>;
  private readonly owned: GPUBuffer[] = [];
  private readonly scratchBuffers = new Map<string, GPUBuffer>();
  /** Set: run() times its passes into it (while it has room). */
  timeline: PassTimeline | null = null;

  /**
   * @param pipelines 'shared': compiled pipelines kept for every context of the device (the default);
   *   'own': kept only by this context, freed with it (the tuner's candidates, most of which never run again).
   */
  constructor(readonly device: GPUDevice, pipelines: 'shared' | 'own' = 'shared') {
    let cache = pipelines === 'own' ? new Map<string, GPUComputePipeline>() : pipelineCache.get(device);
    if (!cache) pipelineCache.set(device, (cache = new Map()));
    this.pipelines = cache;
  }

  /** The device of tfjs's running WebGPU backend (initEngine({ device: 'webgpu' }) first). */
  static fromTfjs(): GpuContext {
    if (tf.getBackend() !== 'webgpu') throw new GantryError('gantry GPU kernels need the webgpu engine (--device webgpu)');
    return new GpuContext((tf.backend() as unknown as { device: GPUDevice }).device);
  }

  get maxWorkgroupStorage(): number {
    return this.device.limits.maxComputeWorkgroupStorageSize;
  }

  /**
   * A zero-filled storage buffer of n floats, freed by dispose(); its size is rounded up to 64 floats
   * unless `exact` (a buffer that becomes a tfjs tensor whole must be exactly its size).
   */
  buffer(n: number, label: string, exact = false): GPUBuffer {
    checkStorageBinding(this.device, n * 4, () => `the buffer ${label}`);
    const b = this.device.createBuffer({ label, size: Math.max(4, (exact ? n : alignFloats(n)) * 4), usage: STORAGE });
    this.owned.push(b);
    return b;
  }

  /**
   * A buffer of n floats shared by every caller asking for that many in the same slot: for temporaries
   * that live only between dispatches of one sequence (split-K partial sums), which the GPU runs in
   * order. Temporaries one dispatch uses together take different slots.
   */
  scratch(n: number, label: string, slot = ''): GPUBuffer {
    const key = `${slot}:${n}`;
    let b = this.scratchBuffers.get(key);
    if (!b) this.scratchBuffers.set(key, (b = this.buffer(n, label)));
    return b;
  }

  /** A whole buffer as a region. */
  region(buffer: GPUBuffer, length = buffer.size / 4): Region {
    return { buffer, offset: 0, length };
  }

  /** A uniform buffer holding these values; callers update it with device.queue.writeBuffer. */
  uniform(values: Float32Array<ArrayBuffer>, label: string): GPUBuffer {
    const b = this.device.createBuffer({ label, size: Math.max(16, Math.ceil(values.byteLength / 16) * 16), usage: 0x40 | 0x8 });
    this.device.queue.writeBuffer(b, 0, values);
    this.owned.push(b);
    return b;
  }

  pipeline(code: string, label: string): GPUComputePipeline {
    let p = this.pipelines.get(code);
    if (!p) {
      const module = this.device.createShaderModule({ label, code });
      p = this.device.createComputePipeline({ label, layout: 'auto', compute: { module, entryPoint: 'main' } });
      this.pipelines.set(code, p);
    }
    return p;
  }

  /** A dispatch of `code` with binding i = bindings[i] (a region, or a uniform buffer). */
  dispatch(label: string, code: string, bindings: (Region | GPUBuffer)[], workgroups: [number, number?, number?]): Dispatch {
    const pipeline = this.pipeline(code, label);
    const entries = bindings.map((b, i) => ('buffer' in b
      ? { binding: i, resource: { buffer: b.buffer, offset: b.offset * 4, size: Math.max(4, b.length * 4) } }
      : { binding: i, resource: { buffer: b } }));
    const bindGroup = this.device.createBindGroup({ label, layout: pipeline.getBindGroupLayout(0), entries });
    const [x, y = 1, z = 1] = workgroups;
    return { label, pipeline, bindGroup, workgroups: [x, y, z] };
  }

  /**
   * Encodes the dispatches and submits them, after tfjs's pending work. Long lists go in chunks of
   * `chunk` dispatches, each submitted as soon as it is encoded, so the GPU runs the first while the
   * host encodes the next (encoding costs ~10 us per dispatch in Node).
   */
  run(dispatches: Dispatch[], chunk = SUBMIT_CHUNK): void {
    flushTfjs();
    for (let start = 0; start < dispatches.length; start += chunk) {
      const encoder = this.device.createCommandEncoder();
      const pass = beginPass(encoder, this.timeline);
      for (const d of dispatches.slice(start, start + chunk)) {
        pass.setPipeline(d.pipeline);
        pass.setBindGroup(0, d.bindGroup);
        pass.dispatchWorkgroups(d.workgroups[0], d.workgroups[1], d.workgroups[2]);
      }
      pass.end();
      this.device.queue.submit([encoder.finish()]);
    }
  }

  /**
   * GPU time of each dispatch in nanoseconds, each in its own timed compute pass (needs the adapter's
   * timestamp-query feature, which tfjs requests when it exists). Each dispatch runs `repeats` times in
   * its pass (Dawn rounds timestamps to ~65 us), so the buffers' contents are garbage afterwards.
   */
  async profile(dispatches: Dispatch[], repeats = 1): Promise<number[]> {
    if (!this.device.features.has('timestamp-query')) throw new GantryError('this WebGPU adapter has no timestamp-query feature; cannot profile kernels');
    flushTfjs();
    const n = dispatches.length;
    const querySet = this.device.createQuerySet({ type: 'timestamp', count: 2 * n });
    const encoder = this.device.createCommandEncoder();
    for (const [i, d] of dispatches.entries()) {
      const pass = encoder.beginComputePass({ timestampWrites: { querySet, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 } });
      pass.setPipeline(d.pipeline);
      pass.setBindGroup(0, d.bindGroup);
      for (let r = 0; r < repeats; r++) pass.dispatchWorkgroups(d.workgroups[0], d.workgroups[1], d.workgroups[2]);
      pass.end();
    }
    this.device.queue.submit([encoder.finish()]);
    const t = await this.readTimestamps(querySet, 2 * n);
    querySet.destroy();
    return dispatches.map((_, i) => Number(t[2 * i + 1] - t[2 * i]) / repeats);
  }

  /** The first `count` timestamps (nanoseconds) a query set holds, once the GPU has written them. */
  async readTimestamps(querySet: GPUQuerySet, count: number): Promise<BigUint64Array> {
    const resolved = this.device.createBuffer({ size: 8 * count, usage: 0x200 | 0x4 }); // QUERY_RESOLVE | COPY_SRC
    const staging = this.device.createBuffer({ size: 8 * count, usage: 0x1 | 0x8 }); // MAP_READ | COPY_DST
    const encoder = this.device.createCommandEncoder();
    encoder.resolveQuerySet(querySet, 0, count, resolved, 0);
    encoder.copyBufferToBuffer(resolved, 0, staging, 0, 8 * count);
    this.device.queue.submit([encoder.finish()]);
    await staging.mapAsync(0x1);
    const t = new BigUint64Array(staging.getMappedRange().slice(0));
    staging.unmap();
    for (const b of [staging, resolved]) b.destroy();
    return t;
  }

  /** A new buffer (freed by dispose()) holding `data`, as a region of its length. */
  upload(data: Float32Array<ArrayBufferLike>, label: string): Region {
    const r = this.region(this.buffer(data.length, label), data.length);
    this.write(r, data);
    return r;
  }

  write(region: Region, data: Float32Array<ArrayBufferLike>): void {
    if (data.length > region.length) throw new Error(`write of ${data.length} floats into a region of ${region.length}`);
    this.device.queue.writeBuffer(region.buffer, region.offset * 4, data.buffer, data.byteOffset, data.byteLength);
  }

  copy(from: Region, to: Region, length = Math.min(from.length, to.length)): void {
    flushTfjs();
    const encoder = this.device.createCommandEncoder();
    encoder.copyBufferToBuffer(from.buffer, from.offset * 4, to.buffer, to.offset * 4, length * 4);
    this.device.queue.submit([encoder.finish()]);
  }

  /** Reads a region back to the host (tests, and syncing outside the training loop). */
  async read(region: Region): Promise<Float32Array> {
    flushTfjs();
    const staging = this.device.createBuffer({ size: region.length * 4, usage: 0x1 | 0x8 }); // MAP_READ | COPY_DST
    const encoder = this.device.createCommandEncoder();
    encoder.copyBufferToBuffer(region.buffer, region.offset * 4, staging, 0, region.length * 4);
    this.device.queue.submit([encoder.finish()]);
    await staging.mapAsync(0x1);
    const out = new Float32Array(staging.getMappedRange().slice(0));
    staging.unmap();
    staging.destroy();
    throwDeviceErrors(this.device);
    return out;
  }

  /** A tfjs tensor (on the webgpu backend) holding a copy of a region: no trip through the host. */
  toTensor(region: Region, shape: number[]): tf.Tensor {
    if (region.offset === 0 && region.buffer.size === region.length * 4) {
      // A whole buffer: tfjs copies it into one of its own, no temporary buffer of ours.
      flushTfjs();
      return tf.tensor({ buffer: region.buffer } as unknown as tf.TensorLike, shape, 'float32');
    }
    const tmp = this.device.createBuffer({ size: Math.max(4, region.length * 4), usage: STORAGE });
    this.copy(region, { buffer: tmp, offset: 0, length: region.length });
    const t = tf.tensor({ buffer: tmp } as unknown as tf.TensorLike, shape, 'float32');
    // tfjs copied it (zeroCopy is off); the copy is queued before any later use of tmp's memory.
    tmp.destroy();
    return t;
  }

  /** Copies a tfjs webgpu tensor's data into a region, on the GPU. */
  fromTensor(t: tf.Tensor, to: Region): void {
    // A tensor made from host values that no kernel has used yet still has them on the host.
    const entry = (tf.backend() as unknown as { tensorMap: Map<object, { values?: ArrayLike<number> | null; resource?: unknown }> }).tensorMap.get(t.dataId);
    if (entry?.values && !entry.resource) {
      this.write(to, entry.values instanceof Float32Array ? entry.values : Float32Array.from(entry.values));
      return;
    }
    // Otherwise the data is in one of tfjs's GPU buffers: copy straight from it.
    const resource = entry?.resource as GPUBuffer | undefined;
    if (!resource || typeof resource.size !== 'number' || resource.size < t.size * 4) {
      throw new Error(`fromTensor: tensor ${t.dataId} has neither host values nor a GPU buffer on the webgpu backend`);
    }
    this.copy({ buffer: resource, offset: 0, length: t.size }, to, t.size);
  }

  /** Resolves when the GPU has finished everything submitted so far (as torch.cuda.synchronize). */
  async idle(): Promise<void> {
    flushTfjs();
    await this.device.queue.onSubmittedWorkDone();
  }

  dispose(): void {
    for (const b of this.owned) b.destroy();
    this.owned.length = 0;
    this.scratchBuffers.clear();
  }
}

/** A compute pass, timed into `timeline` (its start and end) while the timeline has room. */
export function beginPass(encoder: GPUCommandEncoder, timeline: PassTimeline | null): GPUComputePassEncoder {
  const t = timeline && timeline.next + 2 <= timeline.querySet.count ? timeline : null;
  const pass = encoder.beginComputePass(t ? { timestampWrites: { querySet: t.querySet, beginningOfPassWriteIndex: t.next, endOfPassWriteIndex: t.next + 1 } } : undefined);
  if (t) t.next += 2;
  return pass;
}

/** Submits tfjs's recorded but unsubmitted commands, so ours run after them. */
export function flushTfjs(): void {
  const backend = tf.backend() as unknown as { commandEncoder?: unknown; submitQueue?: () => void; endComputePassEncoder?: () => void };
  if (backend.commandEncoder && backend.submitQueue) {
    backend.endComputePassEncoder?.();
    backend.submitQueue();
  }
}

/** WGSL for a grid-stride loop body over n elements, with 256-thread workgroups. */
export function elementwiseGrid(n: number): { workgroups: [number, number, number]; stride: number } {
  const groups = Math.min(Math.ceil(n / 256), 4096);
  return { workgroups: [groups, 1, 1], stride: groups * 256 };
}
