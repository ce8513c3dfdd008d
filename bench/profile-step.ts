// Profiles one DCGAN training step kernel by kernel: node --import tsx bench/profile-step.ts [dcgan32|dcgan64] [cpu|webgpu]
import { initEngine, tf } from '../src/engine/index.ts';
import { Rng } from '../src/engine/rng.ts';
import { printKernelProfile } from './kernel-profile.ts';
import { Dcgan, dcganSchema } from '../src/models/dcgan.ts';
import { WORKLOADS, type WorkloadName } from '../src/bench/dcgan-step.ts';

const name = (process.argv[2] ?? 'dcgan32') as WorkloadName;
await initEngine({ device: process.argv[3] === 'webgpu' ? 'webgpu' : 'cpu', nativeKernels: process.env.GANTRY_NATIVE !== '0' });
const w = WORKLOADS[name];
const model = new Dcgan(dcganSchema.parse({ imageSize: w.imageSize, channels: w.channels }), 0);
const rng = new Rng(0);
const step = async (i: number) => {
  const images = tf.tensor4d(rng.fillNormal(new Float32Array(64 * w.imageSize * w.imageSize * w.channels)), [64, w.imageSize, w.imageSize, w.channels]);
  const l = model.trainStep({ images }, { step: i, rng: rng.derive(i) });
  tf.dispose([images, ...Object.values(l)]);
};
await step(0);
const t0 = performance.now();
const info = await tf.profile(() => step(1));
const wall = performance.now() - t0;
printKernelProfile(name, info, wall);
