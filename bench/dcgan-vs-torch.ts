// gantry against PyTorch on the same machine, in one command (npm run bench):
//   node --import tsx bench/dcgan-vs-torch.ts [--steps 20] [--threads 2] [--workloads dcgan32,dcgan64] [--device cpu|webgpu]
// On the GPU machine: bash .devicekit/on-device.sh node --import tsx bench/dcgan-vs-torch.ts --device webgpu
// (gantry on WebGPU against the peer on CUDA).
// Runs `gantry bench` for each DCGAN workload and ../shared/peers/dcgan_torch.py beside it, then the
// 1024^3 SGEMM of both, and prints each ratio gantry/PyTorch of median times (below 1: gantry faster)
// and the GFLOP/s each reached. Needs Debian's python3-torch (apt-get install -y python3-torch).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { dcganStepFlops } from '../src/bench/flops.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({ options: {
  steps: { type: 'string', default: '20' }, threads: { type: 'string', default: '2' },
  workloads: { type: 'string', default: 'dcgan32,dcgan64' }, device: { type: 'string', default: 'cpu' },
} });
const gpu = values.device === 'webgpu';
// Debian's python3-torch lives in /usr/bin/python3; the GPU machine's PyTorch in its default python3.
const python = gpu ? 'python3' : '/usr/bin/python3';
const peer = [join(root, '..', 'shared', 'peers', 'dcgan_torch.py'), join(root, '.devicekit', 'peers', 'dcgan_torch.py')].find(existsSync);
if (!peer) throw new Error('cannot find dcgan_torch.py in ../shared/peers');

function runJson(cmd: string, args: string[], env: Record<string, string> = {}): Record<string, number | string> {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env: { ...process.env, ...env } });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed:\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

const env = { GANTRY_THREADS: values.threads! };
const rows: string[] = [];
const results: Record<string, unknown>[] = [];
for (const workload of values.workloads!.split(',')) {
  const size = workload === 'dcgan64' ? 64 : 32;
  const g = runJson(process.execPath, [join(root, 'bin', 'gantry.js'), 'bench', '--workload', workload, '--steps', values.steps!, '--device', values.device!], env);
  // On a GPU the shared peer warms up for a count of steps: 100 take about a second at dcgan64's ~10 ms a step, as gantry's bench warms for GPU_WARM_MS.
  const peerWarmup = gpu ? ['--warmup', '100'] : [];
  const t = runJson(python, [peer, '--size', String(size), '--steps', values.steps!, ...peerWarmup, ...(gpu ? ['--device', 'cuda'] : ['--threads', values.threads!])]);
  const flops = dcganStepFlops(size, size === 32 ? 1 : 3, 64);
  const ratio = Number(g.median_ms) / Number(t.median_ms);
  results.push({ workload, gantry_ms: g.median_ms, torch_ms: t.median_ms, ratio, gflop_per_step: flops / 1e9 });
  rows.push(`${workload.padEnd(10)} gantry ${String(g.median_ms).padStart(9)} ms (${(flops / Number(g.median_ms) / 1e6).toFixed(1)} GFLOP/s)   ` +
    `pytorch ${String(t.median_ms).padStart(9)} ms (${(flops / Number(t.median_ms) / 1e6).toFixed(1)} GFLOP/s)   ratio ${ratio.toFixed(3)}   ` +
    `(min..max: gantry ${g.min_ms}..${g.max_ms}, pytorch ${t.min_ms}..${t.max_ms})`);
  if (gpu) {
    // PyTorch's convolutions use TF32 tensor cores by default; gantry's WGSL is plain float32. The same
    // peer with TF32 off (NVIDIA_TF32_OVERRIDE=0) is the like-for-like precision comparison.
    const t32 = runJson(python, [peer, '--size', String(size), '--steps', values.steps!, ...peerWarmup, '--device', 'cuda'], { NVIDIA_TF32_OVERRIDE: '0' });
    const r32 = Number(g.median_ms) / Number(t32.median_ms);
    results.push({ workload: `${workload}-fp32`, gantry_ms: g.median_ms, torch_ms: t32.median_ms, ratio: r32 });
    rows.push(`${''.padEnd(10)} ${''.padEnd(36)} pytorch ${String(t32.median_ms).padStart(9)} ms with TF32 off                ratio ${r32.toFixed(3)}`);
  }
}
if (gpu) {
  // Generator inference, batch 256: images per second (above 1: gantry faster).
  const genPeer = join(root, 'bench', 'generator_torch.py');
  for (const workload of values.workloads!.split(',')) {
    const size = workload === 'dcgan64' ? 64 : 32;
    const g = runJson(process.execPath, [join(root, 'bin', 'gantry.js'), 'bench', '--workload', workload, '--generate', '--steps', values.steps!, '--device', 'webgpu'], env);
    const t = runJson(python, [genPeer, '--size', String(size), '--steps', values.steps!, '--device', 'cuda']);
    const t32 = runJson(python, [genPeer, '--size', String(size), '--steps', values.steps!, '--device', 'cuda'], { NVIDIA_TF32_OVERRIDE: '0' });
    const ratio = Number(g.images_per_s) / Number(t.images_per_s);
    const r32 = Number(g.images_per_s) / Number(t32.images_per_s);
    results.push({ workload: `${workload}-generate`, gantry_images_per_s: g.images_per_s, torch_images_per_s: t.images_per_s, ratio, torch_fp32_images_per_s: t32.images_per_s, ratio_fp32: r32 });
    rows.push(`${(workload + ' G').padEnd(10)} gantry ${String(g.images_per_s).padStart(9)} img/s    pytorch ${String(t.images_per_s).padStart(9)} img/s (TF32 off: ${t32.images_per_s})    ` +
      `gantry/pytorch ${ratio.toFixed(3)} (TF32 off: ${r32.toFixed(3)}) (generator inference, batch 256)`);
  }
  console.log(`gantry on WebGPU vs PyTorch on CUDA, ${values.steps} timed steps each (median), DCGAN batch 64, both in this run:`);
  for (const r of rows) console.log(r);
  console.log(JSON.stringify(results));
  process.exit(0);
}
const gs = runJson(process.execPath, [join(root, 'bin', 'gantry.js'), 'bench', '--workload', 'sgemm1024'], env);
const ts = runJson(python, [join(root, 'bench', 'torch_mm.py'), '--threads', values.threads!]);
rows.push(`sgemm1024  gantry ${String(gs.median_ms).padStart(9)} ms (${gs.gflops} GFLOP/s, ${gs.kernel})   pytorch torch.mm ${String(ts.median_ms).padStart(9)} ms (${ts.gflops} GFLOP/s)   ` +
  `gantry/pytorch GFLOP/s ${(Number(gs.gflops) / Number(ts.gflops)).toFixed(3)}`);
results.push({ workload: 'sgemm1024', gantry_gflops: gs.gflops, torch_gflops: ts.gflops });
console.log(`threads ${values.threads}, ${values.steps} timed steps each (median), DCGAN batch 64, both in this run:`);
for (const r of rows) console.log(r);
console.log(JSON.stringify(results));
