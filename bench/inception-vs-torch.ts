// Inception-v3 (pytorch-fid layout) forward speed, gantry against PyTorch on the same machine, in one command:
//   node --import tsx bench/inception-vs-torch.ts [--batch 50] [--batches 5] [--threads 2] [--device cpu|webgpu [--profile]]
// --net vgg16 times torch-fidelity's VGG-16 (fc2_relu, precision and recall's features) instead, on 224x224 images;
// --net lpips times LPIPS on VGG-16 (PPL's distance) of --batch pairs of 64x64 images (reported as pairs/s).
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
import { LpipsVgg16 } from '../src/metrics/lpips.ts';
import { summarizeProfile } from '../src/bench/family-step.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({ options: { batch: { type: 'string', default: '50' }, batches: { type: 'string', default: '5' }, threads: { type: 'string', default: '2' }, device: { type: 'string', default: 'cpu' }, profile: { type: 'boolean', default: false }, net: { type: 'string', default: 'inception' } } });
if (!['inception', 'vgg16', 'lpips'].includes(values.net!)) throw new Error('--net is inception, vgg16 or lpips');
const vgg = values.net === 'vgg16';
const lpips = values.net === 'lpips';
const size = lpips ? 64 : vgg ? 224 : 299;
if (values.device !== 'cpu' && values.device !== 'webgpu') throw new Error('--device is cpu or webgpu');
const gpu = values.device === 'webgpu';
const weights = join(tmpdir(), `gantry-bench-${values.net}.pth`);
const lin = join(tmpdir(), 'gantry-bench-lpips-lin.pth');
// Debian's python3-torch lives in /usr/bin/python3; the GPU machine's PyTorch in its default python3.
const python = gpu || !existsSync('/usr/bin/python3') ? 'python3' : '/usr/bin/python3';
const peer = lpips ? ['vgg16_torch.py', '--lpips', lin, '--size', '64'] : [vgg ? 'vgg16_torch.py' : 'inception_torch.py'];
const r = spawnSync(python, [join(root, 'bench', peer[0]), ...peer.slice(1), '--weights', weights, '--batch', values.batch!, '--batches', values.batches!, '--threads', values.threads!, '--device', gpu ? 'cuda' : 'cpu'], { encoding: 'utf8' });
// Without the peer (no PyTorch, no CUDA) gantry's side is still timed, and the peer's failure shown.
if (r.status !== 0) console.log(`PyTorch's side failed: ${r.stderr.trim().split('\n').pop()}`);
const torch = r.status === 0 ? (JSON.parse(r.stdout.trim().split('\n').pop()!) as { device: string; median_ms: number; images_per_s: number }) : null;
if (!torch && !existsSync(weights)) throw new Error(`no weights at ${weights}: PyTorch's side writes them`);

process.env.GANTRY_THREADS = values.threads;
await initEngine({ device: values.device, log: () => {} });
const batch = Number(values.batch);
const x = tf.randomUniform([batch, size, size, 3]) as tf.Tensor4D;
const extractor = lpips ? null : vgg ? vgg16Extractor(weights) : inceptionExtractor(weights, 2048);
// LPIPS is no feature extractor: a batch is its distances of `batch` pairs (the second image a level's noise away).
const lpipsNet = lpips ? LpipsVgg16.load(weights, lin) : null;
const x1 = lpips ? tf.clipByValue(tf.add(x, tf.randomNormal(x.shape, 0, 1 / 255)), 0, 1) as tf.Tensor4D : null;
const forward = (): tf.Tensor => (lpipsNet ? tf.tidy(() => lpipsNet.distance(tf.mul(x, 255), tf.mul(x1!, 255), 64)) : extractor!.extract(x, false).features);

/** Median time of a batch's features, read back, after the first three (the warm-up and, on WebGPU, the two recordings). */
async function timeBatches(): Promise<{ median_ms: number; images_per_s: number }> {
  const run = async () => {
    const out = forward();
    await out.data();
    out.dispose();
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
const gantry = { ...(await timeBatches()), replayed: extractor ? replayedExtractions(extractor) : lpipsNet!.replayed };
const profile = gpu && values.profile && extractor ? Object.values(await extractionProfile(extractor)).map(summarizeProfile)[0] : undefined;
let eager: { median_ms: number; images_per_s: number } | undefined;
if (gpu) {
  process.env.GANTRY_WEBGPU_EAGER = '1';
  eager = await timeBatches();
  delete process.env.GANTRY_WEBGPU_EAGER;
}
extractor?.dispose();
lpipsNet?.dispose();
const unit = lpips ? 'pairs/s' : 'images/s';
console.log(`${lpips ? 'LPIPS (VGG-16) of pairs' : vgg ? 'VGG-16 (fc2_relu)' : 'Inception-v3'} forward, batch ${batch} at ${size}x${size}, ${gpu ? 'WebGPU against PyTorch CUDA' : `${values.threads} threads`}, median of ${values.batches}:`);
console.log(`gantry  ${gantry.images_per_s} ${unit} (${gantry.median_ms} ms/batch${gpu ? `, replayed: ${gantry.replayed} batches` : ''})`);
if (eager) console.log(`gantry eager ${eager.images_per_s} ${unit} (${eager.median_ms} ms/batch)`);
if (profile) console.log(`replayed forward's GPU time, dispatches timed alone: ${profile.gpu_ms} ms; ${profile.kernels.slice(0, 12).map((k) => `${k.label} ${k.ms} ms (${k.dispatches})`).join(', ')}`);
if (torch) {
  console.log(`pytorch ${torch.images_per_s} ${unit} (${torch.median_ms} ms/batch)`);
  console.log(`gantry / pytorch throughput ${(gantry.images_per_s / torch.images_per_s).toFixed(3)}`);
}
console.log(JSON.stringify({ gantry, eager, torch, profile }));
