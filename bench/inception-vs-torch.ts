// Inception-v3 (pytorch-fid layout) forward speed, gantry against PyTorch on this CPU, in one command:
//   node --import tsx bench/inception-vs-torch.ts [--batch 50] [--batches 5] [--threads 2]
// Both run the same full-size network with the same seeded random weights (written by the PyTorch side).
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { initEngine, tf } from '../src/engine/index.ts';
import { readTorchStateDict } from '../src/io/torch.ts';
import { InceptionV3 } from '../src/metrics/inception.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({ options: { batch: { type: 'string', default: '50' }, batches: { type: 'string', default: '5' }, threads: { type: 'string', default: '2' } } });
const weights = join(tmpdir(), 'gantry-bench-inception.pth');
const r = spawnSync('/usr/bin/python3', [join(root, 'bench', 'inception_torch.py'), '--weights', weights, '--batch', values.batch!, '--batches', values.batches!, '--threads', values.threads!], { encoding: 'utf8' });
if (r.status !== 0) throw new Error(r.stderr);
const torch = JSON.parse(r.stdout.trim().split('\n').pop()!);

process.env.GANTRY_THREADS = values.threads;
await initEngine({ log: () => {} });
const net = new InceptionV3(readTorchStateDict(weights), weights);
const batch = Number(values.batch);
const x = tf.randomUniform([batch, 299, 299, 3]) as tf.Tensor4D;
const run = async () => {
  const out = net.apply(x, [2048]);
  await out.features[2048]!.data();
  tf.dispose(out.features[2048]!);
};
await run();
const times: number[] = [];
for (let i = 0; i < Number(values.batches); i++) {
  const t0 = performance.now();
  await run();
  times.push(performance.now() - t0);
}
times.sort((a, b) => a - b);
const med = times[Math.floor(times.length / 2)];
const gantry = { median_ms: Math.round(med * 10) / 10, images_per_s: Math.round((batch / med) * 1000 * 100) / 100 };
console.log(`Inception-v3 forward, batch ${batch} at 299x299, ${values.threads} threads, median of ${values.batches}:`);
console.log(`gantry  ${gantry.images_per_s} images/s (${gantry.median_ms} ms/batch)`);
console.log(`pytorch ${torch.images_per_s} images/s (${torch.median_ms} ms/batch)`);
console.log(`gantry / pytorch throughput ${(gantry.images_per_s / torch.images_per_s).toFixed(3)}`);
console.log(JSON.stringify({ gantry, torch }));
