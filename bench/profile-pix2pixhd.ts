// Profiles one pix2pixHD training step (the bench workload) kernel by kernel:
//   node --import tsx bench/profile-pix2pixhd.ts [--no-vgg]
import { initEngine, tf } from '../src/engine/index.ts';
import { Rng } from '../src/engine/rng.ts';
import { printKernelProfile } from './kernel-profile.ts';
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
printKernelProfile('pix2pixhd', info, wall);
