import * as tf from '@tensorflow/tfjs-core';
import { copyKernels } from './copy.ts';
import { fillKernels } from './fill.ts';
import { unaryKernels } from './unary.ts';
import { nativeConvKernels } from './conv.ts';
import { nativeBatchNormKernels, registerFusedKernels } from './fused.ts';
import { registerImageOpKernels } from './image-ops.ts';
import { registerAffineKernels } from './affine.ts';
import { segmentSumKernels } from './segment-sum.ts';
import { poolGradKernels } from './pool-grad.ts';
import { broadcastKernels } from './broadcast.ts';
import { nativeMatMulKernels } from './matmul.ts';
import { resizeKernels } from './resize.ts';
import { loadNativeAddon } from './native.ts';
import { swapKernels } from '../registry.ts';

export interface NativeStatus {
  loaded: boolean;
  reason?: string;
  threads?: number;
  kernel?: string;
  kernels?: string[];
}

type KernelFunc = tf.KernelConfig['kernelFunc'];
const originals = new Map<string, KernelFunc>();
const natives = new Map<string, KernelFunc>();
let status: NativeStatus | null = null;

/** tfjs's own cpu kernel of that name, kept as the fall-back (and the reference in tests). */
export function originalCpuKernel(name: string): KernelFunc {
  const k = originals.get(name) ?? tf.getKernel(name, 'cpu')?.kernelFunc;
  if (!k) throw new Error(`tfjs has no cpu kernel ${name}`);
  return k;
}

/**
 * Registers gantry's kernels over tfjs's pure-JS cpu ones (once): the JavaScript ones (concat, split, pad,
 * slice and gather; constants; element-wise functions; segment sums, pooling gradients, broadcasting
 * arithmetic, nearest-neighbour resizing) always, and the native ones (convolutions, matmul, evaluation
 * batch norm, fused training batch norm / activations / Adam) where the addon loads. Each falls back to the
 * original for cases it does not cover (non-float32, NCHW, prelu).
 */
export function registerCpuKernels(): NativeStatus {
  if (status) return status;
  const { addon, error } = loadNativeAddon();
  // Registered with or without the addon; their loops go native where it loads (row copies, broadcasting
  // arithmetic and sums, pooling gradients, resizing).
  const always = {
    ...copyKernels(originalCpuKernel, addon), ...fillKernels(originalCpuKernel), ...unaryKernels(originalCpuKernel, addon), ...segmentSumKernels(originalCpuKernel), ...poolGradKernels(originalCpuKernel, addon),
    ...broadcastKernels(originalCpuKernel, addon), ...resizeKernels(originalCpuKernel, addon),
  };
  const native = addon ? { ...nativeConvKernels(addon, originalCpuKernel), ...nativeMatMulKernels(addon, originalCpuKernel), ...nativeBatchNormKernels(addon, originalCpuKernel) } : {};
  const kernels = { ...native, ...always };
  for (const [name, kernelFunc] of Object.entries(kernels)) {
    const existing = tf.getKernel(name, 'cpu');
    if (!existing) continue;
    originals.set(name, existing.kernelFunc);
    natives.set(name, kernelFunc as KernelFunc);
    tf.unregisterKernel(name, 'cpu');
    tf.registerKernel({ ...existing, kernelFunc: kernelFunc as KernelFunc });
  }
  // Kernels of gantry's own ops, which tfjs has none of: pix2pixHD's per-image ops and DF-GAN's Affine.
  const ownOps = [...registerImageOpKernels(addon), ...registerAffineKernels(addon)];
  if (!addon) return (status = { loaded: false, reason: error ?? 'unknown', kernels: [...Object.keys(kernels), ...ownOps] });
  const fused = registerFusedKernels(addon);
  const info = addon.info();
  return (status = { loaded: true, threads: info.threads, kernel: info.kernel, kernels: [...Object.keys(kernels), ...ownOps, ...fused] });
}

/**
 * Runs fn with tfjs's own kernels in place of gantry's (the reference in tests), then puts gantry's back.
 */
export function withReferenceKernels<T>(fn: () => T): T {
  swapKernels('cpu', natives.keys(), originals);
  try {
    return fn();
  } finally {
    swapKernels('cpu', natives.keys(), natives);
  }
}
