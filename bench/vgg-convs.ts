// VGG19's convolutions up to relu5_1 at pix2pixHD's 64x128 bench size, one by one on the native kernels:
// forward and input gradient, milliseconds (median of 15) and GFLOP/s. Beside it, the same layers in
// PyTorch: /usr/bin/python3 bench/vgg_convs_torch.py --threads 2.
//   node --import tsx bench/vgg-convs.ts [--avx2]     (--avx2: the AVX2 tiles where the CPU has AVX-512)
import { initEngine, tf } from '../src/engine/index.ts';
import { loadNativeAddon } from '../src/kernels/cpu/native.ts';

await initEngine({ device: 'cpu' });
if (process.argv.includes('--avx2')) loadNativeAddon().addon?.forceAvx2(true);
// [height, width, in channels, out channels], 3x3, padding 1
const LAYERS = [[64, 128, 3, 64], [64, 128, 64, 64], [32, 64, 64, 128], [32, 64, 128, 128], [16, 32, 128, 256], [16, 32, 256, 256], [8, 16, 256, 512], [8, 16, 512, 512], [4, 8, 512, 512]];

function median(fn: () => tf.Tensor): number {
  for (let i = 0; i < 3; i++) fn().dispose();
  const times: number[] = [];
  for (let i = 0; i < 15; i++) {
    const t0 = performance.now();
    fn().dispose();
    times.push(performance.now() - t0);
  }
  return times.sort((a, b) => a - b)[7];
}

let [forward, backward] = [0, 0];
for (const [h, w, cin, cout] of LAYERS) {
  const x = tf.randomNormal([1, h, w, cin]) as tf.Tensor4D;
  const filter = tf.randomNormal([3, 3, cin, cout]) as tf.Tensor4D;
  const dy = tf.randomNormal([1, h, w, cout]) as tf.Tensor4D;
  const fw = median(() => tf.conv2d(x, filter, 1, 'same'));
  const dx = median(() => tf.conv2dTranspose(dy, filter, [1, h, w, cin], 1, 'same'));
  const gflop = (2 * h * w * cin * cout * 9) / 1e9;
  [forward, backward] = [forward + fw, backward + dx];
  console.log(`${h}x${w} ${cin}->${cout}: forward ${fw.toFixed(2)} ms (${(gflop / fw * 1e3).toFixed(0)} GFLOP/s), input gradient ${dx.toFixed(2)} ms (${(gflop / dx * 1e3).toFixed(0)} GFLOP/s)`);
  tf.dispose([x, filter, dy]);
}
console.log(`total: forward ${forward.toFixed(1)} ms, input gradient ${backward.toFixed(1)} ms`);
