import * as tf from '@tensorflow/tfjs-core';
import { guardTfjsWebGpu, limitMiB } from '../gpu/device-guard.ts';
import { registerGpuKernels } from '../gpu/tfjs-kernels.ts';
import { askForMatrixFeatures, dawnFlagsFor, refusedMatrixProducts, tensorCoresRequested } from '../gpu/matrix-products.ts';
import { checkMatrixTile } from '../gpu/matrix-check.ts';
import { enableGemmTuning, gemmTuningRequested, withExactTimestamps } from '../gpu/gemm-tuning.ts';
import { tuningFile } from '../gpu/tuning-store.ts';
import { GantryError, describeError, given } from '../errors.ts';

export interface WebGpuAdapter {
  /** The adapter's name and the limits gantry's kernels depend on. */
  description: string;
  /**
   * A software adapter that runs on the CPU (Mesa's llvmpipe, SwiftShader: WebGPU's fallback adapter),
   * which Dawn hands out where no GPU driver is installed.
   */
  software: boolean;
}

/**
 * Starts tfjs's WebGPU backend on Dawn (the `webgpu` npm package) in Node. The backend registers itself
 * only if navigator.gpu exists when it is imported, so Dawn goes first. Returns the adapter; never falls
 * back to the CPU silently.
 */
export async function startWebGpu(): Promise<WebGpuAdapter> {
  let dawn: { create: (flags: string[]) => GPU; globals: Record<string, unknown> };
  try {
    dawn = (await import('webgpu')) as unknown as typeof dawn;
  } catch (err) {
    throw new GantryError(`${given('device', 'webgpu')} needs the optional package "webgpu" (Dawn for Node), which did not load: ${describeError(err)}. Run \`npm ci\` on a supported platform`);
  }
  Object.assign(globalThis, dawn.globals);
  const tensorCores = tensorCoresRequested();
  // Dawn toggles for experts, e.g. GANTRY_DAWN_FLAGS="disable-dawn-features=timestamp_quantization" for exact profiles.
  const flags = (process.env.GANTRY_DAWN_FLAGS ?? '').split(/\s+/).filter(Boolean);
  // GANTRY_GPU_TUNING=1: products timed on this GPU, to the nanosecond Dawn otherwise rounds to ~0.1 ms.
  const tuning = gemmTuningRequested(process.env.GANTRY_GPU_TUNING);
  const gpu = dawn.create(dawnFlagsFor(tuning ? withExactTimestamps(flags) : flags, tensorCores));
  if (tensorCores) askForMatrixFeatures(gpu, tensorCores);
  Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) {
    throw new GantryError(`${given('device', 'webgpu')}: no WebGPU adapter found (Vulkan on Linux needs a GPU driver and libvulkan1; set VK_DRIVER_FILES to its ICD json). Use ${given('device', 'cpu')}`);
  }
  const info = (adapter as unknown as { info?: { vendor?: string; architecture?: string; description?: string; device?: string; isFallbackAdapter?: boolean } }).info ?? {};
  await import('@tensorflow/tfjs-backend-webgpu');
  const ok = await tf.setBackend('webgpu');
  if (!ok || tf.getBackend() !== 'webgpu') throw new GantryError(`${given('device', 'webgpu')}: tfjs could not start its WebGPU backend on this adapter; use ${given('device', 'cpu')}`);
  await tf.ready();
  guardTfjsWebGpu(`use a smaller batch or image size, or ${given('device', 'cpu')}`);
  // Small ops on host-resident tensors stay on the device too: a recorded step (src/gpu/step-recording.ts)
  // must see every computation as a dispatch, not as host arithmetic whose result it would take for a constant.
  tf.env().set('WEBGPU_CPU_FORWARD', false);
  // gantry's convolutions and matrix products (GANTRY_WEBGPU_TFJS_KERNELS=1: tfjs's own, for comparison;
  // GANTRY_WINOGRAD=0: no 3x3 convolution by Winograd).
  if (process.env.GANTRY_WEBGPU_TFJS_KERNELS !== '1') registerGpuKernels({ winograd: process.env.GANTRY_WINOGRAD !== '0' });
  const name = [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' ') || 'an unnamed adapter';
  if (tuning) enableGemmTuning(tuningFile(name));
  // The limits gantry's kernels depend on, as the device tfjs created has them.
  const device = (tf.backend() as unknown as { device: GPUDevice }).device;
  const limits = device.limits;
  // Known products on the matrix tile before any step or draw takes it (where the device has one).
  await checkMatrixTile(device);
  const refused = refusedMatrixProducts(device);
  if (refused) process.stderr.write(`gantry: GANTRY_TENSOR_CORES asks for the GPU's matrix units, but ${refused}: its products stay in float32\n`);
  const description = `${name} (workgroup memory ${limits.maxComputeWorkgroupStorageSize / 1024} KiB, ${limits.maxComputeInvocationsPerWorkgroup} invocations per workgroup, ` +
    `storage binding ${limitMiB(limits.maxStorageBufferBindingSize)}, buffer ${limitMiB(limits.maxBufferSize)})`;
  return { description, software: info.isFallbackAdapter === true || info.architecture === 'software' };
}
