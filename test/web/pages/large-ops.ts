// A test page (test/web/browser.test.ts bundles it): gantry's web engine on tfjs's WebGL and CPU backends
// with tensors of the sizes pix2pixHD's painter reaches, each result against a float64 loop here.
import * as tf from '@tensorflow/tfjs-core';
import { startWebEngine } from '../../../src/web/engine.ts';

/** input [1, h, w, cin] and filter [k, k, cin, cout] of sines, as a valid convolution; the worst error over `samples` outputs. */
async function convError(h: number, w: number, cin: number, cout: number, k: number, samples: number): Promise<number> {
  const xs = Float32Array.from({ length: h * w * cin }, (_, i) => Math.sin(i * 0.37));
  const ws = Float32Array.from({ length: k * k * cin * cout }, (_, i) => Math.cos(i * 0.11) * 0.05);
  const y = tf.tidy(() => {
    const x = tf.tensor4d(xs, [1, h, w, cin]);
    const f = tf.tensor4d(ws, [k, k, cin, cout]);
    // FusedConv2D, as gantry's layers with a bias run; the bias is zero.
    return tf.engine().runKernel('FusedConv2D', { x, filter: f, bias: tf.zeros([cout]) }, { strides: 1, pad: 'valid', dataFormat: 'NHWC', dilations: 1, activation: 'linear' } as unknown as tf.NamedAttrMap) as tf.Tensor;
  });
  const out = await y.data();
  y.dispose();
  const [oh, ow] = [h - k + 1, w - k + 1];
  let worst = 0;
  for (let s = 0; s < samples; s++) {
    const [oy, ox, o] = [(s * 7919) % oh, (s * 104729) % ow, s % cout];
    let sum = 0;
    for (let dy = 0; dy < k; dy++) for (let dx = 0; dx < k; dx++) for (let c = 0; c < cin; c++) sum += xs[((oy + dy) * w + ox + dx) * cin + c] * ws[((dy * k + dx) * cin + c) * cout + o];
    worst = Math.max(worst, Math.abs(sum - out[(oy * ow + ox) * cout + o]));
  }
  return worst;
}

async function run(backend: 'webgl' | 'cpu'): Promise<Record<string, number>> {
  const engine = await startWebEngine([backend]);
  if (engine.backend !== backend) throw new Error(`started ${engine.backend}, not ${backend}`);
  if (backend === 'webgl') {
    // 7x7 over 256 channels to 150x150: an im2col of 6272 x 22500 floats, 8400 x 8400 texels at four a texel.
    return { maxTexture: tf.env().getNumber('WEBGL_MAX_TEXTURE_SIZE'), im2colTooLarge: await convError(156, 156, 256, 2, 7, 300), im2colFits: await convError(40, 40, 16, 3, 3, 300) };
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
  return { cpuKernels: worst, convolution: await convError(64, 64, 8, 4, 3, 300) };
}

(window as unknown as { largeOps: typeof run }).largeOps = run;
document.body.dataset.ready = 'true';
