// Profiles one training step of any family kernel by kernel, as `gantry bench --family` builds it:
//   node --import tsx bench/profile-family.ts NAME [--batch N]   (SHAPES=1 splits rows by input shapes)
import { initEngine, tf } from '../src/engine/index.ts';
import { Rng } from '../src/engine/rng.ts';
import { defaultBenchData, familyModel } from '../src/bench/family-step.ts';
import { printKernelProfile } from './kernel-profile.ts';

const family = process.argv[2] ?? 'dfgan';
const batchFlag = process.argv.indexOf('--batch');
const batch = batchFlag > 0 ? Number(process.argv[batchFlag + 1]) : 16;
await initEngine({ device: 'cpu', nativeKernels: process.env.GANTRY_NATIVE !== '0' });
const text = family === 'gan-cls' || family === 'dfgan';
const { model, batchAt } = familyModel(family, defaultBenchData(family), text ? { textSteps: 1 } : {}, batch);
const step = async (i: number) => {
  const b = batchAt(i);
  const losses = model.trainStep(b, { step: i, rng: new Rng(3, 'step', i) });
  await Promise.all(Object.values(losses).map((l) => l.data()));
  tf.dispose([b.images, b.labels ?? [], ...Object.values(losses)]);
};
for (let i = 0; i < 3; i++) await step(i);
const t0 = performance.now();
const info = await tf.profile(() => step(3));
printKernelProfile(family, info, performance.now() - t0, Number(process.env.ROWS ?? 30));
