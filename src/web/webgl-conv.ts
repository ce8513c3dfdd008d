import * as tf from '@tensorflow/tfjs-core';

/**
 * tfjs's WebGL convolutions (Conv2D, and FusedConv2D, which gantry's layers with a bias run) lay their
 * input out as one im2col texture, [batch, kh kw cin, outH outW] packed four floats a texel, when
 * WEBGL_CONV_IM2COL is on (its default). A large map overflows any GPU's texture: pix2pixHD's
 * full-resolution 7x7 convolution at 512x1024 asks for 15206 x 15206 texels, against a common limit of
 * 8192 (or 16384). Such convolutions run on tfjs's direct convolution program instead, which reads the
 * input where it lies; the others keep im2col, the faster of the two where it fits.
 */
export function guardWebGlConvolutions(): void {
  for (const name of ['Conv2D', 'FusedConv2D']) {
    const kernel = tf.getKernel(name, 'webgl');
    if (!kernel || guarded.has(name)) continue;
    guarded.add(name);
    tf.unregisterKernel(name, 'webgl');
    tf.registerKernel({ ...kernel, kernelFunc: (args) => (fitsIm2Col(args) ? kernel.kernelFunc(args) : withoutIm2Col(() => kernel.kernelFunc(args))) });
  }
}

const guarded = new Set<string>();

type ConvAttrs = { strides: number | [number, number]; pad: 'valid' | 'same' | number; dataFormat: 'NHWC' | 'NCHW'; dilations: number | [number, number]; dimRoundingMode?: 'floor' | 'round' | 'ceil' };

/** Whether this convolution's im2col texture fits the largest texture (or im2col is off anyway). */
function fitsIm2Col(args: Parameters<tf.KernelFunc>[0]): boolean {
  if (!tf.env().getBool('WEBGL_CONV_IM2COL')) return true;
  const { x, filter } = args.inputs as { x: tf.TensorInfo; filter: tf.TensorInfo };
  const a = args.attrs as unknown as ConvAttrs;
  const info = tf.backend_util.computeConv2DInfo(x.shape as [number, number, number, number], filter.shape as [number, number, number, number], a.strides, a.dilations, a.pad, a.dimRoundingMode, false, tf.backend_util.convertConv2DDataFormat(a.dataFormat));
  const texels = info.batchSize * Math.ceil((info.filterHeight * info.filterWidth * info.inChannels) / 2) * Math.ceil((info.outHeight * info.outWidth) / 2);
  const side = tf.env().getNumber('WEBGL_MAX_TEXTURE_SIZE');
  return texels <= side * side;
}

function withoutIm2Col<T>(run: () => T): T {
  tf.env().set('WEBGL_CONV_IM2COL', false);
  try {
    return run();
  } finally {
    tf.env().set('WEBGL_CONV_IM2COL', true);
  }
}
