import * as tf from '@tensorflow/tfjs-core';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { outputFloats, overwrittenFloats } from './float-pool.ts';
import { floatValues, makeFloatTensor } from './backend-data.ts';
import type { NativeAddon } from './native.ts';

import { AVG_POOL_3X3S2, AVG_POOL_3X3S2_GRAD, IMAGE_OP_KERNELS, INSTANCE_NORM, INSTANCE_NORM_GRAD, pooledSize, REFLECTION_PAD, REFLECTION_PAD_GRAD, registerImageOpGradients } from '../image-ops.ts';

/**
 * The cpu kernels of pix2pixHD's per-image ops (../image-ops.ts). Written with tfjs's ops they were most
 * of a CPU training step: reflection padding alone, built from slices, reversals and concatenations, took
 * half of it. The loops run in the native addon (threaded) where it loads, here in JavaScript otherwise
 * (the browser, GANTRY_NATIVE=0).
 */

type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap };

function input(args: KernelArgs, name: string): { t: tf.TensorInfo; v: Float32Array; b: MathBackendCPU } {
  const b = args.backend as MathBackendCPU;
  const t = args.inputs[name] as tf.TensorInfo;
  const v = floatValues(b, t);
  if (!v || t.shape.length !== 4) throw new Error(`${name} must be a float32 [n, h, w, c] tensor`);
  return { t, v, b };
}

/** Index of padded coordinate i (0 .. size + 2p - 1) in the unpadded axis: mirrored without repeating the edge. */
function reflect(i: number, p: number, size: number): number {
  const j = i - p;
  return j < 0 ? -j : j >= size ? 2 * (size - 1) - j : j;
}

/** y[n, i, j] = x[n, reflect(i), reflect(j)] (forward), or its adjoint: dx accumulates dy (gradient). */
function reflectionPadLoop(src: Float32Array, dst: Float32Array, n: number, h: number, w: number, c: number, p: number, adjoint: boolean): void {
  const [H, W] = [h + 2 * p, w + 2 * p];
  for (let b = 0; b < n; b++) {
    for (let i = 0; i < H; i++) {
      const row = reflect(i, p, h);
      for (let j = 0; j < W; j++) {
        const col = reflect(j, p, w);
        const padded = ((b * H + i) * W + j) * c;
        const plain = ((b * h + row) * w + col) * c;
        if (adjoint) for (let k = 0; k < c; k++) dst[plain + k] += src[padded + k];
        else for (let k = 0; k < c; k++) dst[padded + k] = src[plain + k];
      }
    }
  }
}

/** The 3x3 / 2 average over in-image pixels (forward), or its adjoint spreading dy back (gradient). */
function avgPoolLoop(src: Float32Array, dst: Float32Array, n: number, h: number, w: number, c: number, adjoint: boolean): void {
  const [oh, ow] = [pooledSize(h), pooledSize(w)];
  for (let b = 0; b < n; b++) {
    for (let oy = 0; oy < oh; oy++) {
      const [y0, y1] = [Math.max(0, 2 * oy - 1), Math.min(h - 1, 2 * oy + 1)];
      for (let ox = 0; ox < ow; ox++) {
        const [x0, x1] = [Math.max(0, 2 * ox - 1), Math.min(w - 1, 2 * ox + 1)];
        const scale = 1 / ((y1 - y0 + 1) * (x1 - x0 + 1));
        const o = ((b * oh + oy) * ow + ox) * c;
        for (let y = y0; y <= y1; y++) {
          for (let x = x0; x <= x1; x++) {
            const i = ((b * h + y) * w + x) * c;
            if (adjoint) for (let k = 0; k < c; k++) dst[i + k] += src[o + k] * scale;
            else for (let k = 0; k < c; k++) dst[o + k] += src[i + k] * scale;
          }
        }
      }
    }
  }
}

/** y = (x - mean) * invStd per image and channel (biased variance), as torch.nn.InstanceNorm2d without affine. */
function instanceNormLoop(n: number, area: number, c: number, v: Float32Array, eps: number, y: Float32Array, invStd: Float32Array): void {
  const sum = new Float64Array(c);
  const sq = new Float64Array(c);
  for (let s = 0; s < n; s++) {
    const base = s * area * c;
    sum.fill(0);
    sq.fill(0);
    for (let p = 0; p < area; p++) for (let k = 0; k < c; k++) sum[k] += v[base + p * c + k];
    for (let k = 0; k < c; k++) sum[k] /= area;
    for (let p = 0; p < area; p++) for (let k = 0; k < c; k++) {
      const d = v[base + p * c + k] - sum[k];
      sq[k] += d * d;
    }
    for (let k = 0; k < c; k++) invStd[s * c + k] = 1 / Math.sqrt(sq[k] / area + eps);
    for (let p = 0; p < area; p++) for (let k = 0; k < c; k++) y[base + p * c + k] = (v[base + p * c + k] - sum[k]) * invStd[s * c + k];
  }
}

/** dx = invStd * (dy - mean(dy) - y * mean(dy * y)), means over each image's pixels, per channel. */
function instanceNormGradLoop(n: number, area: number, c: number, dy: Float32Array, y: Float32Array, invStd: Float32Array, dx: Float32Array): void {
  const mdy = new Float64Array(c);
  const mdyy = new Float64Array(c);
  for (let s = 0; s < n; s++) {
    const base = s * area * c;
    mdy.fill(0);
    mdyy.fill(0);
    for (let p = 0; p < area; p++) for (let k = 0; k < c; k++) {
      const i = base + p * c + k;
      mdy[k] += dy[i];
      mdyy[k] += dy[i] * y[i];
    }
    for (let k = 0; k < c; k++) {
      mdy[k] /= area;
      mdyy[k] /= area;
    }
    for (let p = 0; p < area; p++) for (let k = 0; k < c; k++) {
      const i = base + p * c + k;
      dx[i] = invStd[s * c + k] * (dy[i] - mdy[k] - y[i] * mdyy[k]);
    }
  }
}

