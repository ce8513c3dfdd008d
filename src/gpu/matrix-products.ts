/// <reference types="@webgpu/types" />
import { GantryError } from '../errors.ts';

/**
 * Products on a GPU's matrix units (tensor cores), which WGSL reaches only through Dawn's experimental
 * subgroup matrices: 16x16 blocks of 16-bit floats multiplied into 32-bit sums. Their inputs keep 10 bits
 * of mantissa (as PyTorch's default TF32 convolutions do) and 16-bit range (|x| < 65504, and values below
 * 6e-8 lost), so gantry uses them only where asked: for drawing images (generators' forward products), and
 * in training steps only with each workgroup's operands scaled into that range by powers of two (gemm's
 * `scaled`), since gradients fall far below it.
 *
 * GANTRY_TENSOR_CORES=1 asks for them in draws, =train in draws and training steps; =emulate and
 * =emulate-train run the same kernels with their block products written as plain loops (16-bit inputs,
 * 32-bit sums): their tiling, scaling, staging and epilogue tested on any device with 16-bit floats
 * (lavapipe in CI), the subgroup-matrix calls only where a GPU has them.
 */
export type MatrixProducts = 'subgroup-matrix' | 'emulated';

interface MatrixSupport {
  kind: MatrixProducts;
  /** Why the device has none (when asked for and refused), for the one-time note. */
  refused?: string;
}

/** The block every matrix kernel multiplies: f16 x f16 -> f32, 16 x 16 x 16. */
export const MATRIX_BLOCK = 16;
/** Subgroup size the kernel lays its blocks out for (8 subgroups of 32 in a 256-invocation workgroup). */
export const MATRIX_SUBGROUP = 32;

const SUBGROUP_MATRIX = 'chromium-experimental-subgroup-matrix';

type Env = Record<string, string | undefined>;
const processEnv = (): Env => (globalThis as { process?: { env: Env } }).process?.env ?? {};

/** What GANTRY_TENSOR_CORES asks for: which matrix products, and whether training steps take them too. */
function tensorCoresSetting(env: Env): { kind: MatrixProducts; training: boolean } | null {
  const v = env.GANTRY_TENSOR_CORES;
  if (v === undefined || v === '' || v === '0') return null;
  const kinds: Record<string, MatrixProducts> = { '1': 'subgroup-matrix', train: 'subgroup-matrix', emulate: 'emulated', 'emulate-train': 'emulated' };
  const kind = kinds[v];
  if (!kind) throw new GantryError(`GANTRY_TENSOR_CORES=${v}: use 1 (generators' products on the GPU's matrix units), train (training steps' too), emulate or emulate-train (the same kernels without them, for tests) or 0`);
  return { kind, training: v.endsWith('train') };
}

/** The matrix products GANTRY_TENSOR_CORES asks the device for. */
export function tensorCoresRequested(env: Env = processEnv()): MatrixProducts | null {
  return tensorCoresSetting(env)?.kind ?? null;
}

/** Whether GANTRY_TENSOR_CORES asks for training steps' products on the matrix units too (train, emulate-train). */
export function matrixTrainingRequested(env: Env = processEnv()): boolean {
  return tensorCoresSetting(env)?.training ?? false;
}

/**
 * Dawn's command-line toggles with experimental APIs allowed where subgroup matrices are asked for (Dawn
 * exposes its experimental features only then), merged into any enable-dawn-features already given.
 */
export function dawnFlagsFor(flags: string[], request: MatrixProducts | null): string[] {
  return request === 'subgroup-matrix' ? withDawnFeature(flags, 'enable', 'allow_unsafe_apis') : flags;
}

/** Dawn's command-line toggles with `feature` in its enable- or disable-dawn-features list, merged into one already given. */
export function withDawnFeature(flags: string[], list: 'enable' | 'disable', feature: string): string[] {
  const prefix = `${list}-dawn-features=`;
  const i = flags.findIndex((f) => f.startsWith(prefix));
  if (i < 0) return [...flags, `${prefix}${feature}`];
  if (flags[i].slice(prefix.length).split(',').includes(feature)) return flags;
  return flags.map((f, j) => (j === i ? `${f},${feature}` : f));
}

interface SubgroupMatrixConfig {
  componentType: string;
  resultComponentType: string;
  M: number;
  N: number;
  K: number;
}

interface AdapterFacts {
  features: ReadonlySet<string>;
  info?: { subgroupMinSize?: number; subgroupMaxSize?: number; subgroupMatrixConfigs?: SubgroupMatrixConfig[] };
}

