// Profiles one training step of any family kernel by kernel, as `gantry bench --family` builds it, or with
// --generate one draw of its generator as sample draws (batch 64 by default):
//   node --import tsx bench/profile-family.ts NAME [--batch N] [--model JSON] [--generate]
//   (SHAPES=1 splits rows by input shapes; GANTRY_NATIVE=0 profiles tfjs's pure-JS kernels)
import { parseArgs } from 'node:util';
import { initEngine, tf } from '../src/engine/index.ts';
import { Rng } from '../src/engine/rng.ts';
import { defaultBenchData, familyModel } from '../src/bench/family-step.ts';
import { gridConditions } from '../src/explore/conditions.ts';
import { vectorsToImages } from '../src/explore/render.ts';
import { printKernelProfile } from './kernel-profile.ts';

const { values, positionals } = parseArgs({ allowPositionals: true, options: { batch: { type: 'string' }, model: { type: 'string', default: '{}' }, generate: { type: 'boolean', default: false } } });
const family = positionals[0] ?? 'dfgan';
const generate = values.generate;
const batch = Number(values.batch ?? (generate ? 64 : 16));
await initEngine({ device: 'cpu', nativeKernels: process.env.GANTRY_NATIVE !== '0' });
const text = family === 'gan-cls' || family === 'dfgan';
const { model, info, batchAt } = familyModel(family, defaultBenchData(family), { ...(text ? { textSteps: 1 } : {}), ...JSON.parse(values.model) }, batch);
if (generate) {
  const run = { info, model };
  const conditions = await gridConditions(run, batch);
  const rng = new Rng(0, 'profile-generate');
  const vectors = Array.from({ length: batch }, () => rng.fillNormal(new Float32Array(info.latentDim)));
  const draw = async () => { const images = vectorsToImages(run, vectors, conditions); await images.data(); images.dispose(); };
  for (let i = 0; i < 3; i++) await draw();
  const t0 = performance.now();
  const profile = await tf.profile(draw);
  printKernelProfile(`${family} draw of ${batch}`, profile, performance.now() - t0, Number(process.env.ROWS ?? 30));
} else {
  const step = async (i: number) => {
    const b = batchAt(i);
    const losses = model.trainStep(b, { step: i, rng: new Rng(3, 'step', i) });
    await Promise.all(Object.values(losses).map((l) => l.data()));
    tf.dispose([b.images, b.labels ?? [], ...Object.values(losses)]);
  };
  for (let i = 0; i < 3; i++) await step(i);
  const t0 = performance.now();
  const profile = await tf.profile(() => step(3));
  printKernelProfile(family, profile, performance.now() - t0, Number(process.env.ROWS ?? 30));
}
