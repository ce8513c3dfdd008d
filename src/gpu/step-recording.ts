/// <reference types="@webgpu/types" />
import * as tf from '@tensorflow/tfjs-core';
import { listenToHostInputs, type HostValues } from '../engine/host-input.ts';
import { beginPass, flushTfjs, GpuContext, SUBMIT_CHUNK, type PassTimeline } from './context.ts';

/**
 * A training step of any family recorded once on tfjs's WebGPU backend and replayed as a fixed list of
 * dispatches (src/gpu/context.ts says why: ~0.4 ms of host work per eager op against ~6.5 us per reused
 * dispatch).
 *
 * Recording runs the step eagerly, as usual, while watching the backend: every dispatch (its pipeline and
 * bind group, which tfjs makes per op and which stay valid while their buffers live), every buffer copy,
 * and every upload of host data, either constant (written once into a source buffer of the recording's)
 * or a host input (src/engine/host-input.ts: redrawn on the host each replay). Afterwards every buffer the
 * step touched is pinned: tfjs's buffer manager never hands it out again while a recording holds it, so
 * the recorded bind groups stay valid and the buffers' roles within the step (tfjs reuses a freed buffer
 * for a later op) replay exactly. A variable the step assigns got a new buffer, which the recorded ops
 * write and the tfjs variable points at, while they read the old one: each replay starts by copying the
 * current value into the old buffer, and the tfjs variable always holds the latest weights (nothing to
 * write back at checkpoints).
 *
 * A variable found on another buffer than the recording left it (another recording's step assigned it, as
 * D-only and full steps do to each other, or an assign outside any step: a checkpoint restore, an optimizer
 * reset) is copied into the recording's buffer first and, if the step assigns it, its new value back where
 * the tfjs variable points. A replay whose variable was disposed or left the device reports itself stale.
 *
 * This reads tfjs-backend-webgpu 4.22's backend (its buffer manager, uploadToGPU, makeUniforms, the
 * command encoder it keeps); `supportsRecording` checks that those parts are there.
 */

const UNIFORM = 0x40;
const COPY_SRC = 0x4;
const COPY_DST = 0x8;

interface TensorData {
  values: ArrayLike<number> | null;
  resource: unknown;
  dtype: string;
  shape: number[];
}

interface BufferManager {
  freeBuffers: Map<string, GPUBuffer[]>;
  numFreeBuffers: number;
  numBytesAllocated: number;
  acquireBuffer(size: number, usage: number, mappedAtCreation?: boolean, reuse?: boolean): GPUBuffer;
  releaseBuffer(buffer: GPUBuffer, reuse?: boolean): void;
}

interface Uniform {
  type: string;
  data: number[];
}

interface Backend {
  device: GPUDevice;
  queue: GPUQueue;
  commandEncoder: GPUCommandEncoder | null;
  computePassEncoder: GPUComputePassEncoder | null;
  tensorMap: { get(dataId: object): TensorData | undefined };
  bufferManager: BufferManager;
  uploadToGPU(dataId: object): void;
  tensorToBinding(tensor: tf.TensorInfo): unknown;
  makeUniforms(uniforms: Uniform[]): { buffer: GPUBuffer };
  ensureCommandEncoderReady(): void;
  endComputePassEncoder(): void;
  submitQueue(): void;
  readSync(dataId: object): unknown;
  read(dataId: object): Promise<unknown>;
  makeTensorInfo(shape: number[], dtype: tf.DataType): tf.TensorInfo;
}

/** The running WebGPU backend, or null (not webgpu, or a tfjs whose backend lacks what recording reads). */
export function recordingBackend(): Backend | null {
  if (tf.getBackend() !== 'webgpu') return null;
  const backend = tf.backend() as unknown as Backend;
  const manager = backend.bufferManager as Partial<BufferManager> | undefined;
  const methods = ['uploadToGPU', 'tensorToBinding', 'makeUniforms', 'ensureCommandEncoderReady', 'endComputePassEncoder', 'submitQueue', 'makeTensorInfo'] as const;
  if (!manager || !(manager.freeBuffers instanceof Map) || typeof manager.releaseBuffer !== 'function') return null;
  if (methods.some((m) => typeof backend[m] !== 'function') || !backend.device || !backend.tensorMap) return null;
  return backend;
}

