import * as tf from '@tensorflow/tfjs-core';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import type { NativeAddon } from './native.ts';
import { overwrittenFloats } from './float-pool.ts';
import { floatValues, makeFloatTensor } from './backend-data.ts';
import { applyBiasActivation, supportsEpilogue } from './epilogue.ts';

type ConvInfo = tf.backend_util.Conv2DInfo;
type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: tf.KernelBackend; attrs?: tf.NamedAttrMap };
type KernelFunc = (args: KernelArgs) => tf.TensorInfo | tf.TensorInfo[];

function geometry(info: ConvInfo): Int32Array {
  return Int32Array.from([
    info.batchSize, info.inHeight, info.inWidth, info.inChannels,
    info.filterHeight, info.filterWidth, info.outChannels,
    info.outHeight, info.outWidth, info.strideHeight, info.strideWidth,
    info.dilationHeight, info.dilationWidth, info.padInfo.top, info.padInfo.left,
  ]);
}

const dataFormat = (f: unknown) => tf.backend_util.convertConv2DDataFormat((f as 'NHWC' | 'NCHW') ?? 'NHWC');

/** Builds the native Conv2D, Conv2DBackpropInput, Conv2DBackpropFilter and FusedConv2D kernels. */
export function nativeConvKernels(addon: NativeAddon, original: (name: string) => KernelFunc): Record<string, KernelFunc> {
  const conv2d: KernelFunc = (args) => {
    const { x, filter } = args.inputs as Record<string, tf.TensorInfo>;
    const a = args.attrs as unknown as tf.Conv2DAttrs;
    const backend = args.backend as MathBackendCPU;
    const xv = floatValues(backend, x);
    const wv = floatValues(backend, filter);
    if (!xv || !wv || a.dataFormat === 'NCHW') return original('Conv2D')(args);
    const info = tf.backend_util.computeConv2DInfo(x.shape as [number, number, number, number], filter.shape as [number, number, number, number],
      a.strides, a.dilations, a.pad, a.dimRoundingMode, false, dataFormat(a.dataFormat));
    const y = overwrittenFloats(backend, info.batchSize * info.outHeight * info.outWidth * info.outChannels);
    addon.conv2dForward(geometry(info), xv, wv, y);
    return makeFloatTensor(backend, info.outShape, y);
  };

  const backpropInput: KernelFunc = (args) => {
    const { dy, filter } = args.inputs as Record<string, tf.TensorInfo>;
    const a = args.attrs as unknown as tf.Conv2DBackpropInputAttrs;
    const backend = args.backend as MathBackendCPU;
    const dyv = floatValues(backend, dy);
    const wv = floatValues(backend, filter);
    if (!dyv || !wv || a.dataFormat === 'NCHW') return original('Conv2DBackpropInput')(args);
    const info = tf.backend_util.computeConv2DInfo(a.inputShape, filter.shape as [number, number, number, number],
      a.strides, 1, a.pad, a.dimRoundingMode, false, dataFormat(a.dataFormat));
    const dx = overwrittenFloats(backend, info.batchSize * info.inHeight * info.inWidth * info.inChannels);
    addon.conv2dBackpropInput(geometry(info), dyv, wv, dx);
    return makeFloatTensor(backend, info.inShape, dx);
  };

  const backpropFilter: KernelFunc = (args) => {
    const { x, dy } = args.inputs as Record<string, tf.TensorInfo>;
    const a = args.attrs as unknown as tf.Conv2DBackpropFilterAttrs;
    const backend = args.backend as MathBackendCPU;
    const xv = floatValues(backend, x);
    const dyv = floatValues(backend, dy);
    if (!xv || !dyv || a.dataFormat === 'NCHW') return original('Conv2DBackpropFilter')(args);
    const info = tf.backend_util.computeConv2DInfo(x.shape as [number, number, number, number], a.filterShape,
      a.strides, 1, a.pad, a.dimRoundingMode, false, dataFormat(a.dataFormat));
    const dw = overwrittenFloats(backend, info.filterHeight * info.filterWidth * info.inChannels * info.outChannels);
    addon.conv2dBackpropFilter(geometry(info), xv, dyv, dw);
    return makeFloatTensor(backend, a.filterShape, dw);
  };

  const fusedConv2d: KernelFunc = (args) => {
    const { x, filter, bias, preluActivationWeights } = args.inputs as Record<string, tf.TensorInfo | undefined> as { x: tf.TensorInfo; filter: tf.TensorInfo; bias?: tf.TensorInfo; preluActivationWeights?: tf.TensorInfo };
    const a = args.attrs as unknown as tf.FusedConv2DAttrs;
    const backend = args.backend as MathBackendCPU;
    const outChannels = filter.shape[3];
    if (a.dataFormat === 'NCHW' || !supportsEpilogue(a.activation, bias, preluActivationWeights, outChannels)) {
      return original('FusedConv2D')(args);
    }
    const y = conv2d({ inputs: { x, filter }, backend, attrs: args.attrs }) as tf.TensorInfo;
    const values = floatValues(backend, y);
    if (!values) return y;
    applyBiasActivation(addon, values, outChannels, bias ? floatValues(backend, bias) : null, a.activation, a.leakyreluAlpha);
    return y;
  };

  // Max and average pooling forward (their gradients stay tfjs's MaxPoolGrad / AvgPoolGrad).
  const pool = (name: 'MaxPool' | 'AvgPool'): KernelFunc => (args) => {
    const { x } = args.inputs as Record<string, tf.TensorInfo>;
    const a = args.attrs as unknown as tf.MaxPoolAttrs;
    const backend = args.backend as MathBackendCPU;
    const xv = floatValues(backend, x);
    if (!xv) return original(name)(args);
    const info = tf.backend_util.computePool2DInfo(x.shape as [number, number, number, number], a.filterSize, a.strides, 1, a.pad, a.dimRoundingMode);
    if (info.filterWidth === 1 && info.filterHeight === 1 && tf.util.arraysEqual(info.inShape, info.outShape)) return original(name)(args);
    const y = overwrittenFloats(backend, info.batchSize * info.outHeight * info.outWidth * info.outChannels);
    addon.pool2d(name === 'MaxPool', Int32Array.from([info.batchSize, info.inHeight, info.inWidth, info.inChannels, info.filterHeight, info.filterWidth,
      info.outHeight, info.outWidth, info.strideHeight, info.strideWidth, info.padInfo.top, info.padInfo.left]), xv, y);
    return makeFloatTensor(backend, info.outShape, y);
  };

  return { Conv2D: conv2d, Conv2DBackpropInput: backpropInput, Conv2DBackpropFilter: backpropFilter, FusedConv2D: fusedConv2d, MaxPool: pool('MaxPool'), AvgPool: pool('AvgPool') };
}
