/// <reference types="@webgpu/types" />
import * as tf from '@tensorflow/tfjs-core';
import { GpuContext, type Dispatch, type Region } from './context.ts';
import { convFilterGrad, convForward, convInputGrad, outSize, type ConvGeometry, type ConvTuning } from './kernels/conv.ts';
import { gemm, rowMajorByK, rowMajorByOuter } from './kernels/gemm.ts';
import { matrixTuning } from './matrix-products.ts';
import { avgPool3x3s2, avgPool3x3s2Adjoint, instanceMeans, instanceNorm, instanceNormGrad, reflectionPad, reflectionPadAdjoint, type ImageShape } from './kernels/image-ops.ts';
import { AVG_POOL_3X3S2, AVG_POOL_3X3S2_GRAD, IMAGE_OP_KERNELS, INSTANCE_MEANS, INSTANCE_NORM, INSTANCE_NORM_GRAD, pooledSize, REFLECTION_PAD, REFLECTION_PAD_GRAD, registerImageOpGradients } from '../kernels/image-ops.ts';
import { bindingsInUse } from './step-recording.ts';
import { affine, affineGrad } from './kernels/affine.ts';
import { normalNoise } from './kernels/noise.ts';
import { SEGMENT_SUM_MAX_ROWS, segmentSum } from './kernels/segment-sum.ts';
import { AXIS_SUMS_MAX_OUTER, axisSums } from './kernels/axis-sums.ts';
import { NORMAL_NOISE } from '../kernels/normal-noise.ts';
import { batchNormTrain, batchNormTrainGrad, type BatchNormTrainRegions } from './kernels/batch-norm.ts';
import { adamInto, intToFloat, pointwise, f32 } from './kernels/pointwise.ts';
import { LEAKY_RELU_GRAD, registerActivationGradients } from '../kernels/activation.ts';
import { ADAM } from '../kernels/adam.ts';
import { AFFINE, AFFINE_GRAD, AFFINE_KERNELS, registerAffineGradient } from '../kernels/affine.ts';
import { BATCH_NORM_KERNELS, BATCH_NORM_TRAIN, BATCH_NORM_TRAIN_GRAD, registerBatchNormGradient } from '../kernels/batch-norm.ts';
import { swapKernels } from '../kernels/registry.ts';

/**
 * gantry's WGSL convolutions, matrix products and sums as tfjs's WebGPU kernels (Conv2D,
 * Conv2DBackpropInput, which conv2dTranspose is, Conv2DBackpropFilter, BatchMatMul, batched or not, Sum and
 * Mean over neighbouring axes, and FusedConv2D / _FusedMatMul, whose bias and activation the GEMM's store
 * applies), so every family's step runs on them, eager or recorded and replayed; UnsortedSegmentSum (a
 * gather's gradient), without tfjs's float atomics, so that its sums come out the same every run; and Cast,
 * whose int32 and bool to float32 tfjs gets wrong (castKernel). tfjs's own kernels remain for what these do
 * not cover (dilations, NCHW, PReLU, sums over axes apart, integers) and are the reference in tests
 * (withTfjsGpuKernels); gpuKernelCalls counts the calls passed on to them.
 * Beside them, gantry's own ops, which tfjs has no kernels of: pix2pixHD's per-image ops
 * (src/kernels/image-ops.ts: reflection padding, the 3x3 / 2 average pooling, instance norm, and their
 * gradients, and the feature encoder's instance means), noise drawn on the GPU (src/kernels/normal-noise.ts),
 * DF-GAN's Affine (src/kernels/affine.ts), training-mode batch norm (src/kernels/batch-norm.ts), Adam's
 * update (src/kernels/adam.ts) and the activations' gradient (src/kernels/activation.ts). Without these,
 * the networks and the optimizer build them from tfjs ops (src/nn/pix2pixhd.ts,
 * src/nn/dfgan-blocks.ts, src/nn/layers.ts, src/optim/adam.ts), as under withTfjsGpuKernels.
 */