export function supportsRecording(): boolean {
  return recordingBackend() !== null;
}

type Command =
  | { kind: 'dispatch'; pipeline: GPUComputePipeline; bindGroup: GPUBindGroup; workgroups: [number, number, number]; uniforms: string }
  | { kind: 'copy'; from: GPUBuffer; fromOffset: number; to: GPUBuffer; toOffset: number; size: number }
  /** Data fixed in the step (a constant, a loss weight): copied from the recording's own source buffer. */
  | { kind: 'constant'; to: GPUBuffer; values: HostValues; source: GPUBuffer | null }
  /** A host input's values, redrawn and written into the slot's source buffer before each replay. */
  | { kind: 'host'; to: GPUBuffer; slot: HostSlot };

interface HostSlot {
  /** Index into the step's scopes; -1: undefined (state the producer owns). */
  scope: number;
  produce: (scope: never) => HostValues;
  dtype: string;
  length: number;
  source: GPUBuffer | null;
}

interface Slot {
  buffer: GPUBuffer;
  dtype: string;
  shape: number[];
}

/**
 * Buffers held by recordings, counted per recording. tfjs's releases of a held buffer keep it out of the
 * free pool ("orphans"); when the last recording lets go, an orphan goes back to the pool.
 */
class Pins {
  private readonly counts = new Map<GPUBuffer, number>();
  private readonly orphans = new Set<GPUBuffer>();

  constructor(private readonly manager: BufferManager) {
    const release = manager.releaseBuffer.bind(manager);
    manager.releaseBuffer = (buffer: GPUBuffer, reuse = true) => {
      if (!this.counts.has(buffer)) return release(buffer, reuse);
      // The manager's bookkeeping (its used list) as for any release, then out of the pool again.
      release(buffer, true);
      const pool = manager.freeBuffers.get(poolKey(buffer));
      if (pool && pool[pool.length - 1] === buffer) {
        pool.pop();
        manager.numFreeBuffers--;
      }
      this.orphans.add(buffer);
    };
  }

  has(buffer: GPUBuffer): boolean {
    return this.counts.has(buffer);
  }

  hold(buffers: Iterable<GPUBuffer>): void {
    for (const b of buffers) this.counts.set(b, (this.counts.get(b) ?? 0) + 1);
    // Held buffers lying in the pool (freed during the step) leave it now.
    for (const [key, pool] of this.manager.freeBuffers) {
      const kept = pool.filter((b) => !this.counts.has(b));
      if (kept.length === pool.length) continue;
      for (const b of pool) if (this.counts.has(b)) this.orphans.add(b);
      this.manager.numFreeBuffers -= pool.length - kept.length;
      this.manager.freeBuffers.set(key, kept);
    }
  }

  letGo(buffers: Iterable<GPUBuffer>): void {
    for (const b of buffers) {
      const n = (this.counts.get(b) ?? 1) - 1;
      if (n > 0) {
        this.counts.set(b, n);
        continue;
      }
      this.counts.delete(b);
      if (this.orphans.delete(b)) {
        // A recording's uniform buffers were made for it alone, never taken from the pool (recordStep):
        // pooled, they would pile up with each recording made again (a stale one, a lazy R1's kind).
        if (b.usage & UNIFORM) {
          b.destroy();
          this.manager.numBytesAllocated -= b.size;
          continue;
        }
        const key = poolKey(b);
        if (!this.manager.freeBuffers.has(key)) this.manager.freeBuffers.set(key, []);
        this.manager.freeBuffers.get(key)!.push(b);
        this.manager.numFreeBuffers++;
      }
    }
  }
}

/** tfjs's buffer manager pools buffers by size and usage under this key. */
const poolKey = (buffer: GPUBuffer) => `${buffer.size}_${buffer.usage}`;

const pinsByBackend = new WeakMap<Backend, Pins>();

