import * as tf from '@tensorflow/tfjs-core';

/**
 * tfjs's WebGL convolutions (Conv2D, and FusedConv2D, which gantry's layers with a bias run) lay their
 * input out as one im2col texture, [batch, kh kw cin, outH outW] packed four floats a texel, when
 * WEBGL_CONV_IM2COL is on (its default). On a large map that texture is huge: pix2pixHD's full-resolution
 * 7x7 convolution at 512x1024 asks for 15206 x 15206 texels (3.7 GB), past any GPU's largest texture
 * (commonly 8192 or 16384 a side), and G1's at 256x512 for 925 MB. Such a convolution runs here in bands
 * of output rows, each band's im2col at most IM2COL_TEXELS (256 MB), and the bands are joined: the same
 * sums, the fast matrix product kept, memory bounded. Only where a single output row would not fit, or the
 * layout is NCHW, does it fall back to tfjs's direct convolution program, which reads the input where it
 * lies but runs several times slower.
 */
export function guardWebGlConvolutions(): void {
  for (const name of ['Conv2D', 'FusedConv2D']) {
    const kernel = tf.getKernel(name, 'webgl');
    if (!kernel || guarded.has(name)) continue;
    guarded.add(name);
    tf.unregisterKernel(name, 'webgl');
    tf.registerKernel({ ...kernel, kernelFunc: (args) => boundedConvolution(kernel.kernelFunc, args) });
  }
}

/** The largest im2col texture a convolution makes, in texels of four floats (2^24: 256 MB). */
export const IM2COL_TEXELS = 2 ** 24;

let texelLimit = IM2COL_TEXELS;

/** Sets the im2col limit (tests: small bands on small maps); returns the previous one. */
export function setIm2ColLimit(texels: number): number {
  const previous = texelLimit;
  texelLimit = texels;
  return previous;
}

const guarded = new Set<string>();

type ConvAttrs = { strides: number | [number, number]; pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding; dataFormat: 'NHWC' | 'NCHW'; dilations: number | [number, number]; dimRoundingMode?: 'floor' | 'round' | 'ceil' };
type KernelArgs = Parameters<tf.KernelFunc>[0];
type ConvInputs = { x: tf.TensorInfo; filter: tf.TensorInfo; bias?: tf.TensorInfo; preluActivationWeights?: tf.TensorInfo };

function boundedConvolution(run: tf.KernelFunc, args: KernelArgs): tf.TensorInfo | tf.TensorInfo[] {
  if (!tf.env().getBool('WEBGL_CONV_IM2COL')) return run(args);
  const inputs = args.inputs as ConvInputs;
  const a = args.attrs as unknown as ConvAttrs;
  const info = tf.backend_util.computeConv2DInfo(inputs.x.shape as [number, number, number, number], inputs.filter.shape as [number, number, number, number], a.strides, a.dilations, a.pad, a.dimRoundingMode, false, tf.backend_util.convertConv2DDataFormat(a.dataFormat));
  // tfjs runs these as one matrix product of the input, without im2col.
  const byMatMul = info.filterHeight === 1 && info.filterWidth === 1 && info.strideHeight === 1 && info.strideWidth === 1
    && info.dilationHeight === 1 && info.dilationWidth === 1 && (info.padInfo.type === 'SAME' || info.padInfo.type === 'VALID');
  if (byMatMul) return run(args);
  const texelsPerRow = info.batchSize * Math.ceil((info.filterHeight * info.filterWidth * info.inChannels) / 2) * (info.outWidth / 2);
  if (Math.ceil(texelsPerRow * info.outHeight) <= texelLimit) return run(args);
  const rows = Math.floor(texelLimit / texelsPerRow);
  // Per-pixel PReLU weights would need banding too; gantry's layers never pass them.
  const perPixelPrelu = inputs.preluActivationWeights && inputs.preluActivationWeights.shape.length > 1;
  if (rows < 1 || info.dataFormat !== 'channelsLast' || perPixelPrelu || !validOnPadded(info)) return withoutIm2Col(() => run(args));
  return inBands(run, args, info, rows);
}

/** Whether a 'valid' convolution of the padded input has the convolution's output size (not so where dimRoundingMode rounds up). */
function validOnPadded(info: tf.backend_util.Conv2DInfo): boolean {
  const { top, bottom, left, right } = info.padInfo;
  const valid = (size: number, kernel: number, dilation: number, stride: number) => Math.floor((size - ((kernel - 1) * dilation + 1)) / stride) + 1;
  return valid(info.inHeight + top + bottom, info.filterHeight, info.dilationHeight, info.strideHeight) === info.outHeight
    && valid(info.inWidth + left + right, info.filterWidth, info.dilationWidth, info.strideWidth) === info.outWidth;
}

/**
 * The convolution of args as bands of `rows` output rows: the input padded once as the convolution pads
 * it, each band a 'valid' convolution of the input rows it reads, the bands joined along the height.
 */
function inBands(run: tf.KernelFunc, args: KernelArgs, info: tf.backend_util.Conv2DInfo, rows: number): tf.TensorInfo {
  const { backend } = args;
  const inputs = args.inputs as ConvInputs;
  const call = (name: string, kernelInputs: tf.NamedTensorInfoMap | tf.TensorInfo[], attrs: object) => tf.getKernel(name, 'webgl')!.kernelFunc({ inputs: kernelInputs as tf.NamedTensorInfoMap, backend, attrs: attrs as tf.NamedAttrMap }) as tf.TensorInfo;
  const release = (t: tf.TensorInfo) => (backend as unknown as { disposeIntermediateTensorInfo(t: tf.TensorInfo): void }).disposeIntermediateTensorInfo(t);
  const { top, bottom, left, right } = info.padInfo;
  const padded = top || bottom || left || right ? call('PadV2', { x: inputs.x }, { paddings: [[0, 0], [top, bottom], [left, right], [0, 0]], constantValue: 0 }) : inputs.x;
  const [batch, , width, channels] = padded.shape;
  const reach = (info.filterHeight - 1) * info.dilationHeight + 1;
  const bands: tf.TensorInfo[] = [];
  for (let first = 0; first < info.outHeight; first += rows) {
    const count = Math.min(rows, info.outHeight - first);
    const slice = call('Slice', { x: padded }, { begin: [0, first * info.strideHeight, 0, 0], size: [batch, (count - 1) * info.strideHeight + reach, width, channels] });
    bands.push(run({ ...args, inputs: { ...inputs, x: slice }, attrs: { ...args.attrs, pad: 'valid', dimRoundingMode: undefined } as unknown as tf.NamedAttrMap }) as tf.TensorInfo);
    release(slice);
  }
  if (padded !== inputs.x) release(padded);
  // Concat takes its inputs as an array.
  const out = call('Concat', bands, { axis: 1 });
  for (const b of bands) release(b);
  return out;
}

function withoutIm2Col<T>(run: () => T): T {
  tf.env().set('WEBGL_CONV_IM2COL', false);
  try {
    return run();
  } finally {
    tf.env().set('WEBGL_CONV_IM2COL', true);
  }
}
