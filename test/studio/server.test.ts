import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setup, tempDir } from '../helpers.ts';
import { train } from '../../src/train/trainer.ts';
import { validateRunConfig } from '../../src/train/run-config.ts';
import { acquireRunLock } from '../../src/train/lock.ts';
import { appendMetrics, METRICS_FILE, truncateMetrics } from '../../src/train/metrics.ts';
import { writeFileAtomic } from '../../src/io/atomic.ts';
import { startStudio } from '../../src/studio/server.ts';
import { buildGenerator } from '../../src/web/generator.ts';
import { levelsOff, readPix2PixHDGolden, writePix2PixHDGoldenMaps } from '../golden/pix2pixhd-maps.ts';

await setup();

const trainSmall = async (family: string, data: string, model: Record<string, unknown>) => {
  const dir = join(tempDir(), family);
  await train({ outDir: dir, quiet: true, config: validateRunConfig({ family, seed: 1, data, model, train: { steps: 2, batch: 4, samples: 4, logEvery: 1, checkpointEvery: 2 } }, 'test') });
  return dir;
};

test('studio: the explorer page (live), the generator at the newest checkpoint, and a newer one once the run writes it', async () => {
  const dir = await trainSmall('cgan', 'shapes:40', { ngf: 4, ndf: 4, nz: 6, embedDim: 4 });
  const studio = await startStudio(dir, 0);
  try {
    const page = await fetch(studio.url);
    assert.equal(page.status, 200);
    const html = await page.text();
    assert.match(html, /<meta name="gantry-live"/, 'the page watches for new checkpoints');
    assert.match(html, /<script type="module" src="explorer\.js"><\/script>/);
    const script = await fetch(studio.url + 'explorer.js');
    assert.equal(script.headers.get('content-type'), 'text/javascript; charset=utf-8');
    assert.ok((await script.text()).length > 50_000, 'the bundled page script');
    const worker = await fetch(studio.url + 'draw-worker.js');
    assert.equal(worker.headers.get('content-type'), 'text/javascript; charset=utf-8');
    assert.ok((await worker.text()).length > 1_000_000, 'the bundled worker script: tfjs and the networks');
    const model = await (await fetch(studio.url + 'model.json')).json();
    assert.equal(model.family, 'cgan');
    assert.equal(model.step, 2);
    const weights = new Uint8Array(await (await fetch(studio.url + 'weights.safetensors')).arrayBuffer());
    const g = buildGenerator(model, weights);
    assert.deepEqual(g.classes, ['circle', 'square', 'triangle', 'diamond']);
    const before = (await g.generate({ seeds: [1, 2] })).pixels;
    g.dispose();
    // The run trains on: the studio hands out the newer checkpoint's generator.
    await train({ outDir: dir, resume: true, quiet: true, changes: { train: { steps: 4 } } });
    const newer = await (await fetch(studio.url + 'model.json')).json();
    assert.equal(newer.step, 4);
    const g4 = buildGenerator(newer, new Uint8Array(await (await fetch(studio.url + 'weights.safetensors')).arrayBuffer()));
    assert.notDeepEqual((await g4.generate({ seeds: [1, 2] })).pixels, before);
    g4.dispose();
    assert.equal((await fetch(studio.url + 'api/info')).status, 404);
    assert.equal((await fetch(studio.url, { method: 'POST', body: '{}' })).status, 405);
  } finally {
    await studio.close();
  }
});

