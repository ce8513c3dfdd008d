import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PNG } from 'pngjs';
import { GANTRY_BIN, gantryCli, tempDir } from '../helpers.ts';
import { readSafetensors } from '../../src/io/safetensors-file.ts';
import { readImageFile } from '../../src/io/image.ts';
import { latentForSeed } from '../../src/explore/latent.ts';
import { validateRunConfig } from '../../src/train/run-config.ts';


const gantry = (...args: string[]) => gantryCli(args);
const gantryWithEnv = (env: Record<string, string>, ...args: string[]) => gantryCli(args, { env });

function pngSize(path: string): [number, number] {
  const png = PNG.sync.read(readFileSync(path));
  return [png.width, png.height];
}

test('train 30 steps, then sample a 4x4 grid, interpolate and do latent arithmetic', () => {
  const dir = tempDir();
  const run = join(dir, 'R');
  const t = gantry('train', 'dcgan', '--steps', '30', '--batch', '16', '--out', run, '--seed', '1');
  assert.equal(t.code, 0, t.stderr);
  assert.match(t.stdout, /step 30 lossD=/);
  assert.ok(t.stderr.includes(`${run}: sample grids go to ${join(run, 'samples')}; to watch it train in a browser, in another terminal: npx gantry studio --run ${run}\n`), 'where to look while it trains');
  for (const f of ['config.json', 'checkpoint.safetensors', 'metrics.jsonl', 'plots/losses.svg', 'samples/step-000000.png']) assert.ok(existsSync(join(run, f)), f);
  // What a sample killed while writing g.png left (its process gone, PID past Linux's largest), is removed;
  // a live process's, and other files, are not.
  const left = ['g.png.tmp-4194999', `g.png.tmp-${process.pid}`, 'h.png.tmp-4194999'];
  for (const name of left) writeFileSync(join(dir, name), 'half a PNG');
  const s = gantry('sample', '--run', run, '--n', '16', '--out', join(dir, 'g.png'));
  assert.equal(s.code, 0, s.stderr);
  assert.deepEqual(left.map((name) => existsSync(join(dir, name))), [false, true, true]);
  const imgs = join(dir, 'imgs');
  mkdirSync(imgs);
  for (const name of ['seed-000007.png.tmp-4194999', 'notes.tmp-4194999']) writeFileSync(join(imgs, name), 'x');
  assert.equal(gantry('sample', '--run', run, '--n', '2', '--out', imgs).code, 0);
  assert.deepEqual(readdirSync(imgs).sort(), ['notes.tmp-4194999', 'seed-000000.png', 'seed-000001.png'], 'a killed sample\'s half-written PNG removed, nothing else');
  assert.deepEqual(pngSize(join(dir, 'g.png')), [4 * 34 + 2, 4 * 34 + 2]); // 4x4 tiles of 32 px, 2 px gaps
  const i = gantry('interpolate', '--run', run, '--seeds', '3,7,9', '--frames', '5', '--out', join(dir, 'i.png'));
  assert.equal(i.code, 0, i.stderr);
  assert.deepEqual(pngSize(join(dir, 'i.png')), [5 * 34 + 2, 2 * 34 + 2]);
  const a = gantry('arith', '--run', run, '--expr', 'seed:12 - seed:40 + mean(seed:1,seed:2)', '--out', join(dir, 'a.png'));
  assert.equal(a.code, 0, a.stderr);
  assert.deepEqual(pngSize(join(dir, 'a.png')), [4 * 34 + 2, 34 + 2]);
  // The truncation trick changes the vectors (so the grid), the same way each time.
  for (const name of ['t1', 't2']) assert.equal(gantry('sample', '--run', run, '--n', '4', '--truncation', '0.5', '--out', join(dir, `${name}.png`)).code, 0);
  assert.equal(gantry('sample', '--run', run, '--n', '4', '--out', join(dir, 'plain.png')).code, 0);
  assert.deepEqual(readFileSync(join(dir, 't1.png')), readFileSync(join(dir, 't2.png')));
  assert.notDeepEqual(readFileSync(join(dir, 't1.png')), readFileSync(join(dir, 'plain.png')));
  assert.match(gantry('sample', '--run', run, '--truncation', '0').stderr, /--truncation must be above 0/);
  // --latent draws a given vector: seed:5's as a JSON array is sample --seed 5's first image.
  const seed5 = JSON.stringify(Array.from(latentForSeed(5, 100)));
  assert.equal(gantry('sample', '--run', run, '--latent', seed5, '--out', join(dir, 'l.png')).code, 0);
  assert.equal(gantry('sample', '--run', run, '--seed', '5', '--n', '1', '--out', join(dir, 's5.png')).code, 0);
  assert.deepEqual(readImageFile(join(dir, 'l.png')).data, readImageFile(join(dir, 's5.png')).data);
  writeFileSync(join(dir, 'z.json'), seed5);
  assert.equal(gantry('sample', '--run', run, '--latent', join(dir, 'z.json'), '--out', join(dir, 'l2.png')).code, 0);
  assert.deepEqual(readImageFile(join(dir, 'l2.png')).data, readImageFile(join(dir, 's5.png')).data);
  assert.match(gantry('sample', '--run', run, '--latent', '[1, 2]').stderr, /--latent has 2 numbers; this run's latent vectors have 100/);
  assert.match(gantry('sample', '--run', run, '--latent', '[1, "x"]').stderr, /--latent must be an array of finite numbers/);
  assert.match(gantry('sample', '--run', run, '--latent', join(dir, 'none.json')).stderr, /--latent .*none\.json: neither a JSON array of numbers nor a file/);
  // The seeded grid's flags do not apply to one given vector, nor --seed to a path of --seeds: refused, not ignored.
  assert.match(gantry('sample', '--run', run, '--latent', seed5, '--n', '4', '--truncation', '0.5').stderr, /^gantry sample: --n, --truncation do not go with --latent; see `gantry sample --help`\n$/);
  assert.match(gantry('interpolate', '--run', run, '--seeds', '1,2', '--seed', '4').stderr, /^gantry interpolate: --seed does not go with --seeds \(they name every vector of the path\); /);
});

test('--version names the version, Node and the CPU kernels in use, or why the addon is not', () => {
  const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  const native = gantry('--version');
  assert.equal(native.code, 0, native.stderr);
  const [first, second] = native.stdout.trim().split('\n');
  assert.equal(first, `gantry ${version}`);
  assert.match(second, new RegExp(`^node ${process.version}, ${process.platform} ${process.arch}; CPU kernels: native \\((avx512|avx2-fma|neon|portable), \\d+ threads?\\)$`));
  const js = gantryWithEnv({ GANTRY_NATIVE: '0' }, '-v');
  assert.match(js.stdout, /CPU kernels: tfjs's pure-JS ones, slow \(the native addon: disabled by GANTRY_NATIVE=0\)/);
});

test('bench prints one JSON line with the step times and the peak resident memory', () => {
  const b = gantry('bench', '--workload', 'dcgan32', '--batch', '4', '--steps', '2', '--warmup', '0');
  assert.equal(b.code, 0, b.stderr);
  const r = JSON.parse(b.stdout) as { median_ms: number; peak_rss_mb: number; native: boolean };
  assert.ok(r.median_ms > 0, b.stdout);
  // A Node process with tfjs holds ~100 MB before any step; a batch of 4 at 32x32 adds little.
  assert.ok(Number.isInteger(r.peak_rss_mb) && r.peak_rss_mb > 50 && r.peak_rss_mb < 2048, b.stdout);
});

test('train FAMILY --help shows that family\'s config at its defaults, as a --config file that trains as the defaults do', () => {
  const h = gantry('train', 'dfgan', '--help');
  assert.equal(h.code, 0, h.stderr);
  const shown = h.stdout.slice(h.stdout.indexOf('dfgan\'s config'));
  const config = JSON.parse(shown.slice(shown.indexOf('{'), shown.lastIndexOf('}') + 1));
  assert.deepEqual(Object.keys(config), ['model', 'train']);
  assert.deepEqual([config.model.lrD, config.model.maGpPower, config.train.batch], [0.0004, 6, 64]);
  // The same file given to a run changes nothing: every value is the default.
  assert.deepEqual(validateRunConfig({ family: 'dfgan', ...config }, 'help'), validateRunConfig({ family: 'dfgan' }, 'defaults'));
  assert.doesNotMatch(gantry('train', '--help').stdout, /config, every field/);
  // Fields with no default are named after it, section by section.
  assert.match(shown, /\}\nand, absent unless given: model\.noiseInFusion, train\.decayFrom, train\.flip, train\.loadSize, train\.ema\n$/);
  assert.match(gantry('train', 'dcgan', '--help').stdout, /absent unless given: model\.lrD, model\.gp, model\.dNorm, train\./);
});

test('user mistakes get one line naming the fix, no stack trace', () => {
  const dir = tempDir();
  const cases: [string[], RegExp][] = [
    [['train', 'dcgan', '--stepz', '3'], /^gantry train: unknown flag --stepz \(did you mean --steps\?\); see `gantry train --help`$/m],
    [['train', 'nope', '--out', join(dir, 'x')], /unknown model family "nope"/],
    [['train', 'dcgan', '--data', 'cifar10:/no/such', '--out', join(dir, 'y')], /data cifar10:\/no\/such: \/no\/such does not exist; check the path/],
    [['train', 'dcgan', '--batch', '0', '--out', join(dir, 'z')], /--batch must be a whole number >= 1/],
    [['sample', '--run', join(dir, 'missing')], /missing is not a gantry run folder \(no such folder\); give the folder a training run wrote into \(gantry train's --out\)/],
    [['arith', '--run', dir, '--expr', 'seed:1 +'], /cannot read "\+"|not a gantry run folder/],
    [['bench', '--workload', 'dcgan128'], /--workload must be one of dcgan32, dcgan64/],
    [['bench', '--family', 'vae', '--profile'], /--profile times replayed steps on the GPU: give it with --family NAME --device webgpu/],
    [['bench', '--family', 'vae', '--timeline', '--device', 'webgpu', '--eager'], /--timeline times replayed steps on the GPU: give it with --family NAME --device webgpu \(and without --eager\)/],
    // A flag of another mode would be ignored, and the numbers read as if it were not.
    [['bench', '--family', 'vae', '--workload', 'dcgan64'], /^gantry bench: give --family NAME or --workload dcgan64, not both\n$/],
    [['bench', '--workload', 'sgemm1024', '--device', 'webgpu'], /^gantry bench: --device does not go with --workload sgemm1024; see `gantry bench --help`\n$/],
    [['bench', '--height', '32', '--model', '{}'], /^gantry bench: --model, --height do not go with --workload dcgan32; /],
    [['bench', '--workload', 'pix2pixhd', '--generate'], /^gantry bench: --generate does not go with --workload pix2pixhd; /],
    [['bench', '--family', 'dcgan', '--no-vgg'], /^gantry bench: --no-vgg does not go with --family \(a train step\); /],
    [['bench', '--family', 'vae', '--generate', '--eager'], /^gantry bench: --eager does not go with --family --generate; /],
    [['bench', '--family', 'vae', '--generate', '--timeline'], /^gantry bench: --timeline does not go with --family --generate; /],
    [['bench', '--family', 'dcgan', '--project', '--generate'], /^gantry bench: give --project or --generate, not both\n$/],
    [['bench', '--family', 'dcgan', '--project', '--batch', '4'], /^gantry bench: --batch does not go with --family --project; /],
    [['bench', '--starts', '4'], /^gantry bench: --starts does not go with --workload dcgan32; /],
    [['train', 'dcgan', '--seed', '-1', '--out', join(dir, 'u')], /^gantry train: --seed must be a whole number >= 0, got "-1"\n$/],
    [['train', 'dcgan', '--ema', 'slow', '--out', join(dir, 'w')], /^gantry train: --ema must be a number, got "slow"\n$/],
    [['train', 'dcgan', '--ema', '1', '--out', join(dir, 'w')], /^gantry train: config: train\.ema: .*<1\n$/],
  ];
  const configFile = join(dir, 'bad.json');
  writeFileSync(configFile, JSON.stringify({ model: { ngf: -2 } }));
  cases.push([['train', 'dcgan', '--config', configFile, '--out', join(dir, 'v')], /config .*bad\.json: model\.ngf: /]);
  const sizeFile = join(dir, 'size.json');
  writeFileSync(sizeFile, JSON.stringify({ model: { imageSize: 33 } }));
  cases.push([['train', 'dcgan', '--config', sizeFile, '--out', join(dir, 't')], /model\.imageSize: expected 32, 64 or 128$/m]);
  for (const [args, pattern] of cases) {
    const r = gantry(...args);
    assert.equal(r.code, 1, `${args.join(' ')}: exit ${r.code} ${r.stderr}`);
    assert.match(r.stderr, pattern, args.join(' '));
    assert.doesNotMatch(r.stderr, /\n\s+at /, `stack trace for ${args.join(' ')}`);
    assert.equal(r.stderr.trim().split('\n').length, 1, `one line for ${args.join(' ')}: ${r.stderr}`);
  }
  // A misspelt command is named with the one meant, then the usage.
  const typo = gantry('trian', 'dcgan');
  assert.equal(typo.code, 2);
  assert.match(typo.stderr, /^gantry: unknown command "trian" \(did you mean "train"\?\)\n\ngantry — /);
  // Without a GPU (an ICD path that does not exist hides any Vulkan driver, even Mesa's software one):
  // Dawn itself may print a Vulkan warning (native code, before gantry's line), then gantry's one line.
  const w = gantryWithEnv({ VK_DRIVER_FILES: join(dir, 'no-such-icd.json') }, 'train', 'dcgan', '--device', 'webgpu', '--out', join(dir, 'w'));
  assert.equal(w.code, 1, w.stderr);
  assert.match(w.stderr.trim().split('\n').pop()!, /^gantry train: --device webgpu: no WebGPU adapter found.*Use --device cpu$/);
  for (const name of ['x', 'y', 'z', 'v', 'w']) assert.equal(existsSync(join(dir, name)), false, `half-written run folder ${name}`);
});

test('SIGKILL at a random moment, then --resume finishes the run', async () => {
  const dir = tempDir();
  const run = join(dir, 'R');
  const config = join(dir, 'c.json');
  writeFileSync(config, JSON.stringify({ model: { ngf: 16, ndf: 16 }, train: { logEvery: 1, checkpointEvery: 4, sampleEvery: 8, samples: 16 } }));
  const child = spawn(process.execPath, [GANTRY_BIN, 'train', 'dcgan', '--config', config, '--steps', '400', '--batch', '16', '--out', run, '--quiet'], { stdio: 'ignore' });
  // Wait until training is under way (first checkpoints written), then kill at a random moment.
  const started = Date.now();
  while (!existsSync(join(run, 'metrics.jsonl')) || readFileSync(join(run, 'metrics.jsonl'), 'utf8').split('\n').length < 6) {
    if (Date.now() - started > 120_000) throw new Error('training did not start');
    await new Promise((r) => setTimeout(r, 50));
  }
  await new Promise((r) => setTimeout(r, 200 + Math.random() * 1500));
  child.kill('SIGKILL');
  await new Promise((r) => child.on('exit', r));
  const killedAt = JSON.parse(readSafetensors(join(run, 'checkpoint.safetensors')).metadata.gantry).step;
  assert.ok(killedAt < 400, `killed too late (step ${killedAt})`);
  const r = gantry('train', '--resume', '--out', run, '--quiet');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /step 400/);
  const steps = readFileSync(join(run, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).step);
  assert.deepEqual(steps, Array.from({ length: 400 }, (_, i) => i + 1), 'metrics hold each step once, in order');
});

test('Ctrl-C (SIGINT) checkpoints the current step and stops cleanly', async () => {
  const dir = tempDir();
  const run = join(dir, 'R');
  const child = spawn(process.execPath, [GANTRY_BIN, 'train', 'dcgan', '--steps', '100000', '--batch', '8', '--out', run, '--quiet'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const started = Date.now();
  while (!existsSync(join(run, 'checkpoint.safetensors'))) {
    if (Date.now() - started > 120_000) throw new Error('training did not start');
    await new Promise((r) => setTimeout(r, 50));
  }
  await new Promise((r) => setTimeout(r, 1500));
  child.kill('SIGINT');
  const code = await new Promise((r) => child.on('exit', r));
  assert.equal(code, 130, `a run stopped by Ctrl-C exits 130 (scripts can tell it did not finish): ${stderr}`);
  const step = JSON.parse(readSafetensors(join(run, 'checkpoint.safetensors')).metadata.gantry).step;
  assert.ok(step > 0, 'a checkpoint of the step reached was written');
});

test('Ctrl-C during a long score says the run stops after it; a second Ctrl-C ends the process at once, the checkpoint kept', async () => {
  const dir = tempDir();
  const run = join(dir, 'R');
  const config = join(dir, 'c.json');
  // FID of 4,000 images every 2 steps (pytorch-fid's network at 1/8 width): tens of seconds on 2 cores.
  const weights = join(dirname(fileURLToPath(import.meta.url)), '..', 'golden', 'inception_w8.pth');
  writeFileSync(config, JSON.stringify({ model: { ngf: 8, ndf: 8 }, train: { samples: 4 }, eval: { fid: { n: 4000, weights }, every: 2 } }));
  const child = spawn(process.execPath, [GANTRY_BIN, 'train', 'dcgan', '--config', config, '--steps', '10', '--batch', '8', '--out', run],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, GANTRY_CACHE: join(dir, 'cache') } });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.on('exit', (code, signal) => resolve([code, signal])));
  const until = async (what: RegExp) => {
    const started = Date.now();
    while (!what.test(stderr)) {
      if (Date.now() - started > 120_000) throw new Error(`no ${what} in: ${stderr}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  // The scoring's progress line: it has worked 2 s on the first score (step 2).
  await until(/features \(/);
  child.kill('SIGINT');
  await until(/Ctrl-C: stopping after the work under way, with a checkpoint \(again to stop at once, keeping the last one\)/);
  const second = Date.now();
  child.kill('SIGINT');
  const [code, signal] = await exited;
  assert.ok(Date.now() - second < 5000, 'ended at once');
  assert.deepEqual([code, signal], [null, 'SIGINT'], stderr);
  assert.ok(!/step 2: fid/.test(stderr), 'the score under way was not finished');
  assert.equal(JSON.parse(readSafetensors(join(run, 'checkpoint.safetensors')).metadata.gantry).step, 2, 'the checkpoint of the step being scored');
});

test('without the native addon gantry still trains on tfjs kernels and says so once', () => {
  const dir = tempDir();
  const config = join(dir, 'c.json');
  writeFileSync(config, JSON.stringify({ model: { ngf: 4, ndf: 4, nz: 8 }, train: { samples: 4 } }));
  const r = gantryWithEnv({ GANTRY_NATIVE: '0' }, 'train', 'dcgan', '--config', config, '--steps', '2', '--batch', '4', '--out', join(dir, 'R'), '--quiet');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr.match(/fast CPU kernels unavailable \(disabled by GANTRY_NATIVE=0\)/g)?.length, 1, r.stderr);
  assert.match(r.stdout, /step 2 lossD=/);
});

test('vae on shapes from the CLI: train, sample, reconstruct, resume', () => {
  const dir = tempDir();
  const run = join(dir, 'V');
  const config = join(dir, 'v.json');
  writeFileSync(config, JSON.stringify({ model: { width: 8, latent: 8 }, train: { samples: 16, checkpointEvery: 10 } }));
  const t = gantry('train', 'vae', '--data', 'shapes:200', '--config', config, '--steps', '10', '--batch', '16', '--out', run, '--quiet');
  assert.equal(t.code, 0, t.stderr);
  assert.match(t.stdout, /step 10 lossTotal=.* lossRecon=.* lossKL=/);
  const more = gantry('train', '--resume', '--out', run, '--steps', '20', '--quiet');
  assert.equal(more.code, 0, more.stderr);
  assert.match(more.stdout, /step 20/);
  assert.equal(gantry('sample', '--run', run, '--n', '4', '--out', join(dir, 's.png')).code, 0);
  const r = gantry('reconstruct', '--run', run, '--n', '8', '--out', join(dir, 'r.png'));
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(pngSize(join(dir, 'r.png')), [8 * 34 + 2, 2 * 34 + 2]);
  // Images of the user's, encoded and drawn again: one row each, the image beside its drawing.
  const st = gantry('sample', '--run', run, '--style-from', `${join(dir, 's.png')},${join(dir, 'r.png')}`, '--out', join(dir, 'st.png'));
  assert.equal(st.code, 0, st.stderr);
  assert.deepEqual(pngSize(join(dir, 'st.png')), [2 * 34 + 2, 2 * 34 + 2]);
  assert.match(gantry('sample', '--run', run, '--style-from', join(dir, 's.png'), '--n', '8', '--seed', '2').stderr, /^gantry sample: --n, --seed do not go with --style-from; /);
  const d = gantry('reconstruct', '--run', join(dir, 'nope'));
  assert.match(d.stderr, /not a gantry run folder/);
});

test('a run records its data as an absolute path: it resumes and reconstructs from any folder', () => {
  const dir = tempDir();
  const project = join(dir, 'project');
  mkdirSync(join(project, 'data'), { recursive: true });
  cpSync(join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'mnist-idx'), join(project, 'data', 'digits'), { recursive: true });
  writeFileSync(join(project, 'v.json'), JSON.stringify({ model: { width: 8, latent: 8 } }));
  const inProject = (...args: string[]) => gantryCli(args, { cwd: project });
  const t = inProject('train', 'vae', '--data', 'mnist-idx:data/digits', '--config', 'v.json', '--steps', '2', '--batch', '8', '--out', 'runs/v', '--quiet');
  assert.equal(t.code, 0, t.stderr);
  const run = join(project, 'runs', 'v');
  assert.equal(JSON.parse(readFileSync(join(run, 'config.json'), 'utf8')).data, `mnist-idx:${join(project, 'data', 'digits')}`);
  // From the folder above: the run's data is where it was.
  const elsewhere = (...args: string[]) => gantryCli(args, { cwd: dir });
  const r = elsewhere('reconstruct', '--run', 'project/runs/v', '--n', '4', '--out', 'r.png');
  assert.equal(r.code, 0, r.stderr);
  const more = elsewhere('train', '--resume', '--out', 'project/runs/v', '--steps', '4', '--quiet');
  assert.equal(more.code, 0, more.stderr);
  // The same data named again as it was given is no change; other data is refused, named as the run has it.
  assert.equal(inProject('train', '--resume', '--out', 'runs/v', '--data', 'mnist-idx:data/digits', '--steps', '5', '--quiet').code, 0);
  assert.match(elsewhere('train', '--resume', '--out', 'project/runs/v', '--data', 'mnist-idx:data/digits', '--steps', '6').stderr, /^gantry train: data is "mnist-idx:.*project\/data\/digits" in the run and "mnist-idx:.*\/data\/digits" in the flags; a resumed run keeps its family, seed, data/);
  // Data moved away: a command that reads it says it is the run's, and where to say where it went.
  renameSync(join(project, 'data'), join(project, 'moved'));
  assert.equal(elsewhere('reconstruct', '--run', 'project/runs/v', '--out', 'r.png').stderr, `gantry reconstruct: project/runs/v trained on mnist-idx:${join(project, 'data', 'digits')}, and ${join(project, 'data', 'digits')} is not there now: put the data back, or write where it is now into "data" in project/runs/v/config.json\n`);
  assert.match(elsewhere('train', '--resume', '--out', 'project/runs/v', '--steps', '8').stderr, /^gantry train: project\/runs\/v trained on mnist-idx:.*, and .* is not there now: put the data back/);
});

test('unet-vae-gan from the CLI: sampling re-encodes the run\'s reference images', () => {
  const dir = tempDir();
  const run = join(dir, 'U');
  const config = join(dir, 'u.json');
  writeFileSync(config, JSON.stringify({ model: { width: 8, ndf: 8, latent: 8 }, train: { samples: 8 } }));
  const t = gantry('train', 'unet-vae-gan', '--data', 'shapes:100', '--config', config, '--steps', '4', '--batch', '8', '--out', run, '--quiet');
  assert.equal(t.code, 0, t.stderr);
  const s = gantry('sample', '--run', run, '--n', '9', '--out', join(dir, 's.png'));
  assert.equal(s.code, 0, s.stderr);
  assert.deepEqual(pngSize(join(dir, 's.png')), [3 * 34 + 2, 3 * 34 + 2]);
});

test('cgan and acgan on shapes from the CLI: train, resume, sample --class by index and name, class interpolation', () => {
  const dir = tempDir();
  const config = join(dir, 'c.json');
  writeFileSync(config, JSON.stringify({ model: { ngf: 8, ndf: 8, nz: 16, embedDim: 8 }, train: { samples: 10, checkpointEvery: 3 } }));
  for (const family of ['cgan', 'acgan']) {
    const run = join(dir, family);
    const t = gantry('train', family, '--data', 'shapes:120', '--config', config, '--steps', '3', '--batch', '8', '--out', run, '--quiet');
    assert.equal(t.code, 0, t.stderr);
    assert.match(t.stdout, family === 'acgan' ? /step 3 lossD=.* lossG=.* classReal=/ : /step 3 lossD=.* lossG=/);
    const more = gantry('train', '--resume', '--out', run, '--steps', '5', '--quiet');
    assert.equal(more.code, 0, more.stderr);
    assert.match(more.stdout, /step 5/);
  }
  const run = join(dir, 'cgan');
  const configJson = JSON.parse(readFileSync(join(run, 'config.json'), 'utf8'));
  assert.equal(configJson.model.numClasses, 4);
  assert.deepEqual(configJson.model.classNames, ['circle', 'square', 'triangle', 'diamond']);
  // Without --class: one column per class.
  assert.equal(gantry('sample', '--run', run, '--n', '8', '--out', join(dir, 's.png')).code, 0);
  assert.deepEqual(pngSize(join(dir, 's.png')), [4 * 34 + 2, 2 * 34 + 2]);
  // The same seeds drawn as class "circle" and as class 0 give the same image; as "square", another.
  for (const [name, cls] of [['c0', '0'], ['circle', 'circle'], ['square', 'square']]) {
    const s = gantry('sample', '--run', run, '--n', '4', '--class', cls, '--out', join(dir, `${name}.png`));
    assert.equal(s.code, 0, s.stderr);
  }
  assert.deepEqual(readFileSync(join(dir, 'c0.png')), readFileSync(join(dir, 'circle.png')));
  assert.notDeepEqual(readFileSync(join(dir, 'c0.png')), readFileSync(join(dir, 'square.png')));
  const i = gantry('interpolate', '--run', run, '--classes', 'circle,square,2', '--frames', '5', '--seed', '3', '--out', join(dir, 'i.png'));
  assert.equal(i.code, 0, i.stderr);
  assert.deepEqual(pngSize(join(dir, 'i.png')), [5 * 34 + 2, 2 * 34 + 2]);
  const a = gantry('arith', '--run', run, '--expr', 'seed:1 - seed:2 + seed:3', '--class', 'triangle', '--out', join(dir, 'a.png'));
  assert.equal(a.code, 0, a.stderr);
  // FID of a conditional run draws a balanced set of classes (pytorch-fid's network at 1/8 width).
  const weights = join(dirname(fileURLToPath(import.meta.url)), '..', 'golden', 'inception_w8.pth');
  const fid = gantryWithEnv({ GANTRY_CACHE: join(dir, 'cache') }, 'eval', 'fid', '--real', 'shapes:120', '--fake', run, '--n', '12', '--weights', weights, '--quiet');
  assert.equal(fid.code, 0, fid.stderr);
  assert.ok(JSON.parse(fid.stdout.trim().split("\n").pop()!).value > 0, fid.stdout);
  const bad = gantry('sample', '--run', run, '--class', 'hexagon');
  assert.match(bad.stderr, /--class "hexagon": expected a class index 0\.\.3 or a name \(circle, square, triangle, diamond\)/);
  // A folder without class sub-folders has no labels: one line naming the fix, no run folder left.
  const cats = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'folder', 'cats');
  const unlabelled = gantry('train', 'cgan', '--data', `folder:${cats}`, '--steps', '1', '--batch', '2', '--out', join(dir, 'x'));
  assert.match(unlabelled.stderr, /cgan: the data has no class labels; use labelled data/);
  assert.ok(!existsSync(join(dir, 'x')));
});
