// Profiles gantry's replayed WebGPU DCGAN step (src/gpu/dcgan-step.ts) on the GPU machine:
//   bash .devicekit/on-device.sh node --import tsx bench/profile-gpu-step.ts [dcgan32|dcgan64] [--steps 20] [--timeline]
// Prints: pipeline build time, host time to encode and submit one step, wall time per step (loss read
// back each step, as the bench does), and GPU time per dispatch (timestamp queries) grouped by kind.
// --timeline: each step's wall and host time beside when the GPU ran it (its passes' timestamps): the GPU
// span from its first pass's start to its last's end, the time inside passes, and how long the GPU sat
// idle since the previous step's end. A slow step whose GPU span is as short as a fast one's waited on the
// host or the driver; one whose span is long but whose passes were short waited between submissions.
import { parseArgs } from 'node:util';
import { initEngine, tf } from '../src/engine/index.ts';
import { Rng } from '../src/engine/rng.ts';
import { Dcgan, dcganSchema } from '../src/models/dcgan.ts';
import { DcganGpuStep } from '../src/gpu/dcgan-step.ts';
import { DcganGpuGenerator } from '../src/gpu/dcgan-generator.ts';
import { GpuContext } from '../src/gpu/context.ts';
import { createPassTimeline, stepsOnGpu } from '../src/gpu/pass-timeline.ts';
import { WORKLOADS, type WorkloadName } from '../src/bench/dcgan-step.ts';

const { values, positionals } = parseArgs({ allowPositionals: true, options: { steps: { type: 'string', default: '20' }, batch: { type: 'string', default: '64' }, timeline: { type: 'boolean' } } });
const name = (positionals[0] ?? 'dcgan64') as WorkloadName;
await initEngine({ device: 'webgpu' });
const w = WORKLOADS[name];
const batch = Number(values.batch);
const model = new Dcgan(dcganSchema.parse({ imageSize: w.imageSize, channels: w.channels }), 0);
const rng = new Rng(0);
const images = tf.tensor4d(rng.fillNormal(new Float32Array(batch * w.imageSize * w.imageSize * w.channels)), [batch, w.imageSize, w.imageSize, w.channels]);
const z = tf.tensor2d(rng.fillNormal(new Float32Array(batch * 100)), [batch, 100]);
let t0 = performance.now();
const gpu = new DcganGpuStep({ G: model.G, D: model.D }, { G: model.optimizers.G, D: model.optimizers.D }, batch);
console.log(`${name}: ${gpu.dispatchCount} dispatches per step; building pipelines and buffers took ${(performance.now() - t0).toFixed(0)} ms`);
const walls: number[] = [];
const hosts: number[] = [];
for (let i = 0; i < 3 + Number(values.steps); i++) {
  t0 = performance.now();
  const l = gpu.step(images, z);
  const host = performance.now() - t0;
  await l.lossG.data();
  if (i >= 3) { walls.push(performance.now() - t0); hosts.push(host); }
  tf.dispose([l.lossD, l.lossG]);
}
const med = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
console.log(`wall per step (median of ${walls.length}, loss read back): ${med(walls).toFixed(2)} ms; host encode+submit: ${med(hosts).toFixed(2)} ms`);
if (values.timeline) await printTimeline(Number(values.steps));

/** Steps timed on the host and, through timestamp queries around each pass, on the GPU. */
async function printTimeline(steps: number): Promise<void> {
  const ctx = GpuContext.fromTfjs();
  const timeline = createPassTimeline(ctx.device);
  if (!timeline) return console.log('--timeline: this adapter has no timestamp-query feature');
  const rows: { wall: number; host: number; from: number; to: number }[] = [];
  gpu.timeline = timeline;
  for (let i = 0; i < steps; i++) {
    const from = timeline.next;
    const start = performance.now();
    const l = gpu.step(images, z);
    const host = performance.now() - start;
    await l.lossG.data();
    rows.push({ wall: performance.now() - start, host, from, to: timeline.next });
    tf.dispose([l.lossD, l.lossG]);
  }
  gpu.timeline = null;
  console.log('step  wall ms  host ms  GPU span  in passes  GPU idle before');
  for (const [i, g] of (await stepsOnGpu(ctx, timeline, rows)).entries()) {
    const r = rows[i];
    console.log(`${String(i).padStart(4)} ${r.wall.toFixed(2).padStart(8)} ${r.host.toFixed(2).padStart(8)} ${g.span_ms.toFixed(2).padStart(9)} ${g.in_passes_ms.toFixed(2).padStart(10)} ${(g.idle_before_ms?.toFixed(2) ?? '').padStart(16)}`);
  }
}
const ns = await gpu.profile();
const total = ns.reduce((a, b) => a + b, 0);
console.log(`GPU time of one step, each dispatch timed alone: ${(total / 1e6).toFixed(2)} ms`);
const byKind = new Map<string, { ns: number; n: number }>();
const labels = gpu.dispatchLabels;
for (const [i, label] of labels.entries()) {
  const kind = label.split('.').slice(-1)[0].replace(/\d+$/, '').replace(/^dgrad.*/, 'dgrad');
  const e = byKind.get(kind) ?? { ns: 0, n: 0 };
  e.ns += ns[i]; e.n += 1; byKind.set(kind, e);
}
for (const [k, e] of [...byKind].sort((a, b) => b[1].ns - a[1].ns)) console.log(`  ${k.padEnd(12)} ${(e.ns / 1e6).toFixed(3).padStart(8)} ms ${String(e.n).padStart(4)} dispatches`);
const top = labels.map((l, i) => [l, ns[i]] as const).sort((a, b) => b[1] - a[1]).slice(0, 15);
console.log('slowest dispatches:');
for (const [l, t] of top) console.log(`  ${l.padEnd(36)} ${(t / 1e6).toFixed(3)} ms`);
tf.dispose([images, z]);
gpu.dispose();
// Generator inference, batch 256.
const zg = tf.tensor2d(rng.fillNormal(new Float32Array(256 * 100)), [256, 100]);
const gen = new DcganGpuGenerator(model.G, 256);
const gWalls: number[] = [];
for (let i = 0; i < 23; i++) {
  t0 = performance.now();
  const out = gen.generate(zg);
  await gen.idle();
  if (i >= 3) gWalls.push(performance.now() - t0);
  out.dispose();
}
const gProfile = await gen.profile();
console.log(`generator, batch 256: ${med(gWalls).toFixed(2)} ms per call (${(256 / med(gWalls) * 1000).toFixed(0)} img/s); GPU ${(gProfile.reduce((a, [, t]) => a + t, 0) / 1e6).toFixed(2)} ms:`);
for (const [l, t] of gProfile) console.log(`  ${l.padEnd(36)} ${(t / 1e6).toFixed(3)} ms`);
gen.dispose();
zg.dispose();
model.dispose();
