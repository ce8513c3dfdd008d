// pix2pixHD's per-image ops on WebGPU, gantry's WGSL kernels against the same ops built from tfjs's
// (withTfjsGpuKernels), in one run, alternating: each op's forward and gradient (tf.grad of its sum),
// milliseconds per call including the read-back, medians of 5 after 2 warm-ups.
//   node --import tsx bench/gpu-image-ops.ts        (a WebGPU adapter: the GPU machine, or lavapipe)
import { tf } from '../src/engine/index.ts';
import { initEngine } from '../src/engine/index.ts';
import { withTfjsGpuKernels } from '../src/gpu/tfjs-kernels.ts';
import { downsample, instanceNorm, reflectionPad } from '../src/nn/pix2pixhd.ts';

await initEngine({ device: 'webgpu' });
const ops: [string, (x: tf.Tensor4D) => tf.Tensor4D][] = [
  ['reflection pad 3', (x) => reflectionPad(x, 3)],
  ['reflection pad 1', (x) => reflectionPad(x, 1)],
  ['avg pool 3x3/2', downsample],
  ['instance norm', (x) => instanceNorm(x)],
];

async function median(run: () => tf.Tensor): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < 7; i++) {
    const t0 = performance.now();
    const r = run();
    await r.data();
    r.dispose();
    if (i >= 2) times.push(performance.now() - t0);
  }
  return times.sort((a, b) => a - b)[2];
}

console.log('| shape | op | gantry ms | tfjs ops ms | ratio |\n|---|---|---|---|---|');
for (const shape of [[1, 64, 128, 16], [1, 8, 16, 128], [1, 256, 512, 64]] as [number, number, number, number][]) {
  const x = tf.randomNormal(shape) as tf.Tensor4D;
  for (const [name, op] of ops) {
    const step = () => tf.tidy(() => tf.grad((t: tf.Tensor) => tf.sum(op(t as tf.Tensor4D)))(x));
    const ours = [await median(step)];
    const theirs = [await median(() => withTfjsGpuKernels(step))];
    ours.push(await median(step));
    theirs.push(await median(() => withTfjsGpuKernels(step)));
    const [a, b] = [Math.min(...ours), Math.min(...theirs)];
    console.log(`| ${shape.join('x')} | ${name} | ${a.toFixed(1)} | ${b.toFixed(1)} | ${(a / b).toFixed(2)} |`);
  }
  x.dispose();
}