function pinsOf(backend: Backend): Pins {
  let pins = pinsByBackend.get(backend);
  if (!pins) pinsByBackend.set(backend, (pins = new Pins(backend.bufferManager)));
  return pins;
}

function bufferOf(backend: Backend, t: { dataId: object }): GPUBuffer | null {
  const resource = backend.tensorMap.get(t.dataId)?.resource;
  return resource instanceof GPUBuffer ? resource : null;
}

function typedValues(values: ArrayLike<number>, dtype: string): HostValues {
  if (dtype === 'float32') return values instanceof Float32Array ? values : Float32Array.from(values);
  return values instanceof Int32Array ? values : Int32Array.from(values);
}

const pipelineIds = new WeakMap<GPUComputePipeline, number>();
let nextPipelineId = 0;
function pipelineId(p: GPUComputePipeline): number {
  let id = pipelineIds.get(p);
  if (id === undefined) pipelineIds.set(p, (id = nextPipelineId++));
  return id;
}

function hashValues(values: HostValues): string {
  const words = new Uint32Array(values.buffer, values.byteOffset, values.length);
  let h = 0x811c9dc5;
  for (let i = 0; i < words.length; i++) h = Math.imul(h ^ words[i], 0x01000193);
  return `${values.length}:${(h >>> 0).toString(16)}`;
}

/** What a finished recording replays, and why a step could not be recorded. */
export class StepRecording {
  readonly commands: Command[] = [];
  readonly hostSlots: HostSlot[] = [];
  readonly inputs: Slot[] = [];
  /**
   * Each variable the step assigns: its buffer after the step (where the tfjs variable points, and where
   * each replay leaves the new value) and the one the step reads it from (filled at the replay's start).
   */
  readonly copyBack: { variable: tf.Variable; from: GPUBuffer; to: GPUBuffer }[] = [];
  /**
   * Every variable the step reads or writes, with the buffer it holds after the step. Where a variable has
   * moved to another buffer since (another recording's step assigned it, or an assign outside any step), a
   * replay copies its value in first and, if the step assigns it, back out at the end.
   */
  readonly expected: { variable: tf.Variable; buffer: GPUBuffer }[] = [];
  readonly outputs: { key: string; buffer: GPUBuffer; shape: number[]; dtype: tf.DataType }[] = [];
  /** Why this step cannot be replayed; null: it can. */
  failure: string | null = null;
  private held: GPUBuffer[] = [];
  private sources: GPUBuffer[] = [];
  private disposed = false;

  constructor(private readonly backend: Backend) {}

  fail(reason: string): void {
    this.failure ??= reason;
  }

  /**
   * What must match between two recordings of one step for either to stand for every step: the same
   * dispatches with the same uniforms, the same constants, host inputs drawn from the same scopes.
   */
  signature(): string[] {
    const lines = this.commands.map((c) => {
      switch (c.kind) {
        case 'dispatch':
          return `dispatch pipeline ${pipelineId(c.pipeline)} workgroups ${c.workgroups.join('x')} uniforms ${c.uniforms}`;
        case 'copy':
          return `copy ${c.size} bytes`;
        case 'constant':
          return `constant ${c.values instanceof Int32Array ? 'int32' : 'float32'} ${hashValues(c.values)}`;
        case 'host':
          return `host input ${this.hostSlots.indexOf(c.slot)}`;
      }
    });
    lines.push(...this.hostSlots.map((s, i) => `host input ${i}: scope ${s.scope}, ${s.length} ${s.dtype}`));
    lines.push(...this.inputs.map((s, i) => `input ${i}: ${s.shape.join('x')} ${s.dtype}`));
    lines.push(...this.outputs.map((o) => `output ${o.key}: ${o.shape.join('x')} ${o.dtype}`));
    lines.push(`${this.copyBack.length} variables assigned`);
    return lines;
  }

