// Every GPU measurement the open issues ask for, in one command on the GPU machine (../shared/gpu/README.md):
//   bash ../shared/gpu/prepare-kit.sh    (here, once; then carry .devicekit and build)
//   bash .devicekit/on-device.sh node --import tsx bench/gpu-session.ts [--budget 560] [--sections 1,2,...] [--quick]
// Prints one markdown row per measurement as soon as it is taken (a run cut short keeps what it has),
// also into $OUT/gpu-session.md where the device tool gives $OUT (its reply keeps only the output's tail),
// each gantry/PyTorch ratio from medians of the same run. The issue's targets come first, so a budget
// that runs out costs the comparisons, not the targets:
//   0. the GPU's matrix units (test/gpu/matrix-products.test.ts on them, GANTRY_TENSOR_CORES=1), then the
//      targets that hang on them, each in float32 and on them beside PyTorch CUDA: training steps
//      (GANTRY_TENSOR_CORES=train) of pix2pixHD at 64x128, 256x512 and 512x1024, DCGAN and four families;
//      generators' draws (=1); the layers of DCGAN and pix2pixHD's global generator one by one (plain,
//      matrix tile, scaled). The first call of a session where they have never run: --sections 0;
//   1. every family's replayed step at 64x64, batch 64, beside PyTorch CUDA where a peer of the same
//      network exists (bench/cgan_torch.py: cgan, acgan; bench/vae_torch.py: vae, vae-gan;
//      bench/unet_vae_gan_torch.py; bench/gan_cls_torch.py; bench/dfgan_torch.py), with its GPU time by
//      kernel (--profile, printed after the table), for what to speed up next, and its passes' GPU time
//      (--timeline: whether the step's time is the GPU's work or the GPU waiting for the host); then the
//      same step with each product's tile and K-split timed on this GPU (GANTRY_GPU_TUNING=1; five families), and the
//      same step with its products on the GPU's matrix units (GANTRY_TENSOR_CORES=train, operands scaled
//      into 16-bit range), where test/gpu/matrix-products.test.ts passed on them;
//   2. every family's generator (batch 256) beside its peer's --generate (TF32 on, as PyTorch defaults, and
//      off), images per second, drawn 64 at a time (as sample and eval draw; by kernel with --profile) and
//      all at once (--draw-chunk 256), and 64 at a time on the GPU's matrix units (GANTRY_TENSOR_CORES=1,
//      after test/gpu/matrix-products.test.ts on them);
//   3. the WebGPU tests (test/gpu/) on this GPU, whose thread order is not lavapipe's; then `gantry train`'s
//      images per second (cgan, unet-vae-gan) against the bench's step alone: does the host keep up;
//   4. DCGAN beside ../shared/peers/dcgan_torch.py (bench/dcgan-vs-torch.ts; its generator's draws also on the
//      GPU's matrix units, GANTRY_TENSOR_CORES=1, and its steps, =train), then dcgan32's steps timed
//      on the host and on the GPU (bench/profile-gpu-step.ts --timeline: bimodal on an H100, not an H200);
//   5. pix2pixHD's step (../shared/peers/pix2pixhd_torch.py's workload), replayed beside PyTorch CUDA at
//      the peer's 64x128 default and the official global generator at 256x512 and 512x1024 (Cityscapes'
//      global size); at 64x128 also eager on gantry's kernels and on stock tfjs kernels, at the official
//      sizes also without Winograd's 3x3 convolutions (GANTRY_WINOGRAD=0); at every size also on the GPU's
//      matrix units (GANTRY_TENSOR_CORES=train);
//   6. DF-GAN at the paper's 256x256, batch 32, replayed beside PyTorch CUDA;
//   7. FID's Inception-v3 forward at batch 50, replayed and eager, beside PyTorch CUDA;
//   8. the convolutions layer by layer (DCGAN's, Inception's, the pix2pixHD global generator's), each
//      product beside PyTorch's with TF32 off and on: where gantry's GEMMs fall behind cuDNN (first, whether
//      the dispatches of one pass overlap: bench/dispatch-overlap.ts); then each GEMM under every tile and
//      K-split (bench/gemm-tiles.ts): whether other choices would close it;
//   9. then the comparisons: every family's step eager, DCGAN's generic recording against its hand-built
//   step and with each of DCGAN's options (R1, lazy R1, hinge, WGAN-GP, spectral norm, augment), pix2pixHD's image ops against tfjs's (bench/gpu-image-ops.ts), one-image draws (a page's
//   slider move) on tfjs's kernels op by op and on gantry's replayed, and projection's step (`gantry project`);
//  10. what Dawn's robustness (every load and store of a storage buffer clamped to its bounds) costs: DCGAN's,
//   pix2pixHD's and cgan's steps with it and with the toggle disable_robustness. Last, how long each command
//   took (on an H200 all of it took about 700 s: 1.-7. about 600).
// Profiles (--profile) run with Dawn's timestamp quantization off (EXACT_TIMES): quantized, a dispatch's
// time is a multiple of ~0.1 ms.
// --quick: a few steps each, for a dry run on lavapipe (the numbers mean nothing there); with --emulate the
// matrix units' rows run their emulated kernels there too.
import { spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({ options: { budget: { type: 'string', default: '560' }, quick: { type: 'boolean' }, emulate: { type: 'boolean' }, sections: { type: 'string' } } });
const deadline = Date.now() + Number(values.budget) * 1000;
const quick = Boolean(values.quick);
/** --sections 0,1,8: only those (the numbers above; 9: the comparisons), as a second call for what a budget cut. */
const sections = values.sections ? new Set(values.sections.split(',').map(Number)) : null;
if (sections && [...sections].some((n) => !(n >= 0 && n <= 10 && Number.isInteger(n)))) throw new Error(`--sections: numbers 0-10, comma-separated, got ${values.sections}`);
const want = (n: number) => !sections || sections.has(n);
/**
 * GANTRY_TENSOR_CORES for draws and for training steps on the matrix units; --emulate: their loops instead
 * (emulate, emulate-train), so that a dry run on lavapipe goes through every matrix row.
 */
const DRAWS_ON_MATRIX = { GANTRY_TENSOR_CORES: values.emulate ? 'emulate' : '1' };
const TRAINING_ON_MATRIX = { GANTRY_TENSOR_CORES: values.emulate ? 'emulate-train' : 'train' };
const peers = [join(root, '.devicekit', 'peers'), join(root, '..', 'shared', 'peers')].find((d) => existsSync(join(d, 'pix2pixhd_torch.py')));
const gantry = [join(root, 'bin', 'gantry.js')];

type Json = Record<string, unknown>;

/** Dawn's timestamps exact, for profiles: by default it rounds them (~0.1 ms), as browsers do. */
const EXACT_TIMES = { GANTRY_DAWN_FLAGS: 'disable-dawn-features=timestamp_quantization' };
/** GANTRY_GPU_TUNING=1 with a cache of this session's own, so the first run of each product times it here. */
const TUNED = { GANTRY_GPU_TUNING: '1', GANTRY_CACHE: mkdtempSync(join(tmpdir(), 'gantry-gpu-tuning-')) };
/** The families section 1 also times tuned: DCGAN's hand-built step, cgan beside the two out of line with it, and pix2pixHD (each pays for compiling its products' candidates). */
const TUNED_FAMILIES = ['dcgan', 'cgan', 'acgan', 'vae', 'pix2pixhd'];

const record = process.env.OUT ? join(process.env.OUT, 'gpu-session.md') : null;
if (process.env.OUT) mkdirSync(process.env.OUT, { recursive: true });
/** A line of the session's results, on stdout and in the record. */
function say(line: string): void {
  console.log(line);
  if (record) appendFileSync(record, `${line}\n`);
}

/** Seconds each command took, for planning the next session's budget. */
const durations: [string, number][] = [];
let skipped = 0;

/** Runs a command within what is left of the budget: its stdout and whether it succeeded (why not, in the record), or null when no time was left. */
function run(cmd: string, args: string[], env: Record<string, string> = {}, limitSeconds = 180): { ok: boolean; stdout: string } | null {
  const left = Math.floor((deadline - Date.now()) / 1000);
  if (left < 20) {
    skipped++;
    return null;
  }
  const started = Date.now();
  const limit = Math.min(left, limitSeconds);
  const r = spawnSync(cmd, args, { encoding: 'utf8', env: { ...process.env, ...env }, timeout: limit * 1000 });
  const name = [cmd === process.execPath ? 'node' : cmd, ...args.map((a) => a.replace(`${root}/`, ''))].join(' ');
  durations.push([`${name}${Object.keys(env).length ? ` (${Object.entries(env).map(([k, v]) => `${k}=${v}`).join(' ')})` : ''}`, (Date.now() - started) / 1000]);
  if (r.status !== 0) {
    const timedOut = (r.error as NodeJS.ErrnoException | undefined)?.code === 'ETIMEDOUT';
    const why = `${timedOut ? `stopped at its ${limit} s limit` : `failed (${r.signal ?? r.status})`}: ${name}\n${(r.stderr ?? '').split('\n').filter((l) => !l.startsWith('Warning')).slice(-4).join('\n')}\n`;
    process.stderr.write(why);
    if (record) appendFileSync(record, why);
  }
  return { ok: r.status === 0, stdout: r.stdout ?? '' };
}

/** One JSON-printing command's last line, parsed; null if it failed. */
function measure(cmd: string, args: string[], env: Record<string, string> = {}): Json | null {
  const r = run(cmd, args, env);
  const last = r?.ok ? r.stdout.trim().split('\n').pop() ?? '' : '';
  return last.startsWith('{') ? (JSON.parse(last) as Json) : null;
}

/** A bench script's printout, what it printed before it stopped if it failed (nothing once the budget is spent). */
function script(args: string[], env: Record<string, string> = {}): string {
  const r = run(process.execPath, ['--import', 'tsx', ...args], env, 600);
  return r === null ? '(not run: the budget was spent)' : r.ok ? r.stdout : `${r.stdout}(stopped: see the failure above)`;
}

const ms = (j: Json | null) => (j ? Number(j.median_ms) : NaN);
const fmt = (x: number) => (Number.isFinite(x) ? x.toFixed(x < 10 ? 2 : 1) : '—');
const msCell = (j: Json | null) => (j ? `${fmt(ms(j))} ms` : '—');
const imgs = (j: Json | null) => (j ? Number(j.images_per_s) : NaN);

// 20 timed steps a measurement: medians of 10 were not steady enough to compare sibling networks.
const steps = quick ? '2' : '20';
const batch = quick ? '8' : '64';

// 1. Every family's replayed step beside its peer.
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
const measured = quick ? families.slice(3, 5) : families;
/** pix2pixHD's step sizes: the peer's default (64x128), and the official global generator at 256x512 and Cityscapes' 512x1024. */
const official = (h: string, w: string) => ['--ngf', '64', '--n-down', '4', '--n-blocks', '9', '--ndf', '64', '--label-nc', '35', '--height', h, '--width', w];
/** `gantry bench`'s arguments for pix2pixHD's replayed step at these sizes. */
const pix2pixhdBench = (args: string[]) => ['bench', '--workload', 'pix2pixhd', '--device', 'webgpu', '--steps', steps, ...args];
/** The shared peer's command for the same step (python3 and its arguments), or null where the peers are not found. */
function pix2pixhdPeer(args: string[]): [string, string[]] | null {
  // The shared peer warms up a fixed count of steps: 20 of them take half a second at the smallest size (25 ms a step on an H200), more at the larger, as gantry's bench warms for GPU_WARM_MS.
  return peers ? ['python3', [join(peers, 'pix2pixhd_torch.py'), '--device', 'cuda', '--steps', steps, '--warmup', quick ? '2' : '20', ...args]] : null;
}
const PIX2PIXHD_SIZES: [string, string[]][] = [
  ['64x128 (the peer\'s default)', []], ['official global, 256x512', official('256', '512')], ['official global, 512x1024', official('512', '1024')],
];
const familyBench = (family: string, model: Json) => ['bench', '--family', family, '--model', JSON.stringify(model), '--batch', batch, '--device', 'webgpu', '--steps', steps];
const replayedSteps: Record<string, Json | null> = {};
const profiles: [string, Json][] = [];

/** Where the GPU time of what was profiled went: each dispatch timed alone, summed by kernel, most time first (count in brackets). */
function sayProfiles(what: string, byFamily: [string, Json][]): void {
  say(`\nGPU time of ${what}, every dispatch timed alone, its kernels, most time first:`);
  for (const [family, byKind] of byFamily) {
    for (const [kind, p] of Object.entries(byKind) as [string, { gpu_ms: number; kernels: { label: string; ms: number; dispatches: number }[] }][]) {
      // Every kernel of at least 1% of the total (up to 16): small ones that take far more than a dispatch's time show too.
      const shown = p.kernels.filter((k) => k.ms >= 0.01 * p.gpu_ms).slice(0, 16);
      say(`- ${family}, ${kind}: ${fmt(p.gpu_ms)} ms; ${shown.map((k) => `${k.label} ${fmt(k.ms)} ms (${k.dispatches})`).join(', ')}`);
    }
  }
}
// The adapter and the limits gantry's kernels plan by (workgroup memory: whether the 128-wide GEMM tile is padded).
{
  // With GANTRY_TENSOR_CORES=1: whether the device gives subgroup matrices (Dawn's experimental feature) and which,
  // and whether the tile passed its check at start (a compiler's complaint kept on the line, its newlines escaped).
  const src = (f: string) => JSON.stringify(join(root, 'src', ...f.split('/')));
  const code = `import { initEngine } from ${src('engine/index.ts')}; import { matrixProductsOf, refusedMatrixProducts } from ${src('gpu/matrix-products.ts')};
    import * as tf from '@tensorflow/tfjs-core';
    await initEngine({ device: 'webgpu', log: (l) => console.log(l) });
    const device = tf.backend().device;
    const info = (await navigator.gpu.requestAdapter()).info;
    console.log('Matrix units: ' + JSON.stringify(matrixProductsOf(device) ?? refusedMatrixProducts(device)) + '; configs ' + JSON.stringify(info.subgroupMatrixConfigs ?? null) + ', subgroups ' + info.subgroupMinSize + '-' + info.subgroupMaxSize);`;
  const r = run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], DRAWS_ON_MATRIX, 60);
  const lines = r?.stdout.trim().split('\n') ?? [];
  say(`Device: ${lines.find((l) => l.includes('WebGPU on'))?.replace(/^gantry: /, '') ?? '(not found)'}`);
  say(`${lines.find((l) => l.startsWith('Matrix units')) ?? 'Matrix units: (not found)'}\n`);
}

