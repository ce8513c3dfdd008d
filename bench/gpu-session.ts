// Every GPU measurement the open issues ask for, in one command on the GPU machine (../shared/gpu/README.md):
//   bash ../shared/gpu/prepare-kit.sh    (here, once; then carry .devicekit and build)
//   bash .devicekit/on-device.sh node --import tsx bench/gpu-session.ts [--budget 540] [--quick]
// Prints one markdown row per measurement as soon as it is taken (a run cut short keeps what it has),
// also into $OUT/gpu-session.md where the device tool gives $OUT (its reply keeps only the output's tail),
// each gantry/PyTorch ratio from medians of the same run:
//   - pix2pixHD's step (../shared/peers/pix2pixhd_torch.py's workload): gantry replayed on its own kernels,
//     eager on its own kernels, eager on stock tfjs kernels, PyTorch CUDA; the peer's 64x128 default and
//     the official global generator at 256x512 and 512x1024 (Cityscapes' global size);
//   - every family's step at 64x64, batch 64: replayed and eager, and beside PyTorch CUDA where a peer of
//     the same network exists (bench/cgan_torch.py: cgan, acgan; bench/vae_torch.py: vae, vae-gan;
//     bench/unet_vae_gan_torch.py; bench/gan_cls_torch.py; bench/dfgan_torch.py); then each replayed
//     step's GPU time by kernel (--profile), for what to speed up next;
//   - every family's generator (batch 256) beside its peer's --generate, images per second;
//   - DCGAN beside ../shared/peers/dcgan_torch.py (bench/dcgan-vs-torch.ts), then dcgan32's steps timed
//     on the host and on the GPU (bench/profile-gpu-step.ts --timeline: the cause of its bimodal steps);
//   - pix2pixHD's image ops, gantry's WGSL kernels against tfjs's ops (bench/gpu-image-ops.ts);
//   - last, one-image draws (a page's slider move) on tfjs's kernels op by op and on gantry's replayed.
// --quick: a few steps each, for a dry run on lavapipe (the numbers mean nothing there).
import { spawnSync } from 'node:child_process';
import { appendFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({ options: { budget: { type: 'string', default: '540' }, quick: { type: 'boolean' } } });
const deadline = Date.now() + Number(values.budget) * 1000;
const quick = Boolean(values.quick);
const peers = [join(root, '.devicekit', 'peers'), join(root, '..', 'shared', 'peers')].find((d) => existsSync(join(d, 'pix2pixhd_torch.py')));
const gantry = [join(root, 'bin', 'gantry.js')];

type Json = Record<string, unknown>;

const record = process.env.OUT ? join(process.env.OUT, 'gpu-session.md') : null;
/** A line of the session's results, on stdout and in the record. */
function say(line: string): void {
  console.log(line);
  if (record) appendFileSync(record, `${line}\n`);
}

/** One JSON-printing command, given what is left of the budget; null (and why, on stderr) if it failed. */
function measure(cmd: string, args: string[], env: Record<string, string> = {}): Json | null {
  const left = Math.floor((deadline - Date.now()) / 1000);
  if (left < 20) return null;
  const r = spawnSync(cmd, args, { encoding: 'utf8', env: { ...process.env, ...env }, timeout: Math.min(left, 180) * 1000 });
  const last = r.stdout?.trim().split('\n').pop() ?? '';
  if (r.status !== 0 || !last.startsWith('{')) {
    const why = `failed (${r.signal ?? r.status}): ${cmd} ${args.join(' ')}\n${(r.stderr ?? '').split('\n').filter((l) => !l.startsWith('Warning')).slice(-4).join('\n')}\n`;
    process.stderr.write(why);
    if (record) appendFileSync(record, why);
    return null;
  }
  return JSON.parse(last) as Json;
}

const ms = (j: Json | null) => (j ? Number(j.median_ms) : NaN);
const fmt = (x: number) => (Number.isFinite(x) ? x.toFixed(x < 10 ? 2 : 1) : '—');
const msCell = (j: Json | null) => (j ? `${fmt(ms(j))} ms` : '—');

const steps = quick ? '2' : '10';
const pix2pixhdSizes: [string, string[]][] = [
  ['64x128 (the peer\'s default)', []],
  ['official global, 256x512', ['--ngf', '64', '--n-down', '4', '--n-blocks', '9', '--ndf', '64', '--label-nc', '35', '--height', '256', '--width', '512']],
  ['official global, 512x1024', ['--ngf', '64', '--n-down', '4', '--n-blocks', '9', '--ndf', '64', '--label-nc', '35', '--height', '512', '--width', '1024']],
];
say('| pix2pixHD step (VGG on) | gantry replayed | gantry eager | stock tfjs eager | PyTorch CUDA | replayed / PyTorch |');
say('|---|---|---|---|---|---|');
for (const [name, args] of quick ? pix2pixhdSizes.slice(0, 1) : pix2pixhdSizes) {
  const bench = ['bench', '--workload', 'pix2pixhd', '--device', 'webgpu', '--steps', steps, ...args];
  const replayed = measure(process.execPath, [...gantry, ...bench]);
  const eager = measure(process.execPath, [...gantry, ...bench], { GANTRY_WEBGPU_EAGER: '1' });
  const stock = name.startsWith('64') ? measure(process.execPath, [...gantry, ...bench], { GANTRY_WEBGPU_EAGER: '1', GANTRY_WEBGPU_TFJS_KERNELS: '1' }) : null;
  const torch = peers ? measure('python3', [join(peers, 'pix2pixhd_torch.py'), '--device', 'cuda', '--steps', steps, ...args]) : null;
  say(`| ${name}, ${replayed?.dispatches ?? '—'} dispatches | ${msCell(replayed)} | ${msCell(eager)} | ${msCell(stock)} | ${msCell(torch)} | ${fmt(ms(replayed) / ms(torch))} |`);
}

say('\n| family step, 64x64, batch 64 | replayed | eager | eager / replayed | replayed steps | PyTorch CUDA | replayed / PyTorch |');
say('|---|---|---|---|---|---|---|');
// Families with a PyTorch peer of the same network (bench/*_torch.py; the peers print the parameter count).
const familyPeers: Record<string, string[]> = {
  cgan: [join(root, 'bench', 'cgan_torch.py'), '--family', 'cgan', '--size', '64', '--channels', '1'],
  acgan: [join(root, 'bench', 'cgan_torch.py'), '--family', 'acgan', '--size', '64', '--channels', '1'],
  vae: [join(root, 'bench', 'vae_torch.py'), '--size', '64', '--channels', '1'],
  'vae-gan': [join(root, 'bench', 'vae_torch.py'), '--gan', '--size', '64', '--channels', '1'],
  'unet-vae-gan': [join(root, 'bench', 'unet_vae_gan_torch.py'), '--size', '64', '--channels', '1'],
  'gan-cls': [join(root, 'bench', 'gan_cls_torch.py'), '--size', '64', '--channels', '3'],
  dfgan: [join(root, 'bench', 'dfgan_torch.py'), '--size', '64', '--channels', '3'],
};
const families: [string, Json][] = [
  ['dcgan', { imageSize: 64 }], ['cgan', { imageSize: 64 }], ['acgan', { imageSize: 64 }], ['vae', { imageSize: 64 }], ['vae-gan', { imageSize: 64 }],
  ['unet-vae-gan', { imageSize: 64 }], ['gan-cls', { imageSize: 64 }], ['dfgan', { imageSize: 64 }], ['pix2pixhd', { height: 64, width: 64 }],
];
const profiles: [string, Json][] = [];
for (const [family, model] of quick ? families.slice(3, 5) : families) {
  const bench = ['bench', '--family', family, '--model', JSON.stringify(model), '--batch', quick ? '8' : '64', '--device', 'webgpu', '--steps', steps];
  // --profile times each dispatch alone after the timed steps: where the replayed step's GPU time goes.
  const replayed = measure(process.execPath, [...gantry, ...bench, '--profile']);
  if (replayed?.profile) profiles.push([family, replayed.profile as Json]);
  const eager = measure(process.execPath, [...gantry, ...bench, '--eager']);
  const peer = familyPeers[family];
  const torch = peer ? measure('python3', [...peer, '--device', 'cuda', '--batch', quick ? '8' : '64', '--steps', steps]) : null;
  say(`| ${family} | ${msCell(replayed)} | ${msCell(eager)} | ${fmt(ms(eager) / ms(replayed))} | ${replayed?.replayed ?? '—'} | ${msCell(torch)} | ${fmt(ms(replayed) / ms(torch))} |`);
}
// DCGAN's hand-built step (above) against the generic recording of its tfjs step: the issue keeps the
// hand-built one only where it is measurably faster.
const dcganBench = ['bench', '--family', 'dcgan', '--model', JSON.stringify({ imageSize: 64 }), '--batch', quick ? '8' : '64', '--device', 'webgpu', '--steps', steps];
const generic = measure(process.execPath, [...gantry, ...dcganBench], { GANTRY_DCGAN_HAND_BUILT: '0' });
say(`| dcgan, generic recording | ${msCell(generic)} | | | ${generic?.replayed ?? '—'} | | |`);
say('\n| generator, 64x64, batch 256 | gantry replayed | PyTorch CUDA | gantry / PyTorch (img/s) |');
say('|---|---|---|---|');
const imgs = (j: Json | null) => (j ? Number(j.images_per_s) : NaN);
for (const [family, model] of quick ? families.slice(3, 4) : families.filter(([f]) => familyPeers[f])) {
  const batch = quick ? '8' : '256';
  const gantryDraws = measure(process.execPath, [...gantry, 'bench', '--family', family, '--model', JSON.stringify(model), '--generate', '--batch', batch, '--device', 'webgpu', '--steps', steps]);
  const peer = familyPeers[family];
  const torchDraws = measure('python3', [...peer, '--generate', '--device', 'cuda', '--batch', batch, '--steps', steps]);
  say(`| ${family} | ${fmt(imgs(gantryDraws))} img/s | ${fmt(imgs(torchDraws))} img/s | ${fmt(imgs(gantryDraws) / imgs(torchDraws))} |`);
}

say('\nGPU time of each replayed step, every dispatch timed alone (`gantry bench --family NAME --device webgpu --profile`), its kernels, most time first:');
for (const [family, byKind] of profiles) {
  for (const [kind, p] of Object.entries(byKind) as [string, { gpu_ms: number; kernels: { label: string; ms: number; dispatches: number }[] }][]) {
    say(`- ${family}, ${kind}: ${fmt(p.gpu_ms)} ms; ${p.kernels.slice(0, 8).map((k) => `${k.label} ${fmt(k.ms)} ms (${k.dispatches})`).join(', ')}`);
  }
}
/** A bench script's printout, within what is left of the budget (none once it is spent). */
function script(args: string[]): string {
  const left = deadline - Date.now();
  if (left < 20_000) return '(skipped: the budget is spent)';
  const r = spawnSync(process.execPath, ['--import', 'tsx', ...args], { encoding: 'utf8', timeout: left });
  return (r.stdout ?? '') + (r.status === 0 ? '' : `(stopped: ${r.signal ?? r.status})`);
}
if (!quick) {
  say('\nDCGAN beside its peer:');
  say(script([join(root, 'bench', 'dcgan-vs-torch.ts'), '--device', 'webgpu', '--steps', '30']));
}
// dcgan32's bimodal steps: each step's wall and host time beside when the GPU ran it.
say('\ndcgan32\'s steps on the host and on the GPU (`bench/profile-gpu-step.ts dcgan32 --timeline`):');
say(script([join(root, 'bench', 'profile-gpu-step.ts'), 'dcgan32', '--steps', quick ? '3' : '40', '--timeline', ...(quick ? ['--batch', '8'] : [])]).split('GPU time of one step')[0]);
if (!quick) {
  say('\npix2pixHD\'s image ops, gantry\'s WGSL kernels against tfjs\'s ops:');
  say(script([join(root, 'bench', 'gpu-image-ops.ts')]));
}

// What a page on a GPU would gain from gantry/web's `gpuKernels: 'gantry'` (Dawn here is Chrome's WebGPU
// engine): one image a draw, as a slider move asks, on tfjs's kernels op by op (a page's default) and on
// gantry's kernels replayed.
say('\n| one-image draw (a page\'s slider move) | tfjs kernels, op by op | gantry kernels, replayed | tfjs / gantry |');
say('|---|---|---|---|');
const pageDraws: [string, Json][] = [['cgan', { imageSize: 64 }], ['pix2pixhd', { height: 256, width: 512 }]];
for (const [family, model] of quick ? pageDraws.slice(0, 1) : pageDraws) {
  const draw = ['bench', '--family', family, '--model', JSON.stringify(model), '--generate', '--batch', '1', '--device', 'webgpu', '--steps', quick ? '4' : '20'];
  const tfjs = measure(process.execPath, [...gantry, ...draw], { GANTRY_WEBGPU_EAGER: '1', GANTRY_WEBGPU_TFJS_KERNELS: '1' });
  const ours = measure(process.execPath, [...gantry, ...draw]);
  say(`| ${family} ${JSON.stringify(model)} | ${msCell(tfjs)} | ${msCell(ours)} | ${fmt(ms(tfjs) / ms(ours))} |`);
}