interface Backend {
  device: GPUDevice;
  tensorMap: { get(dataId: object): { resource: unknown } | undefined };
  commandEncoder: GPUCommandEncoder | null;
  computePassEncoder: GPUComputePassEncoder | null;
  dispatchCountInPass: number;
  commandQueueOwnedIds: WeakSet<object>;
  uploadToGPU(dataId: object): void;
  makeTensorInfo(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  ensureCommandEncoderReady(): void;
  endComputePassEncoder(): void;
  submitQueue(): void;
}

type KernelFunc = tf.KernelConfig['kernelFunc'];
type Args = Parameters<KernelFunc>[0];

const NAMES = ['Conv2D', 'Conv2DBackpropInput', 'Conv2DBackpropFilter', 'BatchMatMul', 'FusedConv2D', '_FusedMatMul', 'Sum', 'Mean', 'Cast', 'UnsortedSegmentSum'] as const;
const originals = new Map<string, KernelFunc>();
const ours = new Map<string, KernelFunc>();
let context: GpuContext | null = null;
/** How the convolutions' products run (by Winograd or not): registerGpuKernels's options. */
let convTuning: ConvTuning = {};

/** The convolutions' tuning now: a generator's draw, or a training step where asked, takes the matrix tile (../matrix-products.ts). */
function productTuning(): ConvTuning {
  return { ...convTuning, ...matrixTuning() };
}

/** Calls answered by gantry's kernels and passed on to tfjs's (the cases these do not cover), for tests. */
export const gpuKernelCalls = { gantry: 0, tfjs: 0 };

function fallback(name: string, args: Args): tf.TensorInfo {
  gpuKernelCalls.tfjs++;
  return originals.get(name)!(args) as tf.TensorInfo;
}

function region(backend: Backend, t: tf.TensorInfo): Region {
  backend.uploadToGPU(t.dataId);
  return { buffer: backend.tensorMap.get(t.dataId)!.resource as GPUBuffer, offset: 0, length: tf.util.sizeFromShape(t.shape) };
}

/** Encodes the dispatches into tfjs's current compute pass, as its own kernels are, and returns `out`. */
function run<T extends tf.TensorInfo | tf.TensorInfo[]>(backend: Backend, dispatches: Dispatch[], tensors: tf.TensorInfo[], out: T): T {
  gpuKernelCalls.gantry++;
  bindingsInUse(tensors.map((t) => backend.tensorMap.get(t.dataId)!.resource as GPUBuffer));
  backend.ensureCommandEncoderReady();
  backend.computePassEncoder ??= backend.commandEncoder!.beginComputePass();
  const pass = backend.computePassEncoder;
  for (const d of dispatches) {
    pass.setPipeline(d.pipeline);
    pass.setBindGroup(0, d.bindGroup);
    pass.dispatchWorkgroups(d.workgroups[0], d.workgroups[1], d.workgroups[2]);
    backend.dispatchCountInPass++;
  }
  // tfjs defers freeing the buffers of tensors its unsubmitted commands use.
  for (const t of tensors) backend.commandQueueOwnedIds.add(t.dataId);
  if (backend.dispatchCountInPass >= tf.env().getNumber('WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE')) {
    backend.endComputePassEncoder();
    backend.submitQueue();
  }
  return out;
}

/** The convolutions gantry's kernels compute: NHWC, float32, no dilation (any filter, strides and padding). */
function geometry(c: tf.backend_util.Conv2DInfo): ConvGeometry | null {
  if (c.dataFormat !== 'channelsLast' || c.dilationHeight !== 1 || c.dilationWidth !== 1) return null;
  const { top, bottom, left, right } = c.padInfo;
  const g: ConvGeometry = { batch: c.batchSize, h: c.inHeight, w: c.inWidth, inC: c.inChannels, outC: c.outChannels, kh: c.filterHeight, kw: c.filterWidth, sh: c.strideHeight, sw: c.strideWidth, padTop: top, padBottom: bottom, padLeft: left, padRight: right };
  // tfjs's output size under a rounding mode may not be the one the padding gives.
  const { oh, ow } = outSize(g);
  return oh === c.outHeight && ow === c.outWidth ? g : null;
}

interface ConvAttrs {
  strides: number | [number, number];
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dilations?: number | [number, number];
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  inputShape?: [number, number, number, number];
  filterShape?: [number, number, number, number];
}

function convInfo(xShape: number[], filterShape: number[], a: ConvAttrs): tf.backend_util.Conv2DInfo {
  return tf.backend_util.computeConv2DInfo(xShape as [number, number, number, number], filterShape as [number, number, number, number], a.strides, a.dilations ?? 1, a.pad, a.dimRoundingMode, false, tf.backend_util.convertConv2DDataFormat(a.dataFormat));
}

const float32 = (...ts: tf.TensorInfo[]) => ts.every((t) => t.dtype === 'float32');

type ConvProduct = (ctx: GpuContext, label: string, g: ConvGeometry, a: Region, b: Region, out: Region) => Dispatch[];

/** tfjs's fused activations as WGSL of v (tfjs's formulas); null for PReLU, which needs its weights. */
function activationWgsl(activation: string | undefined, alpha: number | undefined): string | null {
  switch (activation ?? 'linear') {
    case 'linear': return 'v';
    case 'relu': return 'select(v, 0.0, v < 0.0)';
    case 'relu6': return 'clamp(v, 0.0, 6.0)';
    case 'leakyrelu': return `select(v, ${f32(alpha ?? 0.2)} * v, v < 0.0)`;
    case 'elu': return 'select(v, exp(v) - 1.0, v < 0.0)';
    case 'sigmoid': return '1.0 / (1.0 + exp(-v))';
    default: return null;
  }
}

interface FusedInputs {
  bias?: tf.TensorInfo;
  preluActivationWeights?: tf.TensorInfo;
}

/**
 * The bias and activation of a fused kernel as the GEMM's epilogue: a float32 bias of one value per
 * output column, an activation of activationWgsl; null (tfjs's kernel then) for anything else.
 */
function fusedEpilogue(backend: Backend, inputs: FusedInputs, attrs: { activation?: string; leakyreluAlpha?: number }, columns: number): { bias?: Region; activation?: string } | null {
  const { bias, preluActivationWeights } = inputs;
  const activation = activationWgsl(attrs.activation, attrs.leakyreluAlpha);
  if (activation === null || preluActivationWeights) return null;
  if (bias && (bias.dtype !== 'float32' || tf.util.sizeFromShape(bias.shape) !== columns || bias.shape[bias.shape.length - 1] !== columns)) return null;
  return { bias: bias ? region(backend, bias) : undefined, activation: activation === 'v' ? undefined : activation };
}

/**
 * One of the convolution's three products as a tfjs kernel: its two inputs by name, the convolution and
 * output shape they imply, the product that computes it; what the geometry does not cover goes to tfjs's.
 */
function convKernel(name: string, inputs: [string, string], shapes: (a: tf.TensorInfo, b: tf.TensorInfo, attrs: ConvAttrs) => { info: tf.backend_util.Conv2DInfo; out: number[] }, product: ConvProduct): KernelFunc {
  return ((args: Args) => {
    const backend = args.backend as unknown as Backend;
    const [a, b] = inputs.map((n) => args.inputs[n] as tf.TensorInfo);
    const { info, out: shape } = shapes(a, b, args.attrs as unknown as ConvAttrs);
    const g = float32(a, b) ? geometry(info) : null;
    if (!g) return fallback(name, args);
    const out = backend.makeTensorInfo(shape, 'float32');
    return run(backend, product(context!, name, g, region(backend, a), region(backend, b), region(backend, out)), [a, b, out], out);
  }) as KernelFunc;
}

/**
 * How a product's batch axes (all but the last two) meet, as tfjs's BatchMatMul takes them: one matrix of
 * an operand shared by all products, or one per product; the broadcast batch shape, and each operand's stride
 * in matrices (0 when shared). null for anything else (which tfjs's kernel refuses too).
 */
function batchOf(a: number[], b: number[]): { shape: number[]; count: number; strideA: number; strideB: number } | null {
  const [outerA, outerB] = [a.slice(0, -2), b.slice(0, -2)];
  const rank = Math.max(outerA.length, outerB.length);
  const padded = (o: number[]) => [...Array(rank - o.length).fill(1), ...o];
  const [pa, pb] = [padded(outerA), padded(outerB)];
  if (pa.some((d, i) => d !== pb[i] && d !== 1 && pb[i] !== 1)) return null;
  const shape = pa.map((d, i) => Math.max(d, pb[i]));
  const count = tf.util.sizeFromShape(shape);
  const stride = (p: number[]) => (tf.util.sizeFromShape(p) === 1 ? 0 : p.every((d, i) => d === shape[i]) ? 1 : null);
  const [strideA, strideB] = [stride(pa), stride(pb)];
  return strideA === null || strideB === null ? null : { shape, count, strideA, strideB };
}

/**
 * Matrix products ([..., M, K] x [..., K, N], either transposed, batched as batchOf says), and
 * _FusedMatMul's with a bias of N values and an activation.
 */
function matMulKernel(name: 'BatchMatMul' | '_FusedMatMul'): KernelFunc {
  return ((args: Args) => {
    const backend = args.backend as unknown as Backend;
    const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
    const attrs = args.attrs as unknown as { transposeA: boolean; transposeB: boolean; activation?: string; leakyreluAlpha?: number };
    const [ra, rb] = [a.shape.length, b.shape.length];
    const batch = ra >= 2 && rb >= 2 ? batchOf(a.shape, b.shape) : null;
    if (!batch || !float32(a, b)) return fallback(name, args);
    const [M, K] = attrs.transposeA ? [a.shape[ra - 1], a.shape[ra - 2]] : [a.shape[ra - 2], a.shape[ra - 1]];
    const N = attrs.transposeB ? b.shape[rb - 2] : b.shape[rb - 1];
    const epilogue = fusedEpilogue(backend, args.inputs as FusedInputs, attrs, N);
    if (!epilogue) return fallback(name, args);
    const out = backend.makeTensorInfo([...batch.shape, M, N], 'float32');
    if (M * N === 0) return out;
    const spec = {
      label: 'matmul', M, N, K, a: attrs.transposeA ? rowMajorByOuter(M) : rowMajorByK(K), b: attrs.transposeB ? rowMajorByK(K) : rowMajorByOuter(N), activation: epilogue.activation,
      batch: batch.count > 1 ? { count: batch.count, a: batch.strideA * M * K, b: batch.strideB * K * N, c: M * N } : undefined,
    };
    const bias = (args.inputs as FusedInputs).bias;
    // Over K = 0 the operands are empty, which no binding may be, and never read: a stand-in is bound.
    const operand = (t: tf.TensorInfo) => (K === 0 ? context!.region(context!.scratch(1, 'empty operand'), 1) : region(backend, t));
    return run(backend, gemm(context!, spec, operand(a), operand(b), region(backend, out), { bias: epilogue.bias, ...matrixTuning() }), [a, b, out, ...(bias ? [bias] : [])], out);
  }) as KernelFunc;
}

/** FusedConv2D: the convolution with its bias and activation in the GEMM's store. */
function fusedConv2d(args: Args): tf.TensorInfo {
  const backend = args.backend as unknown as Backend;
  const { x, filter } = args.inputs as { x: tf.TensorInfo; filter: tf.TensorInfo };
  const attrs = args.attrs as unknown as ConvAttrs & { activation?: string; leakyreluAlpha?: number };
  const info = convInfo(x.shape, filter.shape, attrs);
  const g = float32(x, filter) ? geometry(info) : null;
  const epilogue = g && fusedEpilogue(backend, args.inputs as FusedInputs, attrs, info.outChannels);
  if (!g || !epilogue) return fallback('FusedConv2D', args);
  const out = backend.makeTensorInfo(info.outShape, 'float32');
  const bias = (args.inputs as FusedInputs).bias;
  return run(backend, convForward(context!, 'FusedConv2D', g, region(backend, x), region(backend, filter), region(backend, out), epilogue, productTuning()), [x, filter, out, ...(bias ? [bias] : [])], out);
}

/**
 * Sum and Mean over one contiguous block of axes (leading: bias gradients, losses' totals; trailing: row
 * totals; middle: a feature map's pixels) as gantry's axisSums; axes apart, other dtypes and more than
 * AXIS_SUMS_MAX_OUTER outer blocks go to tfjs's kernel.
 */
function axisReduction(name: 'Sum' | 'Mean'): KernelFunc {
  return ((args: Args) => {
    const backend = args.backend as unknown as Backend;
    const x = args.inputs.x as tf.TensorInfo;
    const { axis, keepDims } = args.attrs as unknown as { axis: number | number[]; keepDims: boolean };
    const axes = tf.util.parseAxisParam(axis, x.shape).sort((a, b) => a - b);
    const size = tf.util.sizeFromShape(x.shape);
    if (x.dtype !== 'float32' || size === 0 || !axes.length || !axes.every((a, i) => a === axes[0] + i)) return fallback(name, args);
    const [first, last] = [axes[0], axes[axes.length - 1]];
    const shape = { outer: tf.util.sizeFromShape(x.shape.slice(0, first)), reduce: tf.util.sizeFromShape(x.shape.slice(first, last + 1)), inner: tf.util.sizeFromShape(x.shape.slice(last + 1)) };
    if (shape.outer > AXIS_SUMS_MAX_OUTER) return fallback(name, args);
    const out = backend.makeTensorInfo(keepDims ? x.shape.map((d, i) => (axes.includes(i) ? 1 : d)) : x.shape.filter((_, i) => !axes.includes(i)), 'float32');
    return run(backend, axisSums(context!, shape, name === 'Mean' ? shape.reduce : 1, region(backend, x), region(backend, out)), [x, out], out);
  }) as KernelFunc;
}

/** One of the per-image ops: its input (NHWC float32), output shape and dispatches. */
function imageOp(inputName: string, outShape: (s: ImageShape, attrs: tf.NamedAttrMap) => number[], ops: (ctx: GpuContext, s: ImageShape, attrs: tf.NamedAttrMap, x: Region, y: Region) => Dispatch[]): KernelFunc {
  return ((args: Args) => {
    const backend = args.backend as unknown as Backend;
    const x = args.inputs[inputName] as tf.TensorInfo;
    if (x.shape.length !== 4 || x.dtype !== 'float32') throw new Error(`${inputName} must be a float32 [n, h, w, c] tensor`);
    const [n, h, w, c] = x.shape;
    const attrs = args.attrs ?? {};
    const s = { n, h, w, c };
    const out = backend.makeTensorInfo(outShape(s, attrs), 'float32');
    return run(backend, ops(context!, s, attrs, region(backend, x), region(backend, out)), [x, out], out);
  }) as KernelFunc;
}

function instanceNormKernel(args: Args): tf.TensorInfo[] {
  const backend = args.backend as unknown as Backend;
  const x = args.inputs.x as tf.TensorInfo;
  const [n, h, w, c] = x.shape;
  const y = backend.makeTensorInfo(x.shape, 'float32');
  const invStd = backend.makeTensorInfo([n, c], 'float32');
  const dispatches = instanceNorm(context!, { n, h, w, c }, Number(args.attrs?.eps), region(backend, x), region(backend, y), region(backend, invStd));
  return run(backend, dispatches, [x, y, invStd], [y, invStd]);
}

function instanceNormGradKernel(args: Args): tf.TensorInfo {
  const backend = args.backend as unknown as Backend;
  const { dy, y, invStd } = args.inputs as { dy: tf.TensorInfo; y: tf.TensorInfo; invStd: tf.TensorInfo };
  const [n, h, w, c] = dy.shape;
  const dx = backend.makeTensorInfo(dy.shape, 'float32');
  const dispatches = instanceNormGrad(context!, { n, h, w, c }, region(backend, dy), region(backend, y), region(backend, invStd), region(backend, dx));
  return run(backend, dispatches, [dy, y, invStd, dx], dx);
}

function instanceMeansKernel(args: Args): tf.TensorInfo {
  const backend = args.backend as unknown as Backend;
  const { x, ids } = args.inputs as { x: tf.TensorInfo; ids: tf.TensorInfo };
  if (x.shape.length !== 4 || x.dtype !== 'float32' || ids.dtype !== 'int32' || ids.shape.join() !== x.shape.slice(0, 3).join()) throw new Error('instance means take float32 [n, h, w, c] features and int32 [n, h, w] ids');
  const [n, h, w, c] = x.shape;
  const y = backend.makeTensorInfo(x.shape, 'float32');
  return run(backend, instanceMeans(context!, { n, h, w, c }, region(backend, x), region(backend, ids), region(backend, y)), [x, ids, y], y);
}

function normalNoiseKernel(args: Args): tf.TensorInfo {
  const backend = args.backend as unknown as Backend;
  const seed = args.inputs.seed as tf.TensorInfo;
  const shape = args.attrs?.shape as number[];
  if (seed.dtype !== 'int32' || tf.util.sizeFromShape(seed.shape) !== 4) throw new Error('normal noise takes an int32 seed of 4 words');
  const out = backend.makeTensorInfo(shape, 'float32');
  const count = tf.util.sizeFromShape(shape);
  return run(backend, count ? [normalNoise(context!, region(backend, seed), region(backend, out), count)] : [], [seed, out], out);
}

const IMAGE_KERNELS: Record<(typeof IMAGE_OP_KERNELS)[number], KernelFunc> = {
  [REFLECTION_PAD]: imageOp('x', (s, a) => [s.n, s.h + 2 * Number(a.pad), s.w + 2 * Number(a.pad), s.c], (ctx, s, a, x, y) => [reflectionPad(ctx, s, Number(a.pad), x, y)]),
  // dy is the padded map; the op's shape is the unpadded one.
  [REFLECTION_PAD_GRAD]: imageOp('dy', (s, a) => [s.n, s.h - 2 * Number(a.pad), s.w - 2 * Number(a.pad), s.c], (ctx, s, a, dy, dx) => {
    const p = Number(a.pad);
    return [reflectionPadAdjoint(ctx, { ...s, h: s.h - 2 * p, w: s.w - 2 * p }, p, dy, dx)];
  }),
  [AVG_POOL_3X3S2]: imageOp('x', (s) => [s.n, pooledSize(s.h), pooledSize(s.w), s.c], (ctx, s, _a, x, y) => [avgPool3x3s2(ctx, s, x, y)]),
  // dy is the pooled map; the attributes give the input's size.
  [AVG_POOL_3X3S2_GRAD]: imageOp('dy', (s, a) => [s.n, Number(a.height), Number(a.width), s.c], (ctx, s, a, dy, dx) => [avgPool3x3s2Adjoint(ctx, { ...s, h: Number(a.height), w: Number(a.width) }, dy, dx)]),
  [INSTANCE_NORM]: instanceNormKernel as unknown as KernelFunc,
  [INSTANCE_NORM_GRAD]: instanceNormGradKernel as KernelFunc,
};

function affineKernel(args: Args): tf.TensorInfo {
  const backend = args.backend as unknown as Backend;
  const { x, gamma, beta } = args.inputs as { x: tf.TensorInfo; gamma: tf.TensorInfo; beta: tf.TensorInfo };
  const [n, h, w, c] = x.shape;
  const y = backend.makeTensorInfo(x.shape, 'float32');
  return run(backend, [affine(context!, { n, h, w, c }, region(backend, x), region(backend, gamma), region(backend, beta), region(backend, y))], [x, gamma, beta, y], y);
}

function affineGradKernel(args: Args): tf.TensorInfo[] {
  const backend = args.backend as unknown as Backend;
  const { dy, x, gamma } = args.inputs as { dy: tf.TensorInfo; x: tf.TensorInfo; gamma: tf.TensorInfo };
  const [n, h, w, c] = x.shape;
  const dx = backend.makeTensorInfo(x.shape, 'float32');
  const dgamma = backend.makeTensorInfo([n, c], 'float32');
  const dbeta = backend.makeTensorInfo([n, c], 'float32');
  const dispatches = affineGrad(context!, { n, h, w, c }, region(backend, dy), region(backend, x), region(backend, gamma), region(backend, dx), region(backend, dgamma), region(backend, dbeta));
  return run(backend, dispatches, [dy, x, gamma, dx, dgamma, dbeta], [dx, dgamma, dbeta]);
}

/** Rows (every axis but the last) and channels of a float32 tensor a per-channel op reads. */
function rowsAndChannels(x: tf.TensorInfo): [number, number] {
  if (x.dtype !== 'float32' || x.shape.length < 1) throw new Error('batch norm takes a float32 tensor of at least one axis');
  const c = x.shape[x.shape.length - 1];
  return [tf.util.sizeFromShape(x.shape) / c, c];
}

function batchNormKernel(args: Args): tf.TensorInfo[] {
  const backend = args.backend as unknown as Backend;
  const inputs = args.inputs as Record<'x' | 'gamma' | 'beta' | 'runningMean' | 'runningVar', tf.TensorInfo>;
  const [rows, c] = rowsAndChannels(inputs.x);
  const outputs = { y: backend.makeTensorInfo(inputs.x.shape, 'float32'), ...Object.fromEntries(['mean', 'variance', 'newRunningMean', 'newRunningVar'].map((k) => [k, backend.makeTensorInfo([c], 'float32')])) };
  const regions = Object.fromEntries(Object.entries({ ...inputs, ...outputs }).map(([k, t]) => [k, region(backend, t)])) as unknown as BatchNormTrainRegions;
  const dispatches = batchNormTrain(context!, rows, c, Number(args.attrs?.eps), Number(args.attrs?.momentum), regions);
  const { y, mean, variance, newRunningMean, newRunningVar } = outputs as Record<string, tf.TensorInfo>;
  return run(backend, dispatches, [...Object.values(inputs), ...Object.values(outputs)], [y, mean, variance, newRunningMean, newRunningVar]);
}

function batchNormGradKernel(args: Args): tf.TensorInfo[] {
  const backend = args.backend as unknown as Backend;
  const { dy, x, gamma, mean, variance } = args.inputs as Record<'dy' | 'x' | 'gamma' | 'mean' | 'variance', tf.TensorInfo>;
  const [rows, c] = rowsAndChannels(x);
  const dx = backend.makeTensorInfo(x.shape, 'float32');
  const [dgamma, dbeta] = [0, 1].map(() => backend.makeTensorInfo([c], 'float32'));
  const dispatches = batchNormTrainGrad(context!, rows, c, Number(args.attrs?.eps), region(backend, dy), region(backend, x), region(backend, gamma), region(backend, mean), region(backend, variance), region(backend, dx), region(backend, dgamma), region(backend, dbeta));
  return run(backend, dispatches, [dy, x, gamma, mean, variance, dx, dgamma, dbeta], [dx, dgamma, dbeta]);
}

const BATCH_NORM_KERNEL_FUNCS: Record<(typeof BATCH_NORM_KERNELS)[number], KernelFunc> = {
  [BATCH_NORM_TRAIN]: batchNormKernel as unknown as KernelFunc,
  [BATCH_NORM_TRAIN_GRAD]: batchNormGradKernel as unknown as KernelFunc,
};

/** Adam's update of one parameter (src/kernels/adam.ts) into three new tensors. */
function adamKernel(args: Args): tf.TensorInfo[] {
  const backend = args.backend as unknown as Backend;
  const { p, g, m, v, scalars } = args.inputs as Record<'p' | 'g' | 'm' | 'v' | 'scalars', tf.TensorInfo>;
  const hyper = args.attrs as unknown as { beta1: number; beta2: number; eps: number };
  if (!float32(p, g, m, v, scalars)) throw new Error('Adam\'s kernel takes float32 tensors');
  const outs = [0, 1, 2].map(() => backend.makeTensorInfo(p.shape, 'float32'));
  const [pOut, mOut, vOut] = outs.map((t) => region(backend, t));
  const dispatch = adamInto(context!, tf.util.sizeFromShape(p.shape), hyper, region(backend, p), region(backend, g), region(backend, m), region(backend, v), region(backend, scalars), pOut, mOut, vOut);
  return run(backend, [dispatch], [p, g, m, v, scalars, ...outs], outs);
}

/** ReLU's, LeakyReLU's and |x|'s gradient (src/kernels/activation.ts): dx = x > 0 ? dy : alpha * dy, one pass. */
function leakyReluGradKernel(args: Args): tf.TensorInfo {
  const backend = args.backend as unknown as Backend;
  const { dy, x } = args.inputs as { dy: tf.TensorInfo; x: tf.TensorInfo };
  if (!float32(dy, x)) throw new Error('the activation gradient takes float32 tensors');
  const dx = backend.makeTensorInfo(x.shape, 'float32');
  const alpha = Number(args.attrs?.alpha ?? 0);
  const dispatch = pointwise(context!, 'leaky-relu-grad', tf.util.sizeFromShape(x.shape), `select(${f32(alpha)} * a, a, b > 0.0)`, [region(backend, dy), region(backend, x)], region(backend, dx));
  return run(backend, [dispatch], [dy, x, dx], dx);
}

/**
 * Cast of int32 or bool to float32. tfjs's WebGPU kernel relabels the tensor as float32 without converting it,
 * as the CPU and WebGL backends may, whose data is held as numbers: a WebGPU buffer holds those dtypes as
 * 32-bit integers, which gantry's kernels, binding every input as f32, then read as tiny floats (cgan's and
 * AC-GAN's one-hot class weights, through the embedding's matrix product, read as zeros). Converted here; every
 * other cast goes to tfjs's. (Integers still on the host are converted as tfjs uploads them: the relabelling
 * went wrong only for those a GPU kernel had computed.)
 */
function castKernel(args: Args): tf.TensorInfo {
  const backend = args.backend as unknown as Backend;
  const { x } = args.inputs as { x: tf.TensorInfo };
  const n = tf.util.sizeFromShape(x.shape);
  // Not a case gantry's kernels leave to tfjs's (gpuKernelCalls): tfjs's Cast is right for these.
  if ((args.attrs as { dtype?: string }).dtype !== 'float32' || (x.dtype !== 'int32' && x.dtype !== 'bool') || n === 0) return originals.get('Cast')!(args) as tf.TensorInfo;
  const y = backend.makeTensorInfo(x.shape, 'float32');
  const dispatch = intToFloat(context!, 'cast-to-float', n, region(backend, x), region(backend, y));
  return run(backend, [dispatch], [x, y], y);
}

/**
 * UnsortedSegmentSum (the gradient of gather: word-embedding tables) as gantry's deterministic segment sum;
 * tfjs's kernel adds with float atomics, in the GPU's order. Integer x and more than SEGMENT_SUM_MAX_ROWS
 * rows go to tfjs's.
 */
function unsortedSegmentSumKernel(args: Args): tf.TensorInfo {
  const backend = args.backend as unknown as Backend;
  const { x, segmentIds } = args.inputs as { x: tf.TensorInfo; segmentIds: tf.TensorInfo };
  const segments = Number((args.attrs as unknown as tf.UnsortedSegmentSumAttrs).numSegments);
  const rows = x.shape[0] ?? 0;
  if (x.dtype !== 'float32' || segmentIds.dtype !== 'int32' || segmentIds.shape.length !== 1 || segmentIds.shape[0] !== rows || rows > SEGMENT_SUM_MAX_ROWS) return fallback('UnsortedSegmentSum', args);
  const width = tf.util.sizeFromShape(x.shape.slice(1));
  const out = backend.makeTensorInfo([segments, ...x.shape.slice(1)], 'float32');
  const dispatches = segments * width === 0 ? [] : segmentSum(context!, rows, width, segments, region(backend, x), region(backend, segmentIds), region(backend, out));
  return run(backend, dispatches, [x, segmentIds, out], out);
}

const AFFINE_KERNEL_FUNCS: Record<(typeof AFFINE_KERNELS)[number], KernelFunc> = {
  [AFFINE]: affineKernel as KernelFunc,
  [AFFINE_GRAD]: affineGradKernel as unknown as KernelFunc,
};

const KERNELS: Record<(typeof NAMES)[number], KernelFunc> = {
  Conv2D: convKernel('Conv2D', ['x', 'filter'], (x, filter, attrs) => {
    const info = convInfo(x.shape, filter.shape, attrs);
    return { info, out: info.outShape };
  }, (ctx, label, g, x, w, y) => convForward(ctx, label, g, x, w, y, {}, productTuning())),
  // conv2dTranspose too: dy is its input, the convolution's input its output.
  Conv2DBackpropInput: convKernel('Conv2DBackpropInput', ['dy', 'filter'], (_dy, filter, attrs) => {
    const info = convInfo(attrs.inputShape!, filter.shape, attrs);
    return { info, out: info.inShape };
  }, (ctx, label, g, dy, w, dx) => convInputGrad(ctx, label, g, dy, w, dx, false, productTuning())),
  Conv2DBackpropFilter: convKernel('Conv2DBackpropFilter', ['x', 'dy'], (x, _dy, attrs) => ({ info: convInfo(x.shape, attrs.filterShape!, attrs), out: attrs.filterShape! }),
    (ctx, label, g, x, dy, dw) => convFilterGrad(ctx, label, g, x, dy, dw, false, productTuning())),
  BatchMatMul: matMulKernel('BatchMatMul'),
  FusedConv2D: fusedConv2d as KernelFunc,
  _FusedMatMul: matMulKernel('_FusedMatMul'),
  Sum: axisReduction('Sum'),
  Mean: axisReduction('Mean'),
  Cast: castKernel,
  UnsortedSegmentSum: unsortedSegmentSumKernel as KernelFunc,
};

/** The kernels registered over tfjs's. */
export function gantryGpuKernels(): string[] {
  return [...ours.keys()];
}

/** Whose convolution kernels the running engine uses: 'none' off WebGPU (benchmarks print it). */
export function gpuKernelsInUse(): 'none' | 'gantry' | 'tfjs' {
  if (tf.getBackend() !== 'webgpu') return 'none';
  return ours.size ? 'gantry' : 'tfjs';
}

/**
 * Registers gantry's kernels over tfjs's WebGPU ones (once, on the running webgpu backend). `winograd: false`
 * keeps 3x3 stride-1 convolutions on the implicit GEMMs (GANTRY_WINOGRAD=0; to compare).
 */
export function registerGpuKernels(options: { winograd?: boolean } = {}): string[] {
  if (context) return gantryGpuKernels();
  convTuning = options.winograd === false ? { winograd: false } : {};
  context = GpuContext.fromTfjs();
  for (const name of NAMES) {
    const existing = tf.getKernel(name, 'webgpu');
    if (!existing) continue;
    originals.set(name, existing.kernelFunc);
    ours.set(name, KERNELS[name]);
  }
  for (const name of IMAGE_OP_KERNELS) ours.set(name, IMAGE_KERNELS[name]);
  ours.set(INSTANCE_MEANS, instanceMeansKernel as KernelFunc);
  ours.set(NORMAL_NOISE, normalNoiseKernel as KernelFunc);
  for (const name of AFFINE_KERNELS) ours.set(name, AFFINE_KERNEL_FUNCS[name]);
  for (const name of BATCH_NORM_KERNELS) ours.set(name, BATCH_NORM_KERNEL_FUNCS[name]);
  ours.set(ADAM, adamKernel as unknown as KernelFunc);
  ours.set(LEAKY_RELU_GRAD, leakyReluGradKernel as KernelFunc);
  registerImageOpGradients();
  registerAffineGradient();
  registerBatchNormGradient();
  registerActivationGradients();
  swapKernels('webgpu', ours.keys(), ours);
  return gantryGpuKernels();
}

/** Runs fn on tfjs's own WebGPU kernels and ops (the reference in tests), then puts gantry's back. */
export function withTfjsGpuKernels<T>(fn: () => T): T {
  // gantry's own ops, which tfjs has no kernels of, go unregistered: callers then build them from tfjs ops.
  swapKernels('webgpu', ours.keys(), originals);
  try {
    return fn();
  } finally {
    swapKernels('webgpu', ours.keys(), ours);
  }
}