  /**
   * Holds every buffer the recording uses (`extra`: those of the dispatches' bind groups, which cannot be
   * read back from a bind group), keeps the variables it reads or writes to check, writes the constants.
   */
  seal(extra: GPUBuffer[], variables: { variable: tf.Variable; buffer: GPUBuffer }[]): void {
    const buffers = new Set<GPUBuffer>(extra);
    for (const c of this.commands) {
      if (c.kind === 'copy') buffers.add(c.from).add(c.to);
      else if (c.kind !== 'dispatch') buffers.add(c.to);
    }
    for (const s of this.inputs) buffers.add(s.buffer);
    for (const c of this.copyBack) buffers.add(c.from).add(c.to);
    for (const o of this.outputs) buffers.add(o.buffer);
    this.expected.push(...variables.filter((v) => buffers.has(v.buffer)));
    this.held = [...buffers];
    pinsOf(this.backend).hold(this.held);
    const { device, queue } = this.backend;
    for (const c of this.commands) {
      if (c.kind === 'constant') {
        c.source = device.createBuffer({ size: c.values.byteLength, usage: COPY_SRC | COPY_DST });
        queue.writeBuffer(c.source, 0, c.values as Float32Array<ArrayBuffer>);
        this.sources.push(c.source);
      }
    }
    for (const s of this.hostSlots) {
      if (!this.commands.some((c) => c.kind === 'host' && c.slot === s)) continue;
      s.source = device.createBuffer({ size: s.length * 4, usage: COPY_SRC | COPY_DST });
      this.sources.push(s.source);
    }
  }

  /** Why a replay cannot stand for the step: a variable it reads was disposed, or holds its value off the device. */
  stale(): string | null {
    for (const { variable } of this.expected) {
      if (variable.isDisposed) return `variable ${variable.name} was disposed`;
      if (!bufferOf(this.backend, variable)) return `variable ${variable.name} is not on the device`;
    }
    return null;
  }

  /** The variables on other buffers than this recording left them, each with the buffer it holds now. */
  private moved(): { variable: tf.Variable; buffer: GPUBuffer; now: GPUBuffer }[] {
    return this.expected.map((e) => ({ ...e, now: bufferOf(this.backend, e.variable)! })).filter((e) => e.now !== e.buffer);
  }

