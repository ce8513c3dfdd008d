// Convolution layers one by one on gantry's cpu kernels (the native ones where the addon loads): forward,
// input gradient and filter gradient, milliseconds (median of 11) and GFLOP/s. Layer sets in
// bench/conv-layers.json: `vgg` (VGG19's 3x3 convolutions up to relu5_1 at pix2pixHD's 64x128 bench size)
// and `dfgan` (DF-GAN's at 32x32, batch 16, as `gantry bench --family dfgan` runs them). Beside it, the
// same layers in PyTorch: /usr/bin/python3 bench/convs_torch.py --set NAME --threads 2.
//   node --import tsx bench/convs.ts [--set vgg|dfgan] [--avx2] [--cold]   (--avx2: the AVX2 tiles where the CPU has
//   AVX-512; --cold: each call with the next of 24 filters, not in cache, as a network's forward pass meets them)
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { initEngine, tf } from '../src/engine/index.ts';
import { loadNativeAddon } from '../src/kernels/cpu/native.ts';

const { values } = parseArgs({ options: { set: { type: 'string', default: 'vgg' }, avx2: { type: 'boolean' }, cold: { type: 'boolean' } } });
const FILTERS = values.cold ? 24 : 1;
const layers = (JSON.parse(readFileSync(new URL('./conv-layers.json', import.meta.url), 'utf8')) as Record<string, number[][]>)[values.set!];
if (!Array.isArray(layers)) throw new Error(`no layer set ${values.set} in bench/conv-layers.json`);
await initEngine({ device: 'cpu' });
if (values.avx2) loadNativeAddon().addon?.forceAvx2(true);

/** The median of 11 timed calls (after 3), call i with filter i % FILTERS. */
function median(fn: (i: number) => tf.TensorInfo): number {
  let i = 0;
  const run = () => tf.dispose(tf.engine().makeTensorFromTensorInfo(fn(i++ % FILTERS)));
  for (let k = 0; k < 3; k++) run();
  const times: number[] = [];
  for (let k = 0; k < 11; k++) {
    const t0 = performance.now();
    run();
    times.push(performance.now() - t0);
  }
  return times.sort((a, b) => a - b)[5];
}

const total = [0, 0, 0];
const kernel = (name: string, inputs: Record<string, tf.Tensor>, attrs: Record<string, unknown>) => tf.engine().runKernel(name, inputs, attrs as tf.NamedAttrMap) as tf.TensorInfo;
for (const [n, h, w, cin, cout, k, stride, pad] of layers) {
  const x = tf.randomNormal([n, h, w, cin]) as tf.Tensor4D;
  const filters = Array.from({ length: FILTERS }, () => tf.randomNormal([k, k, cin, cout]) as tf.Tensor4D);
  const common = { strides: stride, pad, dataFormat: 'NHWC', dilations: 1 };
  const dy = tf.tidy(() => tf.randomNormal(tf.conv2d(x, filters[0], stride, pad).shape)) as tf.Tensor4D;
  const times = [
    median((f) => kernel('Conv2D', { x, filter: filters[f] }, common)),
    median((f) => kernel('Conv2DBackpropInput', { dy, filter: filters[f] }, { ...common, inputShape: [n, h, w, cin] })),
    median(() => kernel('Conv2DBackpropFilter', { x, dy }, { ...common, filterShape: [k, k, cin, cout] })),
  ];
  const gflop = (2 * dy.size * cin * k * k) / 1e9;
  times.forEach((t, i) => (total[i] += t));
  const cell = (t: number) => `${t.toFixed(2)} ms (${(gflop / t * 1e3).toFixed(0)} GFLOP/s)`;
  console.log(`${n}x${h}x${w} ${cin}->${cout} ${k}x${k}/${stride}: forward ${cell(times[0])}, input gradient ${cell(times[1])}, filter gradient ${cell(times[2])}`);
  tf.dispose([x, ...filters, dy]);
}
console.log(`total: forward ${total[0].toFixed(1)} ms, input gradient ${total[1].toFixed(1)} ms, filter gradient ${total[2].toFixed(1)} ms`);