/** The loops behind the kernels: JavaScript, or the addon's (same arguments). */
interface Loops {
  instanceNorm: typeof instanceNormLoop;
  instanceNormGrad: typeof instanceNormGradLoop;
  reflectionPad(adjoint: boolean, n: number, h: number, w: number, c: number, p: number, src: Float32Array, dst: Float32Array): void;
  avgPool(adjoint: boolean, n: number, h: number, w: number, c: number, src: Float32Array, dst: Float32Array): void;
}

const javascriptLoops: Loops = {
  instanceNorm: instanceNormLoop,
  instanceNormGrad: instanceNormGradLoop,
  reflectionPad: (adjoint, n, h, w, c, p, src, dst) => reflectionPadLoop(src, dst, n, h, w, c, p, adjoint),
  avgPool: (adjoint, n, h, w, c, src, dst) => avgPoolLoop(src, dst, n, h, w, c, adjoint),
};

const nativeLoops = (addon: NativeAddon): Loops => ({
  instanceNorm: (...a) => addon.instanceNorm(...a),
  instanceNormGrad: (...a) => addon.instanceNormGrad(...a),
  reflectionPad: (...a) => addon.reflectionPad(...a),
  // Forward: the addon's pooling with a 3x3 window, stride 2 and padding 1 averages over in-image pixels too.
  avgPool: (adjoint, n, h, w, c, src, dst) => adjoint
    ? addon.avgPool3x3s2Grad(n, h, w, c, src, dst)
    : addon.pool2d(false, Int32Array.from([n, h, w, c, 3, 3, pooledSize(h), pooledSize(w), 2, 2, 1, 1]), src, dst),
});

export function registerImageOpKernels(addon: NativeAddon | null): string[] {
  const loops = addon ? nativeLoops(addon) : javascriptLoops;
  const padKernel = (adjoint: boolean) => (args: KernelArgs) => {
    const { t, v, b } = input(args, adjoint ? 'dy' : 'x');
    const p = Number(args.attrs?.pad);
    const [n, , , c] = t.shape;
    const [h, w] = adjoint ? [t.shape[1] - 2 * p, t.shape[2] - 2 * p] : [t.shape[1], t.shape[2]];
    const shape = adjoint ? [n, h, w, c] : [n, h + 2 * p, w + 2 * p, c];
    // The padded map is written whole; the adjoint sums into zeros.
    const out = (adjoint ? outputFloats : overwrittenFloats)(b, shape.reduce((a, q) => a * q, 1));
    loops.reflectionPad(adjoint, n, h, w, c, p, v, out);
    return makeFloatTensor(b, shape, out);
  };
  tf.registerKernel({ kernelName: REFLECTION_PAD, backendName: 'cpu', kernelFunc: padKernel(false) as tf.KernelFunc });
  tf.registerKernel({ kernelName: REFLECTION_PAD_GRAD, backendName: 'cpu', kernelFunc: padKernel(true) as tf.KernelFunc });

  tf.registerKernel({
    kernelName: AVG_POOL_3X3S2, backendName: 'cpu',
    kernelFunc: ((args: KernelArgs) => {
      const { t, v, b } = input(args, 'x');
      const [n, h, w, c] = t.shape;
      const shape = [n, pooledSize(h), pooledSize(w), c];
      const out = outputFloats(b, shape.reduce((a, q) => a * q, 1));
      loops.avgPool(false, n, h, w, c, v, out);
      return makeFloatTensor(b, shape, out);
    }) as tf.KernelFunc,
  });
  tf.registerKernel({
    kernelName: AVG_POOL_3X3S2_GRAD, backendName: 'cpu',
    kernelFunc: ((args: KernelArgs) => {
      const { t, v, b } = input(args, 'dy');
      const [h, w] = [Number(args.attrs?.height), Number(args.attrs?.width)];
      const [n, , , c] = t.shape;
      const out = outputFloats(b, n * h * w * c);
      loops.avgPool(true, n, h, w, c, v, out);
      return makeFloatTensor(b, [n, h, w, c], out);
    }) as tf.KernelFunc,
  });

  tf.registerKernel({
    kernelName: INSTANCE_NORM, backendName: 'cpu',
    kernelFunc: ((args: KernelArgs) => {
      const { t, v, b } = input(args, 'x');
      const [n, h, w, c] = t.shape;
      const y = overwrittenFloats(b, v.length);
      const invStd = outputFloats(b, n * c);
      loops.instanceNorm(n, h * w, c, v, Number(args.attrs?.eps), y, invStd);
      return [makeFloatTensor(b, t.shape, y), makeFloatTensor(b, [n, c], invStd)];
    }) as tf.KernelFunc,
  });
  tf.registerKernel({
    kernelName: INSTANCE_NORM_GRAD, backendName: 'cpu',
    kernelFunc: ((args: KernelArgs) => {
      const { t, v: dy, b } = input(args, 'dy');
      const [n, h, w, c] = t.shape;
      const dx = overwrittenFloats(b, dy.length);
      loops.instanceNormGrad(n, h * w, c, dy, input(args, 'y').v, floatValues(b, args.inputs.invStd as tf.TensorInfo)!, dx);
      return makeFloatTensor(b, t.shape, dx);
    }) as tf.KernelFunc,
  });
  registerImageOpGradients();
  return [...IMAGE_OP_KERNELS];
}
