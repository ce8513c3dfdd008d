// Times the convolution filter gradient both ways the addon computes it, on DF-GAN's and pix2pixHD's maps:
// in place (valid_conv.cc's tiles over the padded input) and unfolded into sgemm (conv.cc's choice for
// maps of at most 256 output pixels). Best of 5 rounds of 10 calls each.
//   node --import tsx bench/conv-filter-grad.ts
import { initEngine, tf } from '../src/engine/index.ts';
import { loadNativeAddon } from '../src/kernels/cpu/native.ts';

await initEngine({ device: 'cpu', log: () => {} });
const addon = loadNativeAddon().addon;
if (!addon) throw new Error('the native addon is not built (npm ci builds it)');
// [input shape, filter shape, stride, padding]
type Shape4 = [number, number, number, number];
const cases: [Shape4, Shape4, number, 'same' | number][] = [
  [[16, 4, 4, 256], [3, 3, 256, 256], 1, 'same'], [[16, 4, 4, 512], [3, 3, 512, 64], 1, 'same'], [[16, 8, 8, 128], [4, 4, 128, 256], 2, 1],
  [[16, 8, 8, 128], [3, 3, 128, 128], 1, 'same'], [[16, 16, 16, 64], [4, 4, 64, 128], 2, 1], [[16, 16, 16, 64], [3, 3, 64, 64], 1, 'same'],
  [[1, 4, 8, 512], [3, 3, 512, 512], 1, 'same'], [[1, 8, 16, 256], [3, 3, 256, 256], 1, 'same'], [[1, 16, 32, 128], [3, 3, 128, 128], 1, 'same'],
  [[1, 32, 64, 64], [3, 3, 64, 64], 1, 'same'],
];
for (const [xs, fs, stride, pad] of cases) {
  const x = tf.randomNormal(xs) as tf.Tensor4D;
  const filter = tf.randomNormal(fs) as tf.Tensor4D;
  const y = tf.conv2d(x, filter, stride, pad);
  const dy = tf.randomNormal(y.shape) as tf.Tensor4D;
  const run = () => tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { strides: [stride, stride], pad, dataFormat: 'NHWC', dilations: [1, 1], filterShape: fs }) as tf.Tensor;
  const time = (inPlace: boolean) => {
    addon.forceInPlaceFilterGrad(inPlace);
    for (let i = 0; i < 3; i++) run().dispose();
    let best = Infinity;
    for (let r = 0; r < 5; r++) {
      const t0 = performance.now();
      for (let i = 0; i < 10; i++) run().dispose();
      best = Math.min(best, (performance.now() - t0) / 10);
    }
    return best;
  };
  const inPlace = time(true);
  const chosen = time(false);
  addon.forceInPlaceFilterGrad(false);
  const gflop = (2 * dy.size * fs[0] * fs[1] * fs[2]) / 1e9;
  const pixels = y.shape[0] * y.shape[1] * y.shape[2];
  console.log(`${xs.join('x')} k${fs[0]} s${stride} -> ${fs[3]} (${pixels} pixels): default ${chosen.toFixed(2)} ms (${(gflop / chosen * 1e3).toFixed(0)} GFLOP/s), in place ${inPlace.toFixed(2)} ms (${(gflop / inPlace * 1e3).toFixed(0)} GFLOP/s)`);
  tf.dispose([x, filter, y, dy]);
}