/** The device features the request needs, or why this adapter cannot give them. */
export function matrixFeatures(adapter: AdapterFacts, request: MatrixProducts): { features: string[] } | { refused: string } {
  if (!adapter.features.has('shader-f16')) return { refused: 'the adapter has no 16-bit floats (shader-f16)' };
  if (request === 'emulated') return { features: ['shader-f16'] };
  if (!adapter.features.has(SUBGROUP_MATRIX) || !adapter.features.has('subgroups')) return { refused: `the adapter has no subgroup matrices (${SUBGROUP_MATRIX})` };
  const { subgroupMinSize, subgroupMaxSize, subgroupMatrixConfigs = [] } = adapter.info ?? {};
  if (subgroupMinSize !== MATRIX_SUBGROUP || subgroupMaxSize !== MATRIX_SUBGROUP) return { refused: `its subgroups are ${subgroupMinSize}-${subgroupMaxSize} wide, the kernel's are ${MATRIX_SUBGROUP}` };
  const b = MATRIX_BLOCK;
  if (!subgroupMatrixConfigs.some((c) => c.componentType === 'f16' && c.resultComponentType === 'f32' && c.M === b && c.N === b && c.K === b)) {
    const have = subgroupMatrixConfigs.map((c) => `${c.componentType}->${c.resultComponentType} ${c.M}x${c.N}x${c.K}`).join(', ') || 'none';
    return { refused: `it has no f16 -> f32 ${b}x${b}x${b} subgroup matrices (it has ${have})` };
  }
  return { features: ['shader-f16', 'subgroups', SUBGROUP_MATRIX] };
}

const support = new WeakMap<GPUDevice, MatrixSupport>();

/**
 * Makes the adapters `gpu` hands out ask for the request's features when tfjs creates its device, and
 * notes on that device what it got (matrixProductsOf, refusedMatrixProducts). tfjs's backend requests the adapter and the device
 * itself, with only the features it uses.
 */
export function askForMatrixFeatures(gpu: GPU, request: MatrixProducts): void {
  const requestAdapter = gpu.requestAdapter.bind(gpu);
  gpu.requestAdapter = async (options?: GPURequestAdapterOptions) => {
    const adapter = await requestAdapter(options);
    if (!adapter) return adapter;
    const wanted = matrixFeatures(adapter as unknown as AdapterFacts, request);
    const requestDevice = adapter.requestDevice.bind(adapter);
    adapter.requestDevice = async (descriptor?: GPUDeviceDescriptor) => {
      if ('features' in wanted) {
        try {
          const device = await requestDevice({ ...descriptor, requiredFeatures: [...(descriptor?.requiredFeatures ?? []), ...wanted.features] as GPUFeatureName[] });
          support.set(device, { kind: request });
          return device;
        } catch (err) {
          // A device without them is still a device: float32 products, and the reason in the note.
          const device = await requestDevice(descriptor);
          support.set(device, { kind: request, refused: `the device refused ${wanted.features.join(', ')} (${err instanceof Error ? err.message : String(err)})` });
          return device;
        }
      }
      const device = await requestDevice(descriptor);
      support.set(device, { kind: request, refused: wanted.refused });
      return device;
    };
    return adapter;
  };
}

/** The matrix products this device was given (null: none asked for, or refused: see refusedMatrixProducts). */
export function matrixProductsOf(device: GPUDevice): MatrixProducts | null {
  const s = support.get(device);
  return s && !s.refused ? s.kind : null;
}

/** Leaves the device on float32 products, for `reason` (its matrix tile failed its check: matrix-check.ts). */
export function refuseMatrixProducts(device: GPUDevice, reason: string): void {
  const s = support.get(device);
  if (s) s.refused = reason;
}

/** Why the device has no matrix products though they were asked for (null: it has them, or none were asked for). */
export function refusedMatrixProducts(device: GPUDevice): string | null {
  return support.get(device)?.refused ?? null;
}

/** What the products made now take: the matrix tile (scaled in training steps), or gemmPlan's float32 tiles. */
export type MatrixTuning = { tile: 'matrix'; scaled?: boolean } | Record<string, never>;

let current: MatrixTuning = {};

function within<T>(tuning: MatrixTuning, fn: () => T): T {
  const was = current;
  current = tuning;
  try {
    return fn();
  } finally {
    current = was;
  }
}

/**
 * Runs fn, a generator's draw, with its products on the matrix tile: where GANTRY_TENSOR_CORES asked for
 * it and the device has it (gemm falls back to float32 tiles elsewhere).
 */
export function drawingImages<T>(fn: () => T): T {
  return within({ tile: 'matrix' }, fn);
}

/** Runs fn, a training step, with its products on the scaled matrix tile where GANTRY_TENSOR_CORES=train (or emulate-train) asks. */
export function trainingStep<T>(fn: () => T): T {
  return within(matrixTrainingTuning(), fn);
}

/** The tuning a training step's products take: the scaled matrix tile where GANTRY_TENSOR_CORES asks for it. */
export function matrixTrainingTuning(): MatrixTuning {
  return matrixTrainingRequested() ? { tile: 'matrix', scaled: true } : {};
}

/** The tuning products take now: the matrix tile inside drawingImages, the scaled one inside trainingStep. */
export function matrixTuning(): MatrixTuning {
  return current;
}
