// A test page (test/web/browser.test.ts bundles it): gantry's web engine on WebGPU, asked for an op whose
// output is more than the GPU binds at once, which WebGPU itself would only log.
import * as tf from '@tensorflow/tfjs-core';
import { GantryError } from '../../../src/errors.ts';
import { startWebEngine } from '../../../src/web/engine.ts';

async function deviceLimits() {
  const engine = await startWebEngine(['webgpu']);
  const limit = (tf.backend() as unknown as { device: GPUDevice }).device.limits.maxStorageBufferBindingSize;
  // An input that fits, convolved to 8 channels: an output twice the limit.
  const side = Math.ceil(Math.sqrt(limit / 16));
  const x = tf.ones([1, side, side, 1]) as tf.Tensor4D;
  const w = tf.ones([3, 3, 1, 8]) as tf.Tensor4D;
  let refused = { message: '', gantry: false };
  try {
    tf.conv2d(x, w, 1, 'same').dispose();
  } catch (err) {
    refused = { message: (err as Error).message, gantry: err instanceof GantryError };
  }
  // The engine goes on: the same op at a size that fits (an inner pixel sums its 3x3 ones).
  const y = tf.conv2d(tf.slice(x, [0, 0, 0, 0], [1, 8, 8, 1]), w, 1, 'same');
  const inner = (await y.data())[(1 * 8 + 1) * 8];
  tf.dispose([x, w, y]);
  return { backend: engine.backend, side, limitMiB: Math.floor(limit / 2 ** 20), ...refused, inner };
}

(window as unknown as { deviceLimits: typeof deviceLimits }).deviceLimits = deviceLimits;
document.body.dataset.ready = 'true';