let matrixTested: boolean | null = null;
/**
 * Whether the matrix tile passed its tests on this GPU (test/gpu/matrix-products.test.ts with
 * GANTRY_TENSOR_CORES=1; run once, its summary and failures into the record): only then do the benches
 * that time it ask for it, so a kernel that fails on the GPU costs its own rows, not the float32 ones.
 */
function matrixTileWorks(): boolean {
  if (matrixTested !== null) return matrixTested;
  const tested = matrixTests(DRAWS_ON_MATRIX);
  if (tested?.checkFailed) {
    // The tile failed its check at start (the Matrix units line says how), so the tests above skipped: run
    // them on the unchecked tile, for which shapes fail and how. Nothing is timed on it.
    matrixTests({ ...DRAWS_ON_MATRIX, GANTRY_MATRIX_CHECK: '0' });
    return (matrixTested = false);
  }
  // Skipped: the device has no matrix units for gantry (the Matrix units line above says why).
  return (matrixTested = !!tested?.ok && tested.skipped === '0');
}

/** test/gpu/matrix-products.test.ts under env: its summary and failures into the record. */
function matrixTests(env: Record<string, string>): { ok: boolean; skipped: string; checkFailed: boolean } | null {
  const tested = run(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=tap', join(root, 'test', 'gpu', 'matrix-products.test.ts')], env, 120);
  if (!tested) return null;
  const count = (what: string) => tested.stdout.match(new RegExp(`^# ${what} (\\d+)`, 'm'))?.[1] ?? '?';
  const settings = Object.entries(env).map(([k, v]) => `${k}=${v}`).join(' ');
  say(`\nThe matrix tile's tests on this GPU (\`${settings} node --import tsx --test test/gpu/matrix-products.test.ts\`): ${count('pass')} passed, ${count('fail')} failed, ${count('skipped')} skipped`);
  // A failure's first lines: the WGSL compiler's or the numbers' complaint, for the next session.
  const failed = tested.stdout.split(/^not ok /m).slice(1);
  // Each under its test's name.
  for (const f of failed) {
    const [name, ...rest] = f.split('\n');
    say(`\n\`\`\`\nnot ok ${name}\n${rest.filter((l) => /error:|Error|wgsl|:\d+:\d+|matrix product/.test(l)).slice(0, 8).join('\n')}\n\`\`\``);
  }
  return { ok: tested.ok, skipped: count('skipped'), checkFailed: failed.some((f) => /^\d+ - the matrix tile's check at start/.test(f)) && !env.GANTRY_MATRIX_CHECK };
}

type LayerTimes = { layers: { layer: unknown[]; gflop: number; ms: number[]; gpu_ms?: number[]; winograd?: ({ m: number; other_ms: number; gemm_ms: number } | null)[]; matrix_ms?: (number | null)[]; scaled_ms?: number[]; tfjs_ms?: number[] }[] };
function layerJson(cmd: string, args: string[], env: Record<string, string> = {}): LayerTimes | null {
  const r = run(cmd, args, env, 240);
  const last = r?.ok ? r.stdout.trim().split('\n').pop() ?? '' : '';
  return last.startsWith('{') ? (JSON.parse(last) as LayerTimes) : null;
}
/**
 * A layer set's convolutions (bench/convs.ts beside bench/convs_torch.py with TF32 off and on): gantry's calls,
 * their GPU time alone, by Winograd, and (where the matrix tile passed its tests here) on the matrix tile as a
 * draw and as a training step takes it.
 */
function layerTable(set: string, forwardOnly: boolean): void {
  const only = forwardOnly ? ['--forward'] : [];
  // GANTRY_TENSOR_CORES=1 (where its tests passed): each forward and input gradient on the matrix tile too,
  // and each product as a training step takes it there (scaled).
  const ours = layerJson(process.execPath, ['--import', 'tsx', join(root, 'bench', 'convs.ts'), '--set', set, '--device', 'webgpu', '--json', ...only, ...(set === 'inception' ? ['--tfjs'] : [])], { ...EXACT_TIMES, ...(matrixTileWorks() ? DRAWS_ON_MATRIX : {}) });
  const strict = layerJson('python3', [join(root, 'bench', 'convs_torch.py'), '--set', set, '--device', 'cuda', '--no-tf32', '--json', ...only]);
  const tf32 = layerJson('python3', [join(root, 'bench', 'convs_torch.py'), '--set', set, '--device', 'cuda', '--json', ...only]);
  // gantry's calls through tfjs (the host's work of each call included, as PyTorch's calls include its own),
  // and its dispatches' GPU time alone: the kernels' own share, which a replayed step pays.
  say(`\n| ${set} layer (\`bench/convs.ts --set ${set}\`) | product | gantry, called | its GPU time alone | by Winograd F(m x m): the other F, the implicit GEMM | TFLOP/s (GPU alone; Winograd's counted as the implicit GEMM's) | PyTorch, TF32 off | TF32 on | GPU alone / PyTorch (off, on) | matrix tile (GANTRY_TENSOR_CORES=1), / TF32 on | scaled, as training takes it (=train), / TF32 on |${set === 'inception' ? ' tfjs\'s kernels |' : ''}`);
  say(`|---|---|---|---|---|---|---|---|---|---|---|${set === 'inception' ? '---|' : ''}`);
  (ours ?? strict)?.layers.forEach((row, i) => {
    row.ms.forEach((_, p) => {
      const g = ours?.layers[i].ms[p] ?? NaN;
      const alone = ours?.layers[i].gpu_ms?.[p] ?? NaN;
      const [off, on] = [strict?.layers[i].ms[p] ?? NaN, tf32?.layers[i].ms[p] ?? NaN];
      const tfjs = ours?.layers[i].tfjs_ms?.[p];
      const w = ours?.layers[i].winograd?.[p];
      const onMatrix = ours?.layers[i].matrix_ms?.[p];
      const matrixCell = typeof onMatrix === 'number' ? `${fmt(onMatrix)} ms, ${fmt(onMatrix / on)}` : '—';
      const scaled = ours?.layers[i].scaled_ms?.[p];
      const scaledCell = typeof scaled === 'number' ? `${fmt(scaled)} ms, ${fmt(scaled / on)}` : '—';
      say(`| ${JSON.stringify(row.layer)} | ${['forward', 'input gradient', 'filter gradient'][p]} | ${fmt(g)} ms | ${fmt(alone)} ms | ${w ? `F(${w.m}): ${fmt(w.other_ms)} ms, ${fmt(w.gemm_ms)} ms` : '—'} | ${fmt(row.gflop / alone)} | ${fmt(off)} ms | ${fmt(on)} ms | ${fmt(alone / off)}, ${fmt(alone / on)} | ${matrixCell} | ${scaledCell} |${set === 'inception' ? ` ${tfjs === undefined ? '—' : `${fmt(tfjs)} ms`} |` : ''}`);
    });
  });
}

/** GANTRY_TENSOR_CORES=train where the matrix tile passed its tests here: training steps' products on the matrix units, operands scaled. */
const trainOnMatrix = (): Record<string, string> | null => (matrixTileWorks() ? TRAINING_ON_MATRIX : null);

// 0. The GPU's matrix units first: their tests, then each target measured in float32 and on them beside
// PyTorch's (TF32, its default): training steps (GANTRY_TENSOR_CORES=train) of pix2pixHD at its three sizes,
// DCGAN and four families; generators' draws (=1); then the layers of DCGAN and the official pix2pixHD global
// generator one by one. A kernel that fails its tests here says why and leaves the rest to the other sections.
if (want(0)) {
  const onMatrix = trainOnMatrix();
  if (!onMatrix) {
    say('\nNo matrix units for gantry here (the Matrix units line and the tests above say why): section 0 stops.');
  } else {
    type Step = [string, string[], [string, string[]] | null];
    const dcganPeer = peers ? join(peers, 'dcgan_torch.py') : null;
    const trainingSteps: Step[] = [
      ...PIX2PIXHD_SIZES.map(([name, args]): Step => [`pix2pixHD ${name}`, pix2pixhdBench(args), pix2pixhdPeer(args)]),
      ...(['dcgan32', 'dcgan64'] as const).map((w): Step => [`${w} (hand-built step)`, ['bench', '--workload', w, '--device', 'webgpu', '--steps', steps], dcganPeer ? ['python3', [dcganPeer, '--size', w.slice(5), '--steps', steps, '--warmup', '100', '--device', 'cuda']] : null]),
      ...['cgan', 'acgan', 'vae', 'dfgan'].map((f): Step => [`${f} 64x64`, familyBench(f, { imageSize: 64 }), ['python3', [...familyPeers[f], '--device', 'cuda', '--batch', batch, '--steps', steps]]]),
    ];
    say(`\n| training step, batch ${batch} (pix2pixHD 1) | float32, replayed | on matrix units (GANTRY_TENSOR_CORES=train) | PyTorch CUDA | float32 / PyTorch | matrix / PyTorch |`);
    say('|---|---|---|---|---|---|');
    for (const [name, args, peer] of quick ? trainingSteps.slice(0, 1) : trainingSteps) {
      const float32 = measure(process.execPath, [...gantry, ...args]);
      const matrix = measure(process.execPath, [...gantry, ...args], onMatrix);
      const torch = peer ? measure(peer[0], peer[1]) : null;
      say(`| ${name} | ${msCell(float32)} | ${msCell(matrix)} | ${msCell(torch)} | ${fmt(ms(float32) / ms(torch))} | ${fmt(ms(matrix) / ms(torch))} |`);
    }
    const drawBatch = quick ? '8' : '256';
    const draws: [string, string[], [string, string[]]][] = [
      ...(['dcgan32', 'dcgan64'] as const).map((w): [string, string[], [string, string[]]] => [w, ['bench', '--workload', w, '--generate', '--device', 'webgpu', '--steps', steps], ['python3', [join(root, 'bench', 'generator_torch.py'), '--size', w.slice(5), '--steps', steps, '--device', 'cuda']]]),
      ...['cgan', 'vae', 'dfgan'].map((f): [string, string[], [string, string[]]] => [f, ['bench', '--family', f, '--model', JSON.stringify({ imageSize: 64 }), '--generate', '--batch', drawBatch, '--device', 'webgpu', '--steps', steps], ['python3', [...familyPeers[f], '--generate', '--device', 'cuda', '--batch', drawBatch, '--steps', steps]]]),
    ];
    say(`\n| generator, batch ${drawBatch} (64 at a time for the families) | float32 | on matrix units (GANTRY_TENSOR_CORES=1) | PyTorch CUDA | float32 / PyTorch, img/s | matrix / PyTorch |`);
    say('|---|---|---|---|---|---|');
    for (const [name, args, peer] of quick ? draws.slice(2, 3) : draws) {
      const float32 = measure(process.execPath, [...gantry, ...args]);
      const matrix = measure(process.execPath, [...gantry, ...args], DRAWS_ON_MATRIX);
      const torch = measure(peer[0], peer[1]);
      say(`| ${name} | ${fmt(imgs(float32))} img/s | ${fmt(imgs(matrix))} img/s | ${fmt(imgs(torch))} img/s | ${fmt(imgs(float32) / imgs(torch))} | ${fmt(imgs(matrix) / imgs(torch))} |`);
    }
    for (const set of quick ? ['dcgan64'] : ['dcgan64', 'pix2pixhd-global']) layerTable(set, false);
  }
}

if (want(1)) {
  const onMatrix = trainOnMatrix();
  say(`| family step, 64x64, batch ${batch} | gantry replayed | its GPU span / in passes (idle before) | replayed steps (calls left to tfjs's kernels) | its batch drawn on the host (untimed) | PyTorch CUDA | replayed / PyTorch | products tuned here (GANTRY_GPU_TUNING=1) | that / PyTorch | on matrix units (GANTRY_TENSOR_CORES=train) | that / PyTorch |`);
  say('|---|---|---|---|---|---|---|---|---|---|---|');
  for (const [family, model] of measured) {
    // --profile times each dispatch alone after the timed steps: where the replayed step's GPU time goes;
    // --timeline as many more steps' passes: a span its passes fill is GPU work, one longer waited for the host.
    const replayed = (replayedSteps[family] = measure(process.execPath, [...gantry, ...familyBench(family, model), '--profile', '--timeline'], EXACT_TIMES));
    const t = replayed?.timeline as { steps: number; gpu_span_ms: number; in_passes_ms: number; gpu_idle_before_ms: number | null } | null | undefined;
    const onGpu = t?.steps ? `${fmt(t.gpu_span_ms)} / ${fmt(t.in_passes_ms)} ms (${fmt(t.gpu_idle_before_ms ?? NaN)} ms)` : '—';
    if (replayed?.profile) profiles.push([family, replayed.profile as Json]);
    const peer = familyPeers[family];
    const torch = peer ? measure('python3', [...peer, '--device', 'cuda', '--batch', batch, '--steps', steps]) : null;
    const drawn = replayed ? `${fmt(Number(replayed.data_ms))} ms` : '—';
    // Its products' tiles and splits timed on this GPU first, in the warm-up (DCGAN's hand-built step is built again with them).
    const tuned = TUNED_FAMILIES.includes(family) ? measure(process.execPath, [...gantry, ...familyBench(family, model)], TUNED) : null;
    const matrix = onMatrix ? measure(process.execPath, [...gantry, ...familyBench(family, model)], onMatrix) : null;
    say(`| ${family}${family === 'dcgan' ? ' (hand-built step, which replays itself: not counted; its peer in 4.)' : ''} | ${msCell(replayed)} | ${onGpu} | ${replayed ? `${replayed.replayed} (${replayed.tfjs_calls})` : '—'} | ${drawn} | ${msCell(torch)} | ${fmt(ms(replayed) / ms(torch))} | ${msCell(tuned)}${tuned ? ` (${tuned.gemms_tuned} products timed in ${fmt(Number(tuned.gemm_tuning_s))} s)` : ''} | ${fmt(ms(tuned) / ms(torch))} | ${msCell(matrix)} | ${fmt(ms(matrix) / ms(torch))} |`);
  }
  sayProfiles('each replayed step (`gantry bench --family NAME --device webgpu --profile`)', profiles);
}

// 2. Every family's generator beside its peer's: drawn as sample and eval draw (64 images at a time at
// 64x64, by kernel with --profile) and all at once (--draw-chunk), which tells whether 64 underfills the GPU.
if (want(2)) {
  const drawBatch = quick ? '8' : '256';
  const drawProfiles: [string, Json][] = [];
  // The matrix tile (GANTRY_TENSOR_CORES=1: 16-bit inputs on subgroup matrices) first tested on this GPU's
  // matrix units (its result printed before the table), then timed in the table's last columns.
  const matrixWorks = matrixTileWorks();
  say(`\n| generator, 64x64, batch ${drawBatch} | gantry replayed, 64 at a time | all ${drawBatch} at once | PyTorch CUDA | PyTorch, TF32 off | gantry / PyTorch, img/s (TF32 off) | at once / PyTorch (TF32 off) | on matrix units (GANTRY_TENSOR_CORES=1), 64 at a time | that / PyTorch |`);
  say('|---|---|---|---|---|---|---|---|---|');
  for (const [family, model] of quick ? families.slice(3, 4) : families.filter(([f]) => familyPeers[f])) {
    const draws = ['bench', '--family', family, '--model', JSON.stringify(model), '--generate', '--batch', drawBatch, '--device', 'webgpu', '--steps', steps];
    const gantryDraws = measure(process.execPath, [...gantry, ...draws, '--profile'], EXACT_TIMES);
    if (gantryDraws?.profile) drawProfiles.push([family, gantryDraws.profile as Json]);
    const atOnce = measure(process.execPath, [...gantry, ...draws, '--draw-chunk', drawBatch]);
    const peerDraws = [...familyPeers[family], '--generate', '--device', 'cuda', '--batch', drawBatch, '--steps', steps];
    const torchDraws = measure('python3', peerDraws);
    // PyTorch's convolutions run on TF32 tensor cores by default, which WGSL cannot reach: TF32 off is the float32 comparison.
    const float32Draws = measure('python3', peerDraws, { NVIDIA_TF32_OVERRIDE: '0' });
    const ratio = (a: Json | null, b: Json | null) => fmt(imgs(a) / imgs(b));
    const matrixDraws = matrixWorks ? measure(process.execPath, [...gantry, ...draws, '--profile'], { ...EXACT_TIMES, ...DRAWS_ON_MATRIX }) : null;
    if (matrixDraws?.profile) drawProfiles.push([`${family} (GANTRY_TENSOR_CORES=1)`, matrixDraws.profile as Json]);
    say(`| ${family} | ${fmt(imgs(gantryDraws))} img/s | ${fmt(imgs(atOnce))} img/s | ${fmt(imgs(torchDraws))} img/s | ${fmt(imgs(float32Draws))} img/s | ${ratio(gantryDraws, torchDraws)} (${ratio(gantryDraws, float32Draws)}) | ${ratio(atOnce, torchDraws)} (${ratio(atOnce, float32Draws)}) | ${fmt(imgs(matrixDraws))} img/s | ${ratio(matrixDraws, torchDraws)} |`);
  }

  sayProfiles('each draw of 64 images (`gantry bench --family NAME --device webgpu --generate --profile`)', drawProfiles.map(([f, p]): [string, Json] => [`${f} generator`, p]));
}

// 3. The WebGPU tests (test/gpu/: every WGSL kernel against float64 loops, replayed steps and draws against
// eager ones bit for bit, the device's limits as errors) on this GPU, as they run on lavapipe in CI: a real
// GPU runs threads in orders lavapipe does not (float atomics were not deterministic there).
if (want(3)) {
  const tests = readdirSync(join(root, 'test', 'gpu')).filter((f) => f.endsWith('.test.ts')).sort().map((f) => join(root, 'test', 'gpu', f));
  const tested = run(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', '--test-reporter=tap', ...tests], {}, 300);
  if (tested) {
    const count = (what: string) => tested.stdout.match(new RegExp(`^# ${what} (\\d+)`, 'm'))?.[1];
    // A run cut short prints no summary: count its TAP lines (suites' lines included) up to the cut.
    const lines = (pattern: RegExp) => tested.stdout.split('\n').filter((l) => pattern.test(l)).length;
    const summary = count('pass') === undefined
      ? `cut short before its summary; by then ${lines(/^\s*ok \d+/)} ok and ${lines(/^\s*not ok \d+/)} not ok (TAP lines, suites included)`
      : `${count('pass')} passed, ${count('fail')} failed, ${count('skipped')} skipped`;
    say(`\nWebGPU tests on this GPU (\`node --import tsx --test test/gpu/*.test.ts\`): ${summary}`);
    for (const line of tested.stdout.split('\n').filter((l) => /^\s*not ok /.test(l))) say(`- ${line.trim()}`);
  } else {
    say('\nWebGPU tests on this GPU: not run (the budget was spent)');
  }

  // 3b. Training as a user runs it (`gantry train`: the next batch drawn while the GPU runs the step, losses
  // read every 20 steps): images per second from its metrics, against the bench's step alone, which shows
  // whether the host keeps up with the GPU.
  say(`\n| gantry train, 64x64, batch ${batch}, images/s of steps ${quick ? '2-4' : '20-60'} | training | the bench's step alone |`);
  say('|---|---|---|');
  for (const family of quick ? ['vae'] : ['cgan', 'unet-vae-gan']) {
    const dir = mkdtempSync(join(tmpdir(), 'gantry-gpu-train-'));
    const config = join(dir, 'config.json');
    const every = quick ? 2 : 20;
    writeFileSync(config, JSON.stringify({ model: { imageSize: 64 }, train: { batch: Number(batch), logEvery: every, sampleEvery: 10000, checkpointEvery: 10000 } }));
    const trained = run(process.execPath, [...gantry, 'train', family, '--data', 'mnist', '--device', 'webgpu', '--steps', String(3 * every), '--config', config, '--out', join(dir, 'run'), '--quiet']);
    const rows = trained?.ok ? readFileSync(join(dir, 'run', 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Json) : [];
    // The first logged rows hold the warm-up and the recordings.
    const rate = rows.length ? Number(rows[rows.length - 1].imagesPerSec) : NaN;
    say(`| ${family} | ${fmt(rate)} img/s | ${fmt(imgs(replayedSteps[family] ?? null))} img/s |`);
  }
}

// 4. DCGAN beside its peer, then dcgan32's bimodal steps: each step's wall and host time beside when the GPU ran it.
if (want(4)) {
  if (!quick) {
    say('\nDCGAN beside its peer (`bench/dcgan-vs-torch.ts --device webgpu --steps 30`):');
    say(script([join(root, 'bench', 'dcgan-vs-torch.ts'), '--device', 'webgpu', '--steps', '30']));
    // Its hand-built generator's draws on the GPU's matrix units (beside the float32 rows above).
    say('\n| DCGAN generator, batch 256 | float32 | on matrix units (GANTRY_TENSOR_CORES=1) | matrix / float32, img/s |\n|---|---|---|---|');
    for (const workload of ['dcgan32', 'dcgan64']) {
      const draws = [...gantry, 'bench', '--workload', workload, '--generate', '--device', 'webgpu', '--steps', steps];
      const [plain, matrix] = [measure(process.execPath, draws), matrixTileWorks() ? measure(process.execPath, draws, DRAWS_ON_MATRIX) : null];
      say(`| ${workload} | ${fmt(imgs(plain))} img/s | ${fmt(imgs(matrix))} img/s | ${fmt(imgs(matrix) / imgs(plain))} |`);
    }
    // Its hand-built step on them (GANTRY_TENSOR_CORES=train), beside float32's: the peer's times are above.
    say('\n| DCGAN step, batch 64 | float32 | on matrix units (GANTRY_TENSOR_CORES=train) | matrix / float32 |\n|---|---|---|---|');
    for (const workload of ['dcgan32', 'dcgan64']) {
      const step = [...gantry, 'bench', '--workload', workload, '--device', 'webgpu', '--steps', steps];
      const onMatrix = trainOnMatrix();
      const [plain, matrix] = [measure(process.execPath, step), onMatrix ? measure(process.execPath, step, onMatrix) : null];
      say(`| ${workload} | ${msCell(plain)} | ${msCell(matrix)} | ${fmt(ms(matrix) / ms(plain))} |`);
    }
  }
  say('\ndcgan32\'s steps on the host and on the GPU (`bench/profile-gpu-step.ts dcgan32 --timeline`):');
  say(script([join(root, 'bench', 'profile-gpu-step.ts'), 'dcgan32', '--steps', quick ? '3' : '40', '--timeline', ...(quick ? ['--batch', '8'] : [])]).split('GPU time of one step')[0]);
}

// 5. pix2pixHD at its sizes.
if (want(5)) {
  const onMatrix = trainOnMatrix();
  say('\n| pix2pixHD step (VGG on) | gantry replayed | no Winograd (`GANTRY_WINOGRAD=0`) | gantry eager | stock tfjs eager | PyTorch CUDA | replayed / PyTorch | on matrix units (GANTRY_TENSOR_CORES=train) | that / PyTorch |');
  say('|---|---|---|---|---|---|---|---|---|');
  for (const [name, args] of quick ? PIX2PIXHD_SIZES.slice(0, 1) : PIX2PIXHD_SIZES) {
    const bench = pix2pixhdBench(args);
    const replayed = measure(process.execPath, [...gantry, ...bench]);
    const peer = pix2pixhdPeer(args);
    const torch = peer ? measure(...peer) : null;
    // The eager comparisons at the small size only: at the real sizes they are minutes of a slow path.
    const small = name.startsWith('64');
    const eager = small ? measure(process.execPath, [...gantry, ...bench], { GANTRY_WEBGPU_EAGER: '1' }) : null;
    const stock = small ? measure(process.execPath, [...gantry, ...bench], { GANTRY_WEBGPU_EAGER: '1', GANTRY_WEBGPU_TFJS_KERNELS: '1' }) : null;
    // At the official sizes, what the 3x3 stride-1 convolutions (residual blocks, VGG) by Winograd gain.
    const direct = small ? null : measure(process.execPath, [...gantry, ...bench], { GANTRY_WINOGRAD: '0' });
    const matrix = onMatrix ? measure(process.execPath, [...gantry, ...bench], onMatrix) : null;
    say(`| ${name}, ${replayed?.dispatches ?? '—'} dispatches | ${msCell(replayed)} | ${msCell(direct)} | ${msCell(eager)} | ${msCell(stock)} | ${msCell(torch)} | ${fmt(ms(replayed) / ms(torch))} | ${msCell(matrix)} | ${fmt(ms(matrix) / ms(torch))} |`);
  }
}

// 6. DF-GAN at the paper's CUB size and batch (256x256, 32), replayed beside its peer.
if (want(6) && !quick) {
  const model = { imageSize: 256 };
  const replayed = measure(process.execPath, [...gantry, 'bench', '--family', 'dfgan', '--model', JSON.stringify(model), '--batch', '32', '--device', 'webgpu', '--steps', steps]);
  const torch = measure('python3', [familyPeers.dfgan[0], '--size', '256', '--channels', '3', '--device', 'cuda', '--batch', '32', '--steps', steps]);
  say(`\n| DF-GAN step, 256x256 (the paper's CUB size), batch 32 | gantry replayed | PyTorch CUDA | replayed / PyTorch |\n|---|---|---|---|\n| dfgan | ${msCell(replayed)} | ${msCell(torch)} | ${fmt(ms(replayed) / ms(torch))} |`);
}

// 7. FID's feature network: Inception-v3 at 299x299, batch 50 as gantry eval reads, replayed and eager, beside PyTorch CUDA;
// then precision and recall's, VGG-16 at 224x224, and PPL's LPIPS.
if (want(7) && !quick) {
  say('\nInception-v3 forward, FID\'s features (`bench/inception-vs-torch.ts --device webgpu --batch 50 --profile`):');
  say(script([join(root, 'bench', 'inception-vs-torch.ts'), '--device', 'webgpu', '--batch', '50', '--batches', '10', '--profile'], EXACT_TIMES));
  say('\nVGG-16 forward, precision and recall\'s features (`bench/inception-vs-torch.ts --net vgg16 --device webgpu --batch 50`):');
  say(script([join(root, 'bench', 'inception-vs-torch.ts'), '--net', 'vgg16', '--device', 'webgpu', '--batch', '50', '--batches', '10'], EXACT_TIMES));
  say('\nLPIPS on VGG-16, PPL\'s distance, 64 pairs at 64x64 (`bench/inception-vs-torch.ts --net lpips --device webgpu --batch 64`):');
  say(script([join(root, 'bench', 'inception-vs-torch.ts'), '--net', 'lpips', '--device', 'webgpu', '--batch', '64', '--batches', '10'], EXACT_TIMES));
}

// 8. The convolutions layer by layer (bench/convs.ts beside bench/convs_torch.py), for where gantry's GEMMs
// fall behind cuDNN: DCGAN's at 64x64, Inception's at FID's batch 50 (forward; with tfjs's kernels beside,
// which had its 1x7, 7x1, 1x3 and 3x1 layers before gantry's took other than square filters), the official
// pix2pixHD global generator's at 512x1024 (3x3 stride-1 products by Winograd where gantry chooses it, and as
// the implicit GEMM beside). PyTorch with TF32 off (float32, as WGSL computes) and on. Before
// them, whether the dispatches of one pass overlap; after, each GEMM under every tile and K-split.
if (want(8)) {
  // First (it is quick): whether dispatches of one pass overlap on the GPU, or a strided input gradient's four
  // residue classes would gain from one merged dispatch (bench/dispatch-overlap.ts): one class of a DCGAN
  // generator layer at batch 64 (the default), and one of the input gradient of dcgan64's second D layer.
  for (const shape of quick ? [['--m', '256', '--n', '64', '--k', '128']] : [[], ['--m', '16384', '--n', '64', '--k', '512']]) {
    say(`\nDispatches in one pass (\`bench/dispatch-overlap.ts ${shape.join(' ')}\`):`);
    say(script([join(root, 'bench', 'dispatch-overlap.ts'), ...shape], EXACT_TIMES).trim());
  }
  const layerSets: [string, boolean][] = quick ? [['dcgan64', true]] : [['dcgan64', false], ['inception', true], ['pix2pixhd-global', false]];
  for (const [set, forwardOnly] of layerSets) layerTable(set, forwardOnly);
  // Whether other tiles or K-splits would do: each GEMM's GPU time as gemmPlan chooses it beside the fastest choice.
  for (const set of quick ? [] : ['dcgan64', 'pix2pixhd-global']) {
    say(`\nGEMM tiles and K-splits, ${set} (\`bench/gemm-tiles.ts --set ${set}\`; tile/split, GPU time of one product):`);
    // GANTRY_TENSOR_CORES=1 (where its tests passed): the forward and input gradients on the matrix tile too.
    const swept = run(process.execPath, ['--import', 'tsx', join(root, 'bench', 'gemm-tiles.ts'), '--set', set], { ...EXACT_TIMES, ...(matrixTileWorks() ? DRAWS_ON_MATRIX : {}) }, 240);
    say(swept === null ? '(not run: the budget was spent)' : swept.stdout.trim().split('\n').filter((l) => l.startsWith('[')).map((l) => `- ${l}`).join('\n'));
  }
}

// 9. Then the comparisons: what replaying gains over each family's eager step.
if (want(9)) {
  say(`\n| family step, 64x64, batch ${batch} | gantry replayed | gantry eager | eager / replayed |`);
  say('|---|---|---|---|');
  for (const [family, model] of measured) {
    const eager = measure(process.execPath, [...gantry, ...familyBench(family, model), '--eager']);
    say(`| ${family} | ${msCell(replayedSteps[family])} | ${msCell(eager)} | ${fmt(ms(eager) / ms(replayedSteps[family]))} |`);
  }
  // DCGAN's hand-built step against the generic recording of its tfjs step: the issue keeps the hand-built
  // one only where it is measurably faster.
  const generic = measure(process.execPath, [...gantry, ...familyBench('dcgan', { imageSize: 64 })], { GANTRY_DCGAN_HAND_BUILT: '0' });
  say(`| dcgan, generic recording (GANTRY_DCGAN_HAND_BUILT=0) | ${msCell(generic)} | | hand-built / generic: ${fmt(ms(replayedSteps.dcgan ?? null) / ms(generic))} |`);
  // DCGAN's options run on the generic recording (the hand-built step is plain DCGAN's): what each costs there.
  // Lazy R1's steps are of two kinds, so its mean is the figure to read.
  say(`\n| dcgan 64x64 step, batch ${batch}, recorded, with | median | mean | mean / the generic recording's median |`);
  say('|---|---|---|---|');
  const options: Json[] = [{ r1: 10 }, { r1: 1, r1Every: 16 }, { loss: 'hinge' }, { loss: 'wgan-gp' }, { spectralNorm: true }, { augment: ['translation', 'cutout'] }];
  for (const extra of quick ? options.slice(3, 4) : options) {
    const r = measure(process.execPath, [...gantry, ...familyBench('dcgan', { imageSize: 64, ...extra })]);
    say(`| ${JSON.stringify(extra)} | ${msCell(r)} | ${r ? `${fmt(Number(r.mean_ms))} ms` : '—'} | ${fmt(Number(r?.mean_ms) / ms(generic))} |`);
  }

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

  // Projection (`gantry project`): one Adam step on 4 digits' 8 starts each, recorded and replayed (and eager,
  // tfjs's ops one by one) beside PyTorch CUDA's (bench/generator_torch.py --project).
  say('\n| projection step, dcgan 32x32, 4 images x 8 starts | gantry replayed | gantry eager | PyTorch CUDA | replayed / PyTorch | a 300-step projection of the 4, replayed |');
  say('|---|---|---|---|---|---|');
  const projectBench = [...gantry, 'bench', '--family', 'dcgan', '--project', '--device', 'webgpu', '--steps', quick ? '2' : '20'];
  const projection = measure(process.execPath, projectBench);
  const eagerProjection = measure(process.execPath, projectBench, { GANTRY_WEBGPU_EAGER: '1' });
  const torchProjection = measure('python3', [join(root, 'bench', 'generator_torch.py'), '--size', '32', '--project', '4', '--device', 'cuda', '--steps', steps]);
  say(`| dcgan | ${msCell(projection)} | ${msCell(eagerProjection)} | ${msCell(torchProjection)} | ${fmt(ms(projection) / ms(torchProjection))} | ${projection ? `${fmt(Number(projection.projection_ms) / 1000)} s` : '—'} |`);
}

// 10. Dawn's robustness: every storage load and store clamped to its buffer, in every kernel. gantry's
// kernels index only within their bindings (tests check the results against float64 loops and tfjs's), so
// the toggle would be safe for them; what it would gain decides whether to offer it. (Dawn takes an unknown
// toggle without a word: a ratio of 1.00 alone does not say the toggle applied.)
if (want(10)) {
  say('\n| step, with Dawn\'s robustness and without (`GANTRY_DAWN_FLAGS=enable-dawn-features=disable_robustness`) | robust | unclamped | unclamped / robust |');
  say('|---|---|---|---|');
  const workloads: [string, string[]][] = [
    quick ? ['dcgan32, batch 64', ['bench', '--workload', 'dcgan32', '--device', 'webgpu', '--steps', '2']] : ['dcgan64, batch 64', ['bench', '--workload', 'dcgan64', '--device', 'webgpu', '--steps', '30']],
    ['pix2pixHD official global 256x512', pix2pixhdBench(PIX2PIXHD_SIZES[1][1])],
    ['cgan 64x64, batch 64', [...familyBench('cgan', { imageSize: 64 })]],
  ];
  for (const [name, args] of quick ? workloads.slice(0, 1) : workloads) {
    const robust = measure(process.execPath, [...gantry, ...args]);
    const unclamped = measure(process.execPath, [...gantry, ...args], { GANTRY_DAWN_FLAGS: 'enable-dawn-features=disable_robustness' });
    say(`| ${name} | ${msCell(robust)} | ${msCell(unclamped)} | ${fmt(ms(unclamped) / ms(robust))} |`);
  }
}

say(`\nSeconds each command took${skipped ? ` (${skipped} not run: the --budget of ${values.budget} s was spent)` : ''}:`);
for (const [name, seconds] of durations) say(`- ${seconds.toFixed(1)} s: ${name}`);
