// A test page (test/web/browser.test.ts bundles it): gantry's web engine on tfjs's WebGL and CPU backends
// with tensors of the sizes pix2pixHD's painter reaches, each result against a float64 loop here.
import * as tf from '@tensorflow/tfjs-core';
import { startWebEngine } from '../../../src/web/engine.ts';
import { setIm2ColLimit } from '../../../src/web/webgl-conv.ts';

type Conv = { h: number; w: number; cin: number; cout: number; k: number; stride?: number; pad?: number };

/**
 * FusedConv2D (as gantry's layers with a bias run: bias and ReLU fused) of sines, input [1, h, w, cin] and
 * filter [k, k, cin, cout], zero padding `pad` on every side; the worst error over `samples` outputs
 * against a float64 loop.
 */
async function convError({ h, w, cin, cout, k, stride = 1, pad = 0 }: Conv, samples: number): Promise<number> {
  const xs = Float32Array.from({ length: h * w * cin }, (_, i) => Math.sin(i * 0.37));
  const ws = Float32Array.from({ length: k * k * cin * cout }, (_, i) => Math.cos(i * 0.11) * 0.05);
  const bs = Float32Array.from({ length: cout }, (_, i) => 0.1 * Math.sin(i + 1));
  const y = tf.tidy(() => {
    const x = tf.tensor4d(xs, [1, h, w, cin]);
    const f = tf.tensor4d(ws, [k, k, cin, cout]);
    return tf.engine().runKernel('FusedConv2D', { x, filter: f, bias: tf.tensor1d(bs) }, { strides: stride, pad, dataFormat: 'NHWC', dilations: 1, activation: 'relu' } as unknown as tf.NamedAttrMap) as tf.Tensor;
  });
  const out = await y.data();
  const [, oh, ow] = y.shape;
  y.dispose();
  if (oh !== Math.floor((h + 2 * pad - k) / stride) + 1 || ow !== Math.floor((w + 2 * pad - k) / stride) + 1) return Infinity;
  let worst = 0;
  for (let s = 0; s < samples; s++) {
    // the first and last rows among the samples: the bands' seams and edges
    const oy = s < 8 ? (s % 2 ? oh - 1 - s : s) : (s * 7919) % oh;
    const [ox, o] = [(s * 104729) % ow, s % cout];
    let sum = bs[o];
    for (let dy = 0; dy < k; dy++) {
      for (let dx = 0; dx < k; dx++) {
        const [iy, ix] = [oy * stride + dy - pad, ox * stride + dx - pad];
        if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
        for (let c = 0; c < cin; c++) sum += xs[(iy * w + ix) * cin + c] * ws[((dy * k + dx) * cin + c) * cout + o];
      }
    }
    worst = Math.max(worst, Math.abs(Math.max(0, sum) - out[(oy * ow + ox) * cout + o]));
  }
  return worst;
}

/** convError with the im2col limit at `texels` while it runs. */
async function convErrorAtLimit(texels: number, conv: Conv, samples: number): Promise<number> {
  const previous = setIm2ColLimit(texels);
  try {
    return await convError(conv, samples);
  } finally {
    setIm2ColLimit(previous);
  }
}

async function run(backend: 'webgl' | 'cpu'): Promise<Record<string, number>> {
  const engine = await startWebEngine([backend]);
  if (engine.backend !== backend) throw new Error(`started ${engine.backend}, not ${backend}`);
  if (backend === 'webgl') {
    return {
      // 7x7 over 256 channels to 150x150: an im2col of 6272 x 22500 floats, 8400 x 8400 texels at four a
      // texel, past gantry's limit (2^24 texels) and SwiftShader's usual largest texture (8192): five bands
      // of 35 rows.
      bands: await convError({ h: 156, w: 156, cin: 256, cout: 2, k: 7 }, 300),
      // Small maps under a small limit: bands of padded and strided convolutions (pix2pixHD's 7x7 after
      // its own padding, G's 3x3 / 2 with padding 1, D's 4x4 / 2 with padding 2), and tfjs's direct program
      // where not even one output row fits.
      bandsPadded: await convErrorAtLimit(10_000, { h: 37, w: 29, cin: 5, cout: 3, k: 7, pad: 3 }, 300),
      bandsStrided: await convErrorAtLimit(1500, { h: 41, w: 30, cin: 8, cout: 4, k: 3, stride: 2, pad: 1 }, 300),
      bandsStridedPad2: await convErrorAtLimit(2000, { h: 32, w: 33, cin: 6, cout: 5, k: 4, stride: 2, pad: 2 }, 300),
      direct: await convErrorAtLimit(4, { h: 20, w: 24, cin: 4, cout: 3, k: 3, pad: 1 }, 300),
      fits: await convError({ h: 40, w: 40, cin: 16, cout: 3, k: 3 }, 300),
    };
  }
  // gantry's CPU kernels (a page has them without the addon: copies, broadcasts, activations) making
  // outputs of 4 MiB, which Node first checks against its free memory.
  const xs = Float32Array.from({ length: 512 * 512 * 4 }, (_, i) => Math.sin(i * 0.37));
  const y = tf.tidy(() => {
    const x = tf.tensor4d(xs, [1, 512, 512, 4]);
    return tf.relu(tf.concat([tf.add(x, tf.scalar(0.25)), x], 3));
  });
  const out = await y.data();
  y.dispose();
  let worst = 0;
  for (let p = 0; p < xs.length / 4; p++) {
    for (let c = 0; c < 8; c++) worst = Math.max(worst, Math.abs(out[p * 8 + c] - Math.max(0, xs[p * 4 + (c % 4)] + (c < 4 ? 0.25 : 0))));
  }
  return { cpuKernels: worst, convolution: await convError({ h: 64, w: 64, cin: 8, cout: 4, k: 3 }, 300) };
}

(window as unknown as { largeOps: typeof run }).largeOps = run;
document.body.dataset.ready = 'true';