test('studio: the training panel\'s data from the run folder: progress.json, plots drawn from metrics.jsonl as it grows, sample grids; rate and time left only while a process trains it', async () => {
  const dir = await trainSmall('dcgan', 'shapes:40', { ngf: 4, ndf: 4, nz: 6 });
  const studio = await startStudio(dir, 0);
  const progress = async () => (await fetch(studio.url + 'progress.json')).json();
  try {
    const done = await progress();
    assert.deepEqual({ ...done, losses: Object.keys(done.losses) }, {
      run: 'dcgan', family: 'dcgan', step: 2, steps: 2, losses: ['lossD', 'lossG'], imagesPerSec: null, etaSeconds: null, scores: {}, plots: ['losses'], rows: 2,
      samples: [{ step: 0, file: 'step-000000.png' }, { step: 2, file: 'step-000002.png' }], writer: null, resume: null, reading: null,
    });
    const svg = await fetch(studio.url + 'plots/losses.svg');
    assert.equal(svg.headers.get('content-type'), 'image/svg+xml');
    assert.equal(((await svg.text()).match(/<polyline/g) ?? []).length, 2);
    const grid = await fetch(studio.url + 'samples/step-000002.png');
    assert.equal(grid.headers.get('content-type'), 'image/png');
    assert.deepEqual([...new Uint8Array(await grid.arrayBuffer()).subarray(1, 4)], [0x50, 0x4e, 0x47]);
    for (const missing of ['plots/fid.svg', 'samples/step-000001.png', 'samples/config.json', 'samples/../config.json', 'plots/../config.json']) {
      assert.equal((await fetch(studio.url + missing)).status, 404, missing);
    }

    // A process trains it on (this one holds the lock): two rows of the run's first process, two of a
    // resumed one (whose seconds start again), a score, and a target moved to step 10.
    const release = acquireRunLock(dir, () => {});
    try {
      const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
      writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...config, train: { ...config.train, steps: 10 } }));
      truncateMetrics(dir, 0);
      appendMetrics(dir, { step: 1, lossD: 1, lossG: 2, imagesPerSec: 2, seconds: 5 });
      appendMetrics(dir, { step: 2, lossD: 0.9, lossG: 2.1, imagesPerSec: 4, seconds: 6 });
      appendMetrics(dir, { step: 3, lossD: 0.8, lossG: 2.2, imagesPerSec: 1, seconds: 0.5 });
      appendMetrics(dir, { step: 4, lossD: 0.7, lossG: 2.3, imagesPerSec: 8, seconds: 1 });
      appendMetrics(dir, { step: 4, fid: 12.5 });
      const training = await progress();
      assert.equal(training.writer.pid, process.pid);
      assert.equal(training.resume, null, 'it is training');
      assert.equal(training.step, 4);
      assert.equal(training.steps, 10);
      assert.deepEqual(training.losses, { lossD: 0.7, lossG: 2.3 });
      assert.deepEqual(training.scores, { fid: { step: 4, value: 12.5 } });
      assert.equal(training.imagesPerSec, 8, 'one step of 4 images in the resumed process\'s half second');
      assert.equal(training.etaSeconds, 3, '6 steps of 4 images at 8 a second');
      assert.deepEqual([training.plots, training.rows], [['losses', 'fid'], 5], 'the score\'s row, on the step of the last loss row, counts');
      assert.match(await (await fetch(studio.url + 'plots/fid.svg')).text(), />fid</);
    } finally {
      release();
    }
    const stopped = await progress();
    assert.deepEqual([stopped.writer, stopped.imagesPerSec, stopped.resume], [null, null, `continue with \`gantry train --resume --out ${dir}\``], 'the lock given back: stopped at step 4 of 10');

    // metrics.jsonl written anew at more than a slice (a long run's): read on in the background, and
    // until it is all read, no advice from the rows read so far.
    const row = (i: number) => JSON.stringify({ step: 1 + (i % 4), lossD: 1 / (1 + i), lossG: 2, imagesPerSec: 9, seconds: i }) + '\n';
    const rows = 120_000;
    writeFileAtomic(join(dir, METRICS_FILE), Array.from({ length: rows }, (_, i) => row(i)).join(''));
    assert.ok(statSync(join(dir, METRICS_FILE)).size > 9 << 20);
    let reading = await progress();
    assert.ok(reading.reading > 0 && reading.reading < 1 && reading.rows < rows, `${reading.rows} rows read at first`);
    assert.equal(reading.resume, null);
    while (reading.reading !== null) reading = await progress();
    assert.deepEqual([reading.rows, reading.step, reading.resume], [rows, 4, stopped.resume]);
  } finally {
    await studio.close();
  }
});