  /**
   * One step: the inputs' and host inputs' new values written, the recorded commands encoded and
   * submitted SUBMIT_CHUNK dispatches a command buffer, so that the GPU runs the first while the host
   * encodes the next (~10 us a dispatch: 17 ms for pix2pixHD's 1,698). With a timeline, each compute
   * pass's start and end on the GPU go into it (bench: where a step's GPU time goes).
   * Returns the step's outputs as fresh tensors (the caller disposes them).
   */
  replay(scopes: readonly object[], inputs: readonly tf.Tensor[], timeline: PassTimeline | null = null): Record<string, tf.Tensor> {
    if (this.disposed) throw new Error('replay of a disposed step recording');
    const backend = this.backend;
    const { device, queue } = backend;
    flushTfjs();
    let encoder = device.createCommandEncoder();
    inputs.forEach((t, i) => {
      const slot = this.inputs[i];
      if (t.dtype !== slot.dtype || !tf.util.arraysEqual(t.shape, slot.shape)) throw new Error(`replayed step input ${i}: ${t.shape} ${t.dtype}, recorded ${slot.shape} ${slot.dtype}`);
      const data = backend.tensorMap.get(t.dataId)!;
      const onDevice = bufferOf(backend, t);
      if (onDevice === slot.buffer) return;
      if (onDevice) encoder.copyBufferToBuffer(onDevice, 0, slot.buffer, 0, slot.buffer.size);
      else queue.writeBuffer(slot.buffer, 0, typedValues(data.values!, slot.dtype) as Float32Array<ArrayBuffer>);
    });
    for (const s of this.hostSlots) {
      const scope = s.scope < 0 ? undefined : scopes[s.scope];
      const values = typedValues(s.produce(scope as never), s.dtype);
      if (values.length !== s.length) throw new Error(`replayed step: host input ${this.hostSlots.indexOf(s)} gave ${values.length} values, recorded ${s.length}`);
      if (s.source) queue.writeBuffer(s.source, 0, values as Float32Array<ArrayBuffer>);
    }
    // A variable moved since the recording: its value into the buffer the recorded step knows it by.
    const moved = this.moved();
    const bytes = (v: tf.Variable) => v.size * 4;
    for (const { variable, buffer, now } of moved) encoder.copyBufferToBuffer(now, 0, buffer, 0, bytes(variable));
    // The step reads each variable it assigns from the buffer it had before the recorded step.
    for (const { from, to } of this.copyBack) encoder.copyBufferToBuffer(from, 0, to, 0, Math.min(from.size, to.size));
    let pass: GPUComputePassEncoder | null = null;
    let pipeline: GPUComputePipeline | null = null;
    let encoded = 0;
    const endPass = () => {
      pass?.end();
      pass = null;
      pipeline = null;
    };
    for (const c of this.commands) {
      if (c.kind === 'dispatch') {
        if (++encoded % SUBMIT_CHUNK === 0) {
          endPass();
          queue.submit([encoder.finish()]);
          encoder = device.createCommandEncoder();
        }
        pass ??= beginPass(encoder, timeline);
        if (c.pipeline !== pipeline) pass.setPipeline((pipeline = c.pipeline));
        pass.setBindGroup(0, c.bindGroup);
        pass.dispatchWorkgroups(c.workgroups[0], c.workgroups[1], c.workgroups[2]);
        continue;
      }
      endPass();
      if (c.kind === 'copy') encoder.copyBufferToBuffer(c.from, c.fromOffset, c.to, c.toOffset, c.size);
      else if (c.kind === 'constant') encoder.copyBufferToBuffer(c.source!, 0, c.to, 0, c.values.byteLength);
      else encoder.copyBufferToBuffer(c.slot.source!, 0, c.to, 0, c.slot.length * 4);
    }
    endPass();
    // An assigned variable that had moved: its new value where the tfjs variable points.
    for (const { variable, buffer, now } of moved) if (this.copyBack.some((c) => c.variable === variable)) encoder.copyBufferToBuffer(buffer, 0, now, 0, bytes(variable));
    const fresh = this.outputs.map((o) => {
      const buffer = backend.bufferManager.acquireBuffer(o.buffer.size, o.buffer.usage);
      encoder.copyBufferToBuffer(o.buffer, 0, buffer, 0, o.buffer.size);
      return buffer;
    });
    queue.submit([encoder.finish()]);
    // tfjs keeps a tensor's values on the host once read (a checkpoint) and answers later reads from there.
    for (const { variable } of this.copyBack) {
      const data = backend.tensorMap.get(variable.dataId);
      if (data) data.values = null;
    }
    return Object.fromEntries(this.outputs.map((o, i) => {
      const info = backend.makeTensorInfo(o.shape, o.dtype);
      backend.tensorMap.get(info.dataId)!.resource = fresh[i];
      return [o.key, tf.engine().makeTensorFromTensorInfo(info)];
    }));
  }

  /**
   * GPU time of each recorded dispatch in nanoseconds, each timed alone (timestamp queries), with its
   * pipeline's label (gantry's kernel, or tfjs's program). It runs the step's kernels once more without its
   * copies, so what the buffers hold afterwards is not a step's result: for benchmarks, after timing.
   */
  async profile(): Promise<{ label: string; ns: number }[]> {
    if (this.disposed) throw new Error('profile of a disposed step recording');
    // A pipeline is shared by every dispatch of its WGSL, under the label of whichever made it first; gantry's
    // bind groups carry their own dispatch's (tfjs's carry none: its program's name, on the pipeline).
    const dispatches = this.commands.flatMap((c) => (c.kind === 'dispatch' ? [{ label: c.bindGroup.label || c.pipeline.label, pipeline: c.pipeline, bindGroup: c.bindGroup, workgroups: c.workgroups }] : []));
    const ns = await new GpuContext(this.backend.device).profile(dispatches);
    return dispatches.map((d, i) => ({ label: d.label, ns: ns[i] }));
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    pinsOf(this.backend).letGo(this.held);
    for (const b of this.sources) b.destroy();
    this.held = [];
    this.sources = [];
  }
}

