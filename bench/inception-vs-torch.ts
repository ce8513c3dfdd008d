// Inception-v3 (pytorch-fid layout) forward speed, gantry against PyTorch on the same machine, in one command:
//   node --import tsx bench/inception-vs-torch.ts [--batch 50] [--batches 5] [--threads 2] [--device cpu|webgpu [--profile]]
// --net vgg16 times torch-fidelity's VGG-16 (fc2_relu, precision and recall's features) instead, on 224x224 images.
// Both run the same full-size network with the same seeded random weights (written by the PyTorch side),
// gantry's through the feature extractor FID uses (on WebGPU recorded and replayed, and eager beside it),
// PyTorch's on the CPU or, with --device webgpu, CUDA; both read the features back. --profile (WebGPU) adds the
// replayed forward's GPU time by kernel, every dispatch timed alone.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { initEngine, tf } from '../src/engine/index.ts';
import { extractionProfile, inceptionExtractor, replayedExtractions, vgg16Extractor } from '../src/metrics/features.ts';
import { summarizeProfile } from '../src/bench/family-step.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({ options: { batch: { type: 'string', default: '50' }, batches: { type: 'string', default: '5' }, threads: { type: 'string', default: '2' }, device: { type: 'string', default: 'cpu' }, profile: { type: 'boolean', default: false }, net: { type: 'string', default: 'inception' } } });
if (values.net !== 'inception' && values.net !== 'vgg16') throw new Error('--net is inception or vgg16');
const vgg = values.net === 'vgg16';
const size = vgg ? 224 : 299;
if (values.device !== 'cpu' && values.device !== 'webgpu') throw new Error('--device is cpu or webgpu');
const gpu = values.device === 'webgpu';
const weights = join(tmpdir(), `gantry-bench-${values.net}.pth`);
// Debian's python3-torch lives in /usr/bin/python3; the GPU machine's PyTorch in its default python3.
const python = gpu || !existsSync('/usr/bin/python3') ? 'python3' : '/usr/bin/python3';
const r = spawnSync(python, [join(root, 'bench', vgg ? 'vgg16_torch.py' : 'inception_torch.py'), '--weights', weights, '--batch', values.batch!, '--batches', values.batches!, '--threads', values.threads!, '--device', gpu ? 'cuda' : 'cpu'], { encoding: 'utf8' });
// Without the peer (no PyTorch, no CUDA) gantry's side is still timed, and the peer's failure shown.
if (r.status !== 0) console.log(`PyTorch's side failed: ${r.stderr.trim().split('\n').pop()}`);
const torch = r.status === 0 ? (JSON.parse(r.stdout.trim().split('\n').pop()!) as { device: string; median_ms: number; images_per_s: number }) : null;
if (!torch && !existsSync(weights)) throw new Error(`no weights at ${weights}: PyTorch's side writes them`);

process.env.GANTRY_THREADS = values.threads;
await initEngine({ device: values.device, log: () => {} });
const extractor = vgg ? vgg16Extractor(weights) : inceptionExtractor(weights, 2048);
const batch = Number(values.batch);
const x = tf.randomUniform([batch, size, size, 3]) as tf.Tensor4D;

/** Median time of a batch's features, read back, after the first three (the warm-up and, on WebGPU, the two recordings). */
async function timeBatches(): Promise<{ median_ms: number; images_per_s: number }> {
  const run = async () => {
    const { features } = extractor.extract(x, false);
    await features.data();
    features.dispose();
  };
  for (let i = 0; i < 3; i++) await run();
  const times: number[] = [];
  for (let i = 0; i < Number(values.batches); i++) {
    const t0 = performance.now();
    await run();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  const med = times[Math.floor(times.length / 2)];
  return { median_ms: Math.round(med * 10) / 10, images_per_s: Math.round((batch / med) * 1000 * 100) / 100 };
}
const gantry = { ...(await timeBatches()), replayed: replayedExtractions(extractor) };
const profile = gpu && values.profile ? Object.values(await extractionProfile(extractor)).map(summarizeProfile)[0] : undefined;
let eager: { median_ms: number; images_per_s: number } | undefined;
if (gpu) {
  process.env.GANTRY_WEBGPU_EAGER = '1';
  eager = await timeBatches();
  delete process.env.GANTRY_WEBGPU_EAGER;
}
extractor.dispose();
console.log(`${vgg ? 'VGG-16 (fc2_relu)' : 'Inception-v3'} forward, batch ${batch} at ${size}x${size}, ${gpu ? 'WebGPU against PyTorch CUDA' : `${values.threads} threads`}, median of ${values.batches}:`);
console.log(`gantry  ${gantry.images_per_s} images/s (${gantry.median_ms} ms/batch${gpu ? `, replayed: ${gantry.replayed} batches` : ''})`);
if (eager) console.log(`gantry eager ${eager.images_per_s} images/s (${eager.median_ms} ms/batch)`);
if (profile) console.log(`replayed forward's GPU time, dispatches timed alone: ${profile.gpu_ms} ms; ${profile.kernels.slice(0, 12).map((k) => `${k.label} ${k.ms} ms (${k.dispatches})`).join(', ')}`);
if (torch) {
  console.log(`pytorch ${torch.images_per_s} images/s (${torch.median_ms} ms/batch)`);
  console.log(`gantry / pytorch throughput ${(gantry.images_per_s / torch.images_per_s).toFixed(3)}`);
}
console.log(JSON.stringify({ gantry, eager, torch, profile }));