test('studio refuses a run it cannot draw, with one line', async () => {
  const dir = await trainSmall('classifier', 'shapes:40', {});
  await assert.rejects(startStudio(dir, 0), /is a classifier run; it does not generate images, so there is nothing to export/);
});

test('gantry studio from the CLI: prints its address, serves the page and the run, stops on Ctrl-C; a missing run is one line', async () => {
  const { spawn, spawnSync } = await import('node:child_process');
  const { fileURLToPath } = await import('node:url');
  const bin = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..', 'bin', 'gantry.js');
  const dir = await trainSmall('dcgan', 'shapes:40', { ngf: 4, ndf: 4, nz: 6 });
  const child = spawn(process.execPath, [bin, 'studio', '--run', dir, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /at (http:\/\/127\.0\.0\.1:\d+\/)/.exec(out);
      if (m) resolve(m[1]);
    });
    child.once('exit', (code) => reject(new Error(`studio exited ${code} before listening: ${out}`)));
  });
  assert.equal((await (await fetch(url + 'model.json')).json()).family, 'dcgan');
  assert.match(await (await fetch(url)).text(), /<title>gantry explorer<\/title>/);
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  child.kill('SIGINT');
  assert.equal(await exited, 0);
  const missing = spawnSync(process.execPath, [bin, 'studio', '--run', join(dir, 'nope')], { encoding: 'utf8' });
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /not a gantry run folder/);
});

test('studio --weights: NVIDIA\'s generator served as it is (no live reload), with the maps given; a file that is no generator is one line', async () => {
  const { spawnSync } = await import('node:child_process');
  const { fileURLToPath } = await import('node:url');
  const here = fileURLToPath(new URL('.', import.meta.url));
  const golden = join(here, '..', 'golden');
  const g = readPix2PixHDGolden();
  const maps = writePix2PixHDGoldenMaps(g, tempDir());
  const studio = await startStudio({ source: { weights: join(golden, 'pix2pixhd_G.pth'), labelNc: 6, sizeOf: maps.labelFiles[0] }, examples: { labels: maps.labelFiles, instances: maps.instanceFiles } }, 0);
  try {
    assert.doesNotMatch(await (await fetch(studio.url)).text(), /gantry-live/, 'weights that do not change need no watching');
    const model = await (await fetch(studio.url + 'model.json')).json();
    assert.deepEqual([model.family, model.run, model.origin], ['pix2pixhd', 'pix2pixhd_G.pth', 'NVIDIA\'s pix2pixHD code']);
    assert.equal((await fetch(studio.url + 'progress.json')).status, 404, 'no run, no training to show');
    const web = buildGenerator(model, new Uint8Array(await (await fetch(studio.url + 'weights.safetensors')).arrayBuffer()));
    const [, h, w] = g.size;
    const drawn = await web.generate({ labelMaps: [web.examples[0]] });
    assert.ok(levelsOff(drawn.pixels, 3, g.fake, 0, h * w) <= 1, 'PyTorch\'s image of the first map');
    web.dispose();
  } finally {
    await studio.close();
  }
  await assert.rejects(startStudio({ source: { weights: join(golden, 'vgg19_w8.pth'), labelNc: 6, height: 32, width: 32 }, examples: {} }, 0), /vgg19_w8\.pth is not a pix2pixHD generator/);
  const bin = join(here, '..', '..', 'bin', 'gantry.js');
  const noCount = spawnSync(process.execPath, [bin, 'studio', '--weights', join(golden, 'pix2pixhd_G.pth'), '--height', '32', '--width', '32'], { encoding: 'utf8' });
  assert.equal(noCount.status, 1);
  assert.match(noCount.stderr, /^gantry studio: --weights needs --label-nc, the label count the generator was trained with \(Cityscapes: 35\)\n$/);
});