let noteBindings: ((buffers: GPUBuffer[]) => void) | null = null;

/**
 * gantry's own kernels registered as tfjs's (tfjs-kernels.ts) bind buffers tfjs's backend does not see
 * (no tensorToBinding): they name them here before dispatching, so a recording holds them too.
 */
export function bindingsInUse(buffers: GPUBuffer[]): void {
  noteBindings?.(buffers);
}

/**
 * Runs `step` eagerly (its outputs are the step's, as without recording) and returns what it dispatched
 * as a StepRecording. `scopes` are the objects host inputs may draw from (the batch, the step context);
 * `inputs` the tensors the step reads that change every step (the batch's images and labels).
 */
export function recordStep(scopes: readonly object[], inputs: readonly tf.Tensor[], step: () => Record<string, tf.Tensor>): { outputs: Record<string, tf.Tensor>; recording: StepRecording } {
  const backend = recordingBackend();
  if (!backend) throw new Error('recordStep needs tfjs\'s WebGPU backend');
  const pins = pinsOf(backend);
  const recording = new StepRecording(backend);
  const variables = Object.values(tf.engine().state.registeredVariables);
  // Inputs and variables on the device first, so that their uploads are not part of the step.
  for (const t of [...inputs, ...variables]) backend.uploadToGPU(t.dataId);
  flushTfjs();
  for (const t of inputs) recording.inputs.push({ buffer: bufferOf(backend, t)!, dtype: t.dtype, shape: [...t.shape] });
  const before = new Map(variables.map((v) => [v, bufferOf(backend, v)!]));
  // The old buffers of assigned variables must not be reused within the step (say as another variable's
  // new buffer): the replay's first copies fill them, and must not overwrite a value yet to be copied.
  const guard = [...before.values()];
  pins.hold(guard);

  const slots = new Map<object, HostSlot>();
  const dispatchBuffers: GPUBuffer[] = [];
  let pending: GPUBuffer[] = [];
  let uniforms = '';
  let uploading = false;
  let currentPipeline: GPUComputePipeline | null = null;
  let currentBindGroup: GPUBindGroup | null = null;

  const pass = (real: GPUComputePassEncoder) => ({
    setPipeline(p: GPUComputePipeline) {
      currentPipeline = p;
      real.setPipeline(p);
    },
    setBindGroup(index: number, group: GPUBindGroup) {
      if (index !== 0) recording.fail('a dispatch with a second bind group');
      currentBindGroup = group;
      real.setBindGroup(index, group);
    },
    dispatchWorkgroups(x: number, y = 1, z = 1) {
      recording.commands.push({ kind: 'dispatch', pipeline: currentPipeline!, bindGroup: currentBindGroup!, workgroups: [x, y, z], uniforms });
      dispatchBuffers.push(...pending);
      pending = [];
      uniforms = '';
      real.dispatchWorkgroups(x, y, z);
    },
    end() {
      real.end();
    },
  });
  const encoder = (real: GPUCommandEncoder) => ({
    recorded: true,
    beginComputePass(descriptor?: GPUComputePassDescriptor) {
      if (descriptor?.timestampWrites) recording.fail('profiling (timestamp queries) during the step');
      return pass(real.beginComputePass(descriptor));
    },
    copyBufferToBuffer(from: GPUBuffer, fromOffset: number, to: GPUBuffer, toOffset: number, size: number) {
      if (!uploading) recording.commands.push({ kind: 'copy', from, fromOffset, to, toOffset, size });
      real.copyBufferToBuffer(from, fromOffset, to, toOffset, size);
    },
    resolveQuerySet(...args: Parameters<GPUCommandEncoder['resolveQuerySet']>) {
      real.resolveQuerySet(...args);
    },
    finish(descriptor?: GPUCommandBufferDescriptor) {
      return real.finish(descriptor);
    },
  });

  const original = {
    ensureCommandEncoderReady: backend.ensureCommandEncoderReady,
    uploadToGPU: backend.uploadToGPU,
    tensorToBinding: backend.tensorToBinding,
    makeUniforms: backend.makeUniforms,
    readSync: backend.readSync,
    read: backend.read,
  };
  const acquireBuffer = backend.bufferManager.acquireBuffer;
  backend.ensureCommandEncoderReady = function () {
    original.ensureCommandEncoderReady.call(backend);
    const current = backend.commandEncoder as unknown as { recorded?: boolean } | null;
    if (current && !current.recorded) backend.commandEncoder = encoder(backend.commandEncoder!) as unknown as GPUCommandEncoder;
  };
  backend.uploadToGPU = function (dataId: object) {
    const data = backend.tensorMap.get(dataId);
    const values = data && data.resource == null ? data.values : null;
    uploading = true;
    try {
      original.uploadToGPU.call(backend, dataId);
    } finally {
      uploading = false;
    }
    if (!values) return;
    const to = bufferOf(backend, { dataId })!;
    const slot = slots.get(dataId);
    if (slot) recording.commands.push({ kind: 'host', to, slot });
    else recording.commands.push({ kind: 'constant', to, values: typedValues(values, data!.dtype === 'float32' ? 'float32' : 'int32').slice(), source: null });
  };
  backend.tensorToBinding = function (t: tf.TensorInfo) {
    const binding = original.tensorToBinding.call(backend, t) as { buffer?: GPUBuffer } | null;
    if (binding?.buffer instanceof GPUBuffer) pending.push(binding.buffer);
    else if (binding) recording.fail('a texture input');
    return binding;
  };
  backend.makeUniforms = function (u: Uniform[]) {
    const made = original.makeUniforms.call(backend, u);
    uniforms = JSON.stringify(u.map((d) => [d.type, d.data]));
    pending.push(made.buffer);
    return made;
  };
  backend.readSync = function (dataId: object) {
    recording.fail('it reads device data on the host');
    return original.readSync.call(backend, dataId);
  };
  backend.read = function (dataId: object) {
    recording.fail('it reads device data on the host');
    return original.read.call(backend, dataId);
  };
  // One uniform buffer per dispatch (tfjs reuses them after each submit): each holds its values for good.
  backend.bufferManager.acquireBuffer = function (size: number, usage: number, mappedAtCreation = false, reuse = true) {
    return acquireBuffer.call(backend.bufferManager, size, usage, mappedAtCreation, reuse && (usage & UNIFORM) === 0);
  };
  noteBindings = (buffers) => pending.push(...buffers);
  listenToHostInputs((tensor, scope, produce) => {
    const index = scope === undefined ? -1 : scopes.indexOf(scope);
    if (scope !== undefined && index < 0) recording.fail('a host input drawn from something other than the step\'s batch or context');
    const slot: HostSlot = { scope: index, produce, dtype: tensor.dtype, length: tensor.size, source: null };
    slots.set(tensor.dataId, slot);
    recording.hostSlots.push(slot);
  });

  let outputs: Record<string, tf.Tensor>;
  try {
    outputs = step();
    flushTfjs();
  } catch (err) {
    pins.letGo(guard);
    throw err;
  } finally {
    listenToHostInputs(null);
    noteBindings = null;
    Object.assign(backend, original);
    backend.bufferManager.acquireBuffer = acquireBuffer;
  }

  const assigned: { variable: tf.Variable; buffer: GPUBuffer }[] = [];
  for (const v of Object.values(tf.engine().state.registeredVariables)) {
    const old = before.get(v);
    const now = bufferOf(backend, v);
    if (!now) {
      recording.fail(`variable ${v.name} is not on the device after the step`);
      continue;
    }
    if (!old) recording.fail(`the step created variable ${v.name}`);
    else if (old !== now) recording.copyBack.push({ variable: v, from: now, to: old });
    assigned.push({ variable: v, buffer: now });
  }
  for (const [key, t] of Object.entries(outputs)) {
    const buffer = bufferOf(backend, t);
    if (!buffer) recording.fail(`output ${key} is not on the device`);
    else recording.outputs.push({ key, buffer, shape: [...t.shape], dtype: t.dtype });
  }
  recording.seal(dispatchBuffers, assigned);
  pins.letGo(guard);
  return { outputs, recording };
}
