// Profiles one pix2pixHD training step (the bench workload) kernel by kernel:
//   node --import tsx bench/profile-pix2pixhd.ts [--no-vgg]
import { initEngine, tf } from '../src/engine/index.ts';
import { Rng } from '../src/engine/rng.ts';
import { Pix2PixHD, pix2pixhdSchema } from '../src/models/pix2pixhd.ts';
import { Vgg19Features } from '../src/nn/vgg19.ts';

await initEngine({ device: 'cpu', nativeKernels: process.env.GANTRY_NATIVE !== '0' });
const [height, width, labelNc] = [64, 128, 8];
const model = new Pix2PixHD(pix2pixhdSchema.parse({ height, width, labelNc, instances: true, vgg: false }), 0, { vgg: process.argv.includes('--no-vgg') ? undefined : new Vgg19Features() });
const rng = new Rng(0);
const input = tf.tensor4d(Float32Array.from({ length: height * width * (labelNc + 1) }, () => (rng.uniform() < 0.1 ? 1 : 0)), [1, height, width, labelNc + 1]);
const real = tf.tensor4d(Float32Array.from({ length: height * width * 3 }, () => rng.uniform() * 2 - 1), [1, height, width, 3]);
const step = async () => tf.dispose(Object.values(model.stepOn(input, real)));
await step();
const t0 = performance.now();
const info = await tf.profile(step);
const wall = performance.now() - t0;
const byName = new Map<string, { ms: number; calls: number }>();
for (const k of info.kernels) {
  const key = process.env.SHAPES ? `${k.name} ${JSON.stringify(k.inputShapes)}` : k.name;
  const e = byName.get(key) ?? { ms: 0, calls: 0 };
  e.ms += k.kernelTimeMs as number;
  e.calls += 1;
  byName.set(key, e);
}
const rows = [...byName].sort((a, b) => b[1].ms - a[1].ms);
const total = rows.reduce((s, [, e]) => s + e.ms, 0);
console.log(`pix2pixhd: ${info.kernels.length} kernel calls, kernel time ${total.toFixed(1)} ms, wall ${wall.toFixed(1)} ms (profiling adds overhead)`);
for (const [n, e] of rows.slice(0, 30)) console.log(`${n.padEnd(28)} ${e.ms.toFixed(1).padStart(9)} ms ${String(e.calls).padStart(5)} calls`);
