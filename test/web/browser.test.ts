import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Download, Page } from 'playwright-core';
import { GANTRY_BIN, gantryCli, setup, tempDir } from '../helpers.ts';
import { train } from '../../src/train/trainer.ts';
import { validateRunConfig } from '../../src/train/run-config.ts';
import { openRun } from '../../src/train/run.ts';
import { generatorFiles, pretrainedFiles } from '../../src/export/export-run.ts';
import { readPix2PixHDGolden, writePix2PixHDGoldenMaps } from '../golden/pix2pixhd-maps.ts';
import { buildGenerator, type GenerateOptions, type WebGenerator } from '../../src/web/generator.ts';
import { pngBytes } from '../../src/api/generator.ts';
import { serveStatic, type StaticServer } from './static-server.ts';
import { CHROMIUM, launchChromium } from './chromium.ts';
import { readImageFile } from '../../src/io/image.ts';
import { encodePng } from '../../src/io/png.ts';
import { instanceBoundaries } from '../../src/explore/label-colours.ts';
import { encodeIdMap, readIdMap } from '../../src/io/id-map.ts';
import { writePicturePairs } from '../fixtures/picture-pairs.ts';

/**
 * Exported generators in a real browser (Debian's Chromium, headless, software WebGL): each page loads,
 * names its backend, draws what Node draws for the same seeds, and its controls change the image.
 * Screenshots of failing pages go to test-artifacts/browser/.
 */
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const artefacts = join(root, 'test-artifacts', 'browser');
const skip = !existsSync(CHROMIUM) && `no ${CHROMIUM} (apt-get install chromium)`;

await setup();

let browser: Browser;
let server: StaticServer;
const sites: Record<string, { dir: string; node: WebGenerator }> = {};

// Made here, not in before(): a tempDir made inside a hook would be removed when the hook ends.
const work = tempDir();

const trainSmall = async (name: string, family: string, data: string, model: Record<string, unknown>, steps = 2) => {
  const dir = join(work, 'runs', name);
  await train({ outDir: dir, quiet: true, config: validateRunConfig({ family, seed: 1, data, model, train: { steps, batch: steps > 2 ? 32 : 4, samples: 4, logEvery: 1 } }, 'test') });
  return dir;
};

/** Trains a tiny run, exports it with the CLI into site/<name>, and builds Node's generator of the same files. */
async function site(name: string, family: string, data: string, model: Record<string, unknown>, steps?: number): Promise<void> {
  const run = await trainSmall(name, family, data, model, steps);
  const out = join(server.root, name);
  const r = gantryCli(['export', '--run', run, '--out', out]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /model\.json .*weights\.safetensors .*explorer\.js \d+ kB, draw-worker\.js \d.*MB; .* in all/);
  const opened = openRun(run);
  const { model: file, weights } = await generatorFiles(opened, run);
  opened.model.dispose();
  sites[name] = { dir: out, node: buildGenerator(JSON.parse(JSON.stringify(file)), weights) };
}

/** Exports a generator of NVIDIA's code (a golden .pth) with the CLI into site/<name>, with the golden maps to start from. */
async function pretrainedSite(name: string, file: string, featuresFile?: string, encoderFile?: string): Promise<void> {
  const maps = writePix2PixHDGoldenMaps(readPix2PixHDGolden(), join(work, 'maps'));
  const weights = join(root, 'test', 'golden', file);
  const features = featuresFile && join(root, 'test', 'golden', featuresFile);
  const encoder = encoderFile && join(root, 'test', 'golden', encoderFile);
  const out = join(server.root, name);
  const r = gantryCli(['export', '--weights', weights, '--label-nc', '6', '--labels', maps.labels, '--instances', maps.instances, ...(features ? ['--features', features] : []), ...(encoder ? ['--encoder', encoder] : []), '--out', out]);
  assert.equal(r.code, 0, r.stderr);
  const exported = await pretrainedFiles({ source: { weights, labelNc: 6, sizeOf: maps.labelFiles[0], features, encoder }, examples: { labels: maps.labelFiles, instances: maps.instanceFiles } });
  sites[name] = { dir: out, node: buildGenerator(JSON.parse(JSON.stringify(exported.model)), exported.weights) };
}

before(async () => {
  if (skip) return;
  mkdirSync(join(work, 'www'));
  server = await serveStatic(join(work, 'www'));
  await site('dcgan', 'dcgan', 'shapes:40', { ngf: 4, ndf: 4, nz: 6 });
  // Wide enough that one draw of 64 images takes a second on the page's CPU backend.
  await site('dcgan-wide', 'dcgan', 'shapes:40', { ngf: 40, ndf: 4, nz: 16 });
  await site('cgan', 'cgan', 'shapes:40', { ngf: 4, ndf: 4, nz: 6, embedDim: 4 });
  // Trained far enough that its images depend on z (the tiny ones' barely do): a projection has somewhere to go.
  await site('digits', 'dcgan', 'mnist', { ngf: 8, ndf: 8, nz: 16 }, 150);
  await site('text', 'gan-cls', 'shapes:40', { ngf: 4, ndf: 4, nz: 6, projectionDim: 4, embedDim: 8, wordDim: 4, textHidden: 8, textSteps: 1 });
  await site('vae', 'vae', 'shapes:40', { latent: 8, width: 8 });
  const tinyPix2pixhd = { height: 32, width: 32, ngf: 4, nDown: 2, nBlocks: 1, ndf: 4, nLayers: 2, numD: 1, vgg: false };
  await site('paint', 'pix2pixhd', 'shapes:24', { ...tinyPix2pixhd, featNum: 3, nef: 4, nDownE: 2 });
  await site('paint-plain', 'pix2pixhd', 'shapes:24', { ...tinyPix2pixhd, featNum: 0 });
  await site('pictures', 'pix2pixhd', `pairs:${writePicturePairs({ train: 8, test: 3, size: 32, dir: join(work, 'pictures') })}`, tinyPix2pixhd);
  await pretrainedSite('nvidia', 'pix2pixhd_G_local.pth');
  await pretrainedSite('nvidia-feat', 'pix2pixhd_G_feat.pth', 'pix2pixhd_features_clustered.npy');
  await pretrainedSite('nvidia-encoder', 'pix2pixhd_G_feat.pth', undefined, 'pix2pixhd_E.pth');
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await server?.close();
  for (const s of Object.values(sites)) s.node.dispose();
});

interface Opened {
  page: Page;
  /** Console errors and uncaught exceptions of the page. */
  errors: string[];
}

/** Opens an exported site, waits for its first images, and keeps a screenshot when `check` fails. */
async function withPage(name: string, query: string, check: (o: Opened) => Promise<void>): Promise<void> {
  const page = await browser.newPage({ viewport: { width: 1100, height: 1300 } });
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(e.message));
  try {
    await page.goto(`${server.url}${name}/${query}`);
    await page.waitForFunction(() => document.body.dataset.ready, null, { timeout: 60_000 });
    assert.equal(await page.evaluate(() => document.body.dataset.ready), 'true', await errorBox(page));
    await idle(page);
    await check({ page, errors });
    assert.deepEqual(errors, [], 'no console errors');
  } catch (err) {
    mkdirSync(artefacts, { recursive: true });
    await page.screenshot({ path: join(artefacts, `${name}${query.replace(/\W+/g, '-')}.png`), fullPage: true }).catch(() => undefined);
    throw err;
  } finally {
    await page.close();
  }
}

/** Bundles test/web/pages/<name>.ts into a page served at <name>/. */
async function testPage(name: string): Promise<void> {
  const { build } = await import('esbuild');
  const dir = join(server.root, name);
  mkdirSync(dir);
  await build({ entryPoints: [join(root, 'test', 'web', 'pages', `${name}.ts`)], bundle: true, format: 'esm', platform: 'browser', outfile: join(dir, 'page.js'), logLevel: 'silent' });
  writeFileSync(join(dir, 'index.html'), '<!doctype html><html><body><script type="module" src="page.js"></script></body></html>');
}

/** Waits until the page has no drawing or other action in flight. */
async function idle(page: Page): Promise<void> {
  await page.waitForFunction(() => document.body.dataset.pending === '0', null, { timeout: 60_000 });
}

async function errorBox(page: Page): Promise<string> {
  return page.evaluate(() => (document.getElementById('error')!.hidden ? '' : document.getElementById('error')!.textContent ?? ''));
}

/** What the page's own generator draws (its gantry/web, on its backend) for the same request. */
async function pagePixels(page: Page, options: GenerateOptions): Promise<number[]> {
  return page.evaluate(async (o) => {
    const g = (window as unknown as { gantryExplorer: { generator: WebGenerator } }).gantryExplorer.generator;
    return Array.from((await g.generate(o)).pixels);
  }, options);
}

async function canvasPixels(page: Page, id: string): Promise<number[]> {
  return page.evaluate((id) => {
    const c = document.getElementById(id) as HTMLCanvasElement;
    return Array.from(c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data);
  }, id);
}

/** The largest difference in 8-bit levels, and the fraction of values that differ at all. */
function compare(got: number[], want: Uint8Array): { max: number; differing: number } {
  assert.equal(got.length, want.length);
  let max = 0;
  let differing = 0;
  for (let i = 0; i < want.length; i++) {
    const d = Math.abs(got[i] - want[i]);
    max = Math.max(max, d);
    if (d) differing++;
  }
  return { max, differing: differing / want.length };
}

/**
 * Tolerances of the page's images against Node's (gantry's native CPU kernels, float32). The page's
 * backends compute in float32 too, in other orders and with other exp/tanh (tfjs's JavaScript kernels;
 * WebGL and WebGPU on SwiftShader), so a value may land on the other side of an 8-bit rounding boundary:
 * at most 1 level, for at most 1 value in 200 (measured: at most 0.03% of values, on every backend).
 */
const TOLERANCE = { cpu: { max: 1, differing: 0.005 }, webgl: { max: 1, differing: 0.005 }, webgpu: { max: 1, differing: 0.005 } };

function withinTolerance(backend: keyof typeof TOLERANCE, got: number[], want: Uint8Array, what: string): void {
  const { max, differing } = compare(got, want);
  const t = TOLERANCE[backend];
  assert.ok(max <= t.max && differing <= t.differing, `${what} on ${backend}: max difference ${max} levels, ${(100 * differing).toFixed(2)}% of values differ (allowed ${t.max}, ${100 * t.differing}%)`);
}

const backendOf = async (page: Page) => (await page.evaluate(() => document.body.dataset.backend)) as keyof typeof TOLERANCE;

/** The page's gantry/web draws what Node's draws for the same request. */
async function drawsAsNode(page: Page, name: string, options: GenerateOptions): Promise<void> {
  withinTolerance(await backendOf(page), await pagePixels(page, options), (await sites[name].node.generate(options)).pixels, name);
}

/** The canvas shows Node's image of the request (RGB of the canvas's RGBA, or its red for grey images). */
async function shows(page: Page, canvas: string, name: string, options: GenerateOptions): Promise<void> {
  const want = await sites[name].node.generate(options);
  const shown = (await canvasPixels(page, canvas)).filter((_, i) => (want.channels === 1 ? i % 4 === 0 : i % 4 !== 3));
  withinTolerance(await backendOf(page), shown, want.pixels, `#${canvas} of ${name}`);
}

test('an exported dcgan in Chromium: WebGL named, Node\'s images for the same seeds, sliders / interpolation / arithmetic redraw, state in the URL, errors shown', { skip }, async () => {
  await withPage('dcgan', '', async ({ page }) => {
    assert.equal(await page.evaluate(() => document.body.dataset.backend), 'webgl');
    assert.match(await page.textContent('#backend') ?? '', /webgl/);
    // The weights' download was counted to the end (the header's bar), and the bar has gone.
    const size = statSync(join(sites.dcgan.dir, 'weights.safetensors')).size;
    assert.equal(await page.evaluate(() => document.body.dataset.downloaded), `${size}/${size}`);
    assert.equal(await page.isVisible('#loading'), false);
    await drawsAsNode(page, 'dcgan', { seeds: [0, 1, 2, 12] });
    await drawsAsNode(page, 'dcgan', { seeds: [5], truncation: 0.7 });
    // The editor shows seed 0 as `gantry sample --seed 0` draws it.
    await shows(page, 'image', 'dcgan', { seeds: [0] });
    const shown = await canvasPixels(page, 'image');
    assert.equal(await page.locator('#grid canvas').count(), 12);
    // A slider moved redraws the image and lands in the URL.
    await page.locator('#sliders input').nth(2).fill('2.5');
    await idle(page);
    const edited = Array.from(sites.dcgan.node.latent(0));
    edited[2] = 2.5;
    await shows(page, 'image', 'dcgan', { latents: [edited] });
    assert.notDeepEqual(await canvasPixels(page, 'image'), shown);
    assert.match(page.url(), /edit=2%3A2\.50/);
    assert.match(await page.textContent('#imageCaption') ?? '', /seed 0 · 1 of 6 numbers edited/);
    // "copy for the CLI": the command draws, with the CLI, the image the page shows.
    const command = await page.evaluate(() => (window as unknown as { gantryExplorer: { cliCommand: () => string } }).gantryExplorer.cliCommand());
    assert.match(command, /^gantry sample --run dcgan --latent '\[[-0-9., ]+\]' --out seed-0-edited\.png$/);
    const cli = spawnSync('bash', ['-c', command.replace(/^gantry /, `"${process.execPath}" "${GANTRY_BIN}" `)], { cwd: join(work, 'runs'), encoding: 'utf8' });
    assert.equal(cli.status, 0, cli.stderr);
    const drawnByCli = readImageFile(join(work, 'runs', 'seed-0-edited.png'));
    // The CLI's one-image grid has a 2-pixel border; the page's image is inside it.
    const inner = new Uint8Array(32 * 32 * 3);
    for (let y = 0; y < 32; y++) for (let x = 0; x < 32; x++) for (let c = 0; c < 3; c++) inner[(y * 32 + x) * 3 + c] = drawnByCli.data[((y + 2) * 36 + x + 2) * drawnByCli.channels + c];
    withinTolerance(await backendOf(page), (await canvasPixels(page, 'image')).filter((_, i) => i % 4 !== 3), inner, 'gantry sample --latent of the copied command');
    // Undo puts it back.
    await page.click('#undo');
    await idle(page);
    assert.deepEqual(await canvasPixels(page, 'image'), shown);
    // Interpolation: one image a frame, the ends named.
    await page.fill('#frames', '5');
    await page.click('#interpolate');
    await idle(page);
    assert.equal(await page.locator('#strip canvas').count(), 5);
    assert.equal(await page.locator('#strip figcaption').first().textContent(), 'seed 3');
    // A bad frame count is one message, not a silent failure.
    await page.fill('#frames', '1');
    await page.click('#interpolate');
    await idle(page);
    assert.match(await errorBox(page), /frames must be a whole number from 2 to 64, not "1"/);
    // Arithmetic on Enter: each term labelled, then the result.
    await page.fill('#expr', 'seed:12 - seed:40 + seed:7');
    await page.press('#expr', 'Enter');
    await idle(page);
    assert.deepEqual(await page.locator('#arithOut figcaption').allTextContents(), ['seed:12', '− seed:40', '+ seed:7', '= result']);
    assert.equal(await errorBox(page), '', 'a good action clears the error');
    await page.fill('#expr', 'seed:12 *');
    await page.press('#expr', 'Enter');
    await idle(page);
    assert.match(await errorBox(page), /cannot read "\*"/);
    await page.fill('#seed', '-3');
    await page.press('#seed', 'Enter');
    await idle(page);
    assert.match(await errorBox(page), /the seed must be a whole number of 0 or more, not "-3"/);
    // A chosen seed survives a reload (the URL holds it).
    await page.fill('#seed', '9');
    await page.press('#seed', 'Enter');
    await idle(page);
    await page.reload();
    await page.waitForFunction(() => document.body.dataset.ready === 'true');
    await idle(page);
    assert.equal(await page.inputValue('#seed'), '9');
  });
});

test('an exported dcgan on the page\'s CPU backend draws Node\'s images too; on a phone-sized screen nothing spills sideways', { skip }, async () => {
  await withPage('dcgan', '?backend=cpu', async ({ page }) => {
    assert.equal(await page.evaluate(() => document.body.dataset.backend), 'cpu');
    await drawsAsNode(page, 'dcgan', { seeds: [0, 1, 2, 12] });
    await page.setViewportSize({ width: 390, height: 844 });
    assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= 390), 'no horizontal scrolling at 390 px');
    const image = (await page.locator('#image').boundingBox())!;
    assert.ok(image.width >= 200, `the image is shown large (${image.width} px wide)`);
  });
});

test('the page answers while it draws: on the CPU backend a second\'s draw runs in the worker, and the page\'s timers keep time', { skip }, async () => {
  await withPage('dcgan-wide', '?backend=cpu', async ({ page }) => {
    assert.equal(await page.evaluate(() => document.body.dataset.backend), 'cpu');
    const { drawMs, longestGapMs } = await page.evaluate(async () => {
      const g = (window as unknown as { gantryExplorer: { generator: WebGenerator } }).gantryExplorer.generator;
      // (No named functions in here: tsx would wrap them in a helper the page lacks.)
      const ticks = [performance.now()];
      const timer = setInterval(() => ticks.push(performance.now()), 10);
      const started = performance.now();
      // 64 images: one chunk, one tidy of synchronous kernels where the generator draws in the page's thread.
      await g.generate({ seeds: Array.from({ length: 64 }, (_, i) => i) });
      const drawMs = performance.now() - started;
      ticks.push(performance.now());
      clearInterval(timer);
      return { drawMs, longestGapMs: Math.max(...ticks.slice(1).map((t, i) => t - ticks[i])) };
    });
    assert.ok(drawMs > 500, `the draw took ${drawMs.toFixed(0)} ms: too short to show whether the page would freeze`);
    assert.ok(longestGapMs < 200, `a 10 ms timer waited ${longestGapMs.toFixed(0)} ms during a ${drawMs.toFixed(0)} ms draw`);
  });
});

test('on WebGPU (Chromium\'s software adapter, --enable-unsafe-webgpu): the pages name webgpu and draw Node\'s images for every family, on tfjs\'s kernels and, with ?kernels=gantry, on gantry\'s with replayed draws', { skip }, async (t) => {
  const gpuBrowser = await launchChromium({ webgpu: true });
  const saved = browser;
  browser = gpuBrowser;
  try {
    const probe = await browser.newPage();
    await probe.goto(`${server.url}dcgan/model.json`);
    const adapter = await probe.evaluate(async () => Boolean(await (navigator as Navigator & { gpu?: { requestAdapter(): Promise<unknown> } }).gpu?.requestAdapter()));
    await probe.close();
    if (!adapter) return t.skip('this Chromium offers no WebGPU adapter');
    const requests: Record<string, GenerateOptions> = {
      dcgan: { seeds: [0, 1, 2, 12] },
      cgan: { seeds: [3, 4], class: 'triangle' },
      text: { seeds: [1, 2], text: 'a red circle on a blue background' },
      paint: { labelMaps: [sites.paint.node.examples[0]], styles: { seed: 0 } },
    };
    const replayedDraws = (page: Page) => page.evaluate(() => (window as unknown as { gantryExplorer: { generator: WebGenerator } }).gantryExplorer.generator.replayedDraws);
    for (const [name, options] of Object.entries(requests)) {
      await withPage(name, '', async ({ page }) => {
        assert.equal(await backendOf(page), 'webgpu', `${name} runs on WebGPU`);
        assert.equal(await page.evaluate(() => document.body.dataset.gpuKernels), 'tfjs');
        await drawsAsNode(page, name, options);
      });
    }
    // gantry's kernels, draws replayed: a class run and the label-map painter (styles, instance maps), which
    // between them use every kind of kernel a generator draws with (SwiftShader compiles each slowly).
    for (const name of ['cgan', 'paint']) {
      await withPage(name, '?kernels=gantry', async ({ page }) => {
        assert.equal(await page.evaluate(() => document.body.dataset.gpuKernels), 'gantry');
        assert.match(await page.textContent('#backend') ?? '', /webgpu \(gantry's kernels\)/);
        // A batch size's first draw runs eagerly, the next two are recorded, the fourth is a replay.
        const before = await replayedDraws(page);
        for (let draw = 0; draw < 4; draw++) await drawsAsNode(page, name, requests[name]);
        assert.ok(await replayedDraws(page) > before, `${name}: the page's draws were replayed`);
      });
    }
  } finally {
    browser = saved;
    await gpuBrowser.close();
  }
});

test('on WebGPU in a page, an op whose output is past what the GPU binds at once is one GantryError naming the fix (WebGPU itself would only log it), and the engine goes on', { skip }, async (t) => {
  await testPage('device-limits');
  const gpuBrowser = await launchChromium({ webgpu: true });
  try {
    const page = await gpuBrowser.newPage();
    await page.goto(`${server.url}device-limits/`);
    await page.waitForFunction(() => document.body.dataset.ready === 'true', null, { timeout: 60_000 });
    const adapter = await page.evaluate(async () => Boolean(await (navigator as Navigator & { gpu?: { requestAdapter(): Promise<unknown> } }).gpu?.requestAdapter()));
    if (!adapter) return t.skip('this Chromium offers no WebGPU adapter');
    const seen = await page.evaluate(() => (window as unknown as { deviceLimits: () => Promise<{ backend: string; side: number; limitMiB: number; message: string; gantry: boolean; inner: number }> }).deviceLimits());
    assert.equal(seen.backend, 'webgpu');
    assert.ok(seen.gantry, `a GantryError: ${JSON.stringify(seen)}`);
    assert.match(seen.message, new RegExp(`^WebGPU: a tensor of shape \\[1, ${seen.side}, ${seen.side}, 8\\] needs \\d+ MiB in one binding, more than this GPU binds at once \\(${seen.limitMiB} MiB\\); draw fewer or smaller images, or another backend`));
    assert.equal(seen.inner, 9);
  } finally {
    await gpuBrowser.close();
  }
});

test('an image of the user\'s projected in the page (in its worker) is the editor\'s vector, far closer than the closest seed; a cgan\'s class is found too', { skip }, async () => {
  for (const name of ['digits', 'cgan']) {
    await withPage(name, '', async ({ page }) => {
      assert.equal(await page.isVisible('#projectBox'), true);
      // One of the generator's own images (a seed outside the pool), as a PNG file of the user's.
      const picture = await sites[name].node.generate({ seeds: [1000], class: name === 'cgan' ? 2 : undefined });
      const file = join(work, `${name}-picture.png`);
      writeFileSync(file, pngBytes(picture));
      // The cgan's: far more steps than wanted, stopped once they are under way (its vector so far is kept).
      if (name === 'cgan') await page.fill('#projectSteps', '5000');
      await page.setInputFiles('#projectFile', file);
      if (name === 'cgan') {
        await page.waitForFunction(() => /^finding its vector: \d+%/.test(document.getElementById('projectStatus')!.textContent!), null, { timeout: 120_000 });
        assert.equal(await page.isDisabled('#projectFile'), true, 'one projection at a time');
        await page.click('#projectStop');
      }
      await page.waitForFunction(() => /^(found|stopped|not found)/.test(document.getElementById('projectStatus')!.textContent!), null, { timeout: 120_000 });
      await idle(page);
      const status = (await page.textContent('#projectStatus'))!;
      const [, how, start, end] = /^(found|stopped at \d+%): squared error ([\d.e+-]+) → ([\d.e+-]+)/.exec(status) ?? [];
      assert.match(how ?? '', name === 'cgan' ? /^stopped at \d+%$/ : /^found$/, status);
      assert.ok(Number(end) <= Number(start), status);
      assert.equal(await page.isVisible('#projectStop'), false);
      assert.equal(await page.isDisabled('#projectFile'), false);
      // The tiny cgan's images barely depend on z; the digits' do.
      if (name === 'digits') assert.ok(Number(end) < Number(start) / 4, status);
      const vector = await page.evaluate(() => (window as unknown as { gantryExplorer: { vector(): number[] } }).gantryExplorer.vector());
      const cls = name === 'cgan' ? Number(await page.inputValue('#classSelect')) : undefined;
      if (name === 'cgan') assert.match(status, new RegExp(`class ${sites.cgan.node.classes![cls!]}$`));
      await shows(page, 'image', name, { latents: [vector], class: cls });
    });
  }
});

test('an exported cgan in Chromium: Node\'s images per class, the class picker and the row of every class redraw', { skip }, async () => {
  await withPage('cgan', '', async ({ page }) => {
    await drawsAsNode(page, 'cgan', { seeds: [3, 4, 5, 6] });
    await drawsAsNode(page, 'cgan', { seeds: [3, 4], class: 'triangle' });
    assert.equal(await page.locator('#classStrip canvas').count(), 4);
    assert.deepEqual(await page.locator('#classStrip figcaption').allTextContents(), ['circle', 'square', 'triangle', 'diamond']);
    assert.equal(await page.isVisible('#caption'), false, 'no caption box on a class run');
    await shows(page, 'image', 'cgan', { seeds: [0], class: 0 });
    await page.selectOption('#classSelect', '2');
    await idle(page);
    await shows(page, 'image', 'cgan', { seeds: [0], class: 2 });
    assert.match(page.url(), /class=2/);
  });
});

test('an exported gan-cls in Chromium: Node\'s images for a caption, a typed caption redraws and its unknown words are named', { skip }, async () => {
  await withPage('text', '', async ({ page }) => {
    await drawsAsNode(page, 'text', { seeds: [1, 2], text: 'a red circle on a blue background' });
    assert.equal(await page.isVisible('#classSelect'), false, 'no class picker on a text run');
    await shows(page, 'image', 'text', { seeds: [0], text: sites.text.node.captions![0] });
    await page.fill('#caption', 'a green zebra');
    await page.press('#caption', 'Enter');
    await idle(page);
    await shows(page, 'image', 'text', { seeds: [0], text: 'a green zebra' });
    assert.match(await page.textContent('#imageCaption') ?? '', /"a green zebra"/);
    assert.match(await page.textContent('#captionHint') ?? '', /zebra/);
    await page.click('#interpolateText');
    await idle(page);
    assert.equal(await page.locator('#strip canvas').count(), 8);
    // Style from an image (the style encoder, as sample --style-from): the editor draws the image's latent vector.
    const photo = join(root, 'test', 'fixtures', 'folder', 'cats', 'cat0.png');
    await page.setInputFiles('#styleFile', photo);
    await idle(page);
    const z = await sites.text.node.styleLatent(readImageFile(photo));
    await shows(page, 'image', 'text', { latents: [Array.from(z)], text: 'a green zebra' });
  });
});

test('an exported vae in Chromium: an image of the user\'s, encoded, is the editor\'s starting point', { skip }, async () => {
  await withPage('vae', '', async ({ page }) => {
    await drawsAsNode(page, 'vae', { seeds: [0, 1] });
    assert.equal(await page.isVisible('#styleBox'), true);
    assert.equal(await page.textContent('#styleLabel'), 'start from an image (its encoding)');
    const photo = join(root, 'test', 'fixtures', 'folder', 'cats', 'cat0.png');
    await page.setInputFiles('#styleFile', photo);
    await idle(page);
    const z = await sites.vae.node.styleLatent(readImageFile(photo));
    await shows(page, 'image', 'vae', { latents: [Array.from(z)] });
  });
});

test('an exported pix2pixhd in Chromium: Node\'s image of a test map, painting redraws where painted, a click cycles an object\'s style, a photo\'s styles', { skip }, async () => {
  await withPage('paint', '', async ({ page }) => {
    const g = sites.paint.node;
    await drawsAsNode(page, 'paint', { labelMaps: [g.examples[0]], styles: { seed: 0 } });
    assert.equal(await page.isVisible('#editor'), false, 'no latent editor for label maps');
    assert.equal(await page.locator('#palette button').count(), 5);
    assert.equal(await page.isDisabled('#paintUndo'), true, 'nothing to undo before a stroke');
    assert.equal(await page.isVisible('#styleSeedField'), true, 'a run with learned styles has a style seed');
    const before = await canvasPixels(page, 'paintResult');
    // Paint a stroke of label 1 along the top rows of the map.
    const box = (await page.locator('#labelCanvas').boundingBox())!;
    await page.selectOption('#brush', '4');
    await page.click('#palette button >> nth=1');
    await page.mouse.move(box.x + 2, box.y + 4);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width - 2, box.y + 4, { steps: 8 });
    await page.mouse.up();
    await idle(page);
    const painting = () => page.evaluate(() => (window as unknown as { gantryExplorer: { painting: () => GenerateOptions } }).gantryExplorer.painting());
    const painted = await painting();
    assert.ok(Array.from(painted.labelMaps![0].labels as ArrayLike<number>).slice(32, 64).every((l) => l === 1), 'row 1 is painted with label 1');
    await shows(page, 'paintResult', 'paint', painted);
    // The image changes most where painted (G's instance norms and receptive field carry a little everywhere).
    const after = await canvasPixels(page, 'paintResult');
    const rowChange = (y: number) => after.slice(y * 128, (y + 1) * 128).reduce((a, v, i) => a + Math.abs(v - before[y * 128 + i]), 0);
    const near = [0, 1, 2, 3].reduce((a, y) => a + rowChange(y), 0);
    const far = [28, 29, 30, 31].reduce((a, y) => a + rowChange(y), 0);
    assert.ok(near > far, `the painted rows change most (${near} vs ${far} in the far rows)`);
    // The style tool: a click on an object cycles its style.
    await page.selectOption('#tool', 'style');
    const map = g.examples[0];
    const p = Array.from(map.labels).findIndex((l, i) => l > 0 && i >= 32 * 8);
    await page.mouse.click(box.x + ((p % 32) + 0.5) * (box.width / 32), box.y + (Math.floor(p / 32) + 0.5) * (box.height / 32));
    await idle(page);
    assert.match(await page.textContent('#paintHint') ?? '', /style 1 of \d+/);
    const styled = await painting();
    assert.equal(Object.keys(styled.styles!.choose!).length, 1, 'the clicked object has a chosen style');
    await shows(page, 'paintResult', 'paint', styled);
    // A photo's styles (its objects encoded by the run's E): every object but the chosen one takes them.
    assert.equal(await page.isVisible('#photoStyleField'), true, 'a run with a feature encoder reads photos');
    await page.setInputFiles('#photoStyleFile', join(root, 'test', 'fixtures', 'folder', 'cats', 'cat0.png'));
    await idle(page);
    const onPhoto = await painting();
    assert.ok(onPhoto.styles!.photo && Object.keys(onPhoto.styles!.choose!).length === 1, 'the photo, and the chosen style kept');
    assert.equal(await page.textContent('#paintCaption'), 'drawn from the map in the styles of cat0.png, 1 objects with chosen styles');
    await shows(page, 'paintResult', 'paint', onPhoto);
    await page.click('#photoStyleClear');
    await idle(page);
    assert.equal((await painting()).styles!.photo, undefined, 'the photo forgotten');
    await shows(page, 'paintResult', 'paint', styled);
    // Undo of the stroke.
    await page.click('#paintUndo');
    await idle(page);
  });
});

test('the painter\'s objects (a run with instance maps) in Chromium: each stroke of an object class is an object of its own, outlined as the networks see it, with its own style; unticked, strokes join the label\'s region', { skip }, async () => {
  await withPage('paint', '', async ({ page }) => {
    const g = sites.paint.node;
    const { objects, colours } = g.labels!;
    // A class of objects (the test maps' shapes are: label * 1000 ids) with learned styles.
    const label = objects.find((l) => g.styleCount(l) > 0)!;
    assert.ok(label > 0, `a shape class with styles among the objects ${objects}`);
    await page.selectOption('#example', '-1');
    await page.click(`#palette button >> nth=${label}`);
    assert.equal(await page.isChecked('#newObject'), true, `label ${label} is a class of objects: strokes are objects`);
    assert.match(await page.textContent('#paintHint') ?? '', /is a new object/);
    // Two strokes that overlap, then a third, unticked: two objects and the label's region.
    const box = (await page.locator('#labelCanvas').boundingBox())!;
    const at = (x: number, y: number): [number, number] => [box.x + (x + 0.5) * (box.width / 32), box.y + (y + 0.5) * (box.height / 32)];
    const strokeAlong = async (y: number) => {
      await page.mouse.move(...at(2, y));
      await page.mouse.down();
      await page.mouse.move(...at(29, y), { steps: 8 });
      await page.mouse.up();
    };
    await page.selectOption('#brush', '4');
    await strokeAlong(6);
    await strokeAlong(9);
    await page.uncheck('#newObject');
    await strokeAlong(22);
    await idle(page);
    const painting = () => page.evaluate(() => (window as unknown as { gantryExplorer: { painting: () => GenerateOptions } }).gantryExplorer.painting());
    const painted = await painting();
    const { labels, instances } = painted.labelMaps![0] as { labels: ArrayLike<number>; instances: ArrayLike<number> };
    assert.deepEqual([6, 10, 22].map((y) => labels[y * 32 + 16]), [label, label, label]);
    assert.deepEqual([6, 10, 22, 30].map((y) => instances[y * 32 + 16]), [label * 1000, label * 1000 + 1, label, 0], 'objects k = 0 and 1, the region, the background');
    // The label map shows each object's outline: its label's colour, darker or lighter where the boundary map is 1.
    const shown = await canvasPixels(page, 'labelCanvas');
    const outline = instanceBoundaries(Int32Array.from(instances), 32, 32);
    assert.ok(outline[7 * 32 + 16] === 1 && outline[9 * 32 + 16] === 0, 'the objects meet at a boundary (rows 6 and 7)');
    for (let p = 0; p < 32 * 32; p++) {
      const colour = colours[labels[p]];
      const plain = shown[p * 4] === colour[0] && shown[p * 4 + 1] === colour[1] && shown[p * 4 + 2] === colour[2];
      assert.equal(plain, outline[p] === 0, `pixel ${p % 32},${Math.floor(p / 32)}: outlined only on a boundary`);
    }
    await shows(page, 'paintResult', 'paint', painted);
    // "download the map": the label and instance ids as the CLI reads them (translate --labels --instances).
    const downloads: Download[] = [];
    page.on('download', (d) => downloads.push(d));
    await page.click('#paintMapDownload');
    for (let i = 0; i < 100 && downloads.length < 2; i++) await page.waitForTimeout(50);
    assert.deepEqual(downloads.map((d) => d.suggestedFilename()), ['gantry-labels.png', 'gantry-instances.png']);
    const files: string[] = [];
    for (const [d, ids] of [[downloads[0], labels], [downloads[1], instances]] as const) {
      files.push(join(work, d.suggestedFilename()));
      await d.saveAs(files.at(-1)!);
      const map = readIdMap(files.at(-1)!, d.suggestedFilename());
      assert.deepEqual([map.width, map.height, Array.from(map.ids)], [32, 32, Array.from(ids)], d.suggestedFilename());
    }
    // ... and back into the painter: "load a label PNG", then "its instance PNG" (16-bit, read by the page).
    await page.selectOption('#example', '-1');
    await page.setInputFiles('#labelFile', files[0]);
    await page.setInputFiles('#instanceFile', files[1]);
    await idle(page);
    const reloaded = (await painting()).labelMaps![0];
    assert.deepEqual([Array.from(reloaded.labels), Array.from(reloaded.instances!)], [Array.from(labels), Array.from(instances)], 'the map as painted');
    writeFileSync(join(work, 'other-size.png'), encodeIdMap({ width: 16, height: 32, ids: new Int32Array(16 * 32) }));
    await page.setInputFiles('#instanceFile', join(work, 'other-size.png'));
    await idle(page);
    assert.match(await errorBox(page), /other-size\.png is 16x32 and the label PNG gantry-labels\.png 32x32: give the instance map of that label map/);
    // A click with the style tool styles the second object alone.
    await page.selectOption('#tool', 'style');
    await page.mouse.click(...at(16, 10));
    await idle(page);
    const styled = await painting();
    assert.deepEqual(Object.keys(styled.styles!.choose!), [String(label * 1000 + 1)]);
    await shows(page, 'paintResult', 'paint', styled);
    // Label 0 (the background) is never an object.
    await page.click('#palette button >> nth=0');
    assert.equal(await page.isDisabled('#newObject'), true);
  });
});

/** Where on the page the label map's top-left pixel is. */
async function corner(page: Page): Promise<[number, number]> {
  const box = (await page.locator('#labelCanvas').boundingBox())!;
  return [box.x + 2, box.y + 2];
}

/** The painter's fill tool with label `label` at the map's top-left corner: the painting it leaves (its first pixel checked). */
async function fillCorner(page: Page, label: number): Promise<GenerateOptions> {
  await page.click(`#palette button >> nth=${label}`);
  await page.selectOption('#tool', 'fill');
  await page.mouse.click(...await corner(page));
  await idle(page);
  const painted = await page.evaluate(() => (window as unknown as { gantryExplorer: { painting: () => GenerateOptions } }).gantryExplorer.painting());
  assert.equal((painted.labelMaps![0].labels as ArrayLike<number>)[0], label, `the fill painted label ${label}`);
  return painted;
}

test('an exported pix2pixhd without a feature encoder in Chromium: no style controls, painting draws as Node', { skip }, async () => {
  await withPage('paint-plain', '', async ({ page }) => {
    const g = sites['paint-plain'].node;
    await drawsAsNode(page, 'paint-plain', { labelMaps: [g.examples[0]] });
    assert.equal(await page.isVisible('#styleSeedField'), false, 'no style seed');
    assert.equal(await page.isVisible('#photoStyleField'), false, 'no encoder to read a photo with');
    assert.deepEqual(await page.locator('#tool option').evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value)), ['brush', 'fill', 'eraser']);
    await shows(page, 'paintResult', 'paint-plain', await fillCorner(page, 2));
    // A slow draw (a large generator on a slow backend) marks the result as being drawn, with how long so far.
    await page.evaluate(() => {
      const g = (window as unknown as { gantryExplorer: { generator: WebGenerator } }).gantryExplorer.generator;
      const generate = g.generate.bind(g);
      g.generate = async (o) => new Promise((done) => setTimeout(() => done(generate(o)), 3000));
    });
    const figure = page.locator('#paintResult >> xpath=..');
    const busy = figure.locator('.busy');
    assert.equal(await busy.isVisible(), false, 'no mark while nothing is drawn');
    await page.click('#palette button >> nth=1');
    await page.mouse.click(...await corner(page));
    await page.waitForFunction(() => /drawing… 1 s/.test(document.getElementById('paintResult')!.parentElement!.querySelector('.busy')?.textContent ?? ''), null, { timeout: 10_000 });
    assert.equal(await figure.getAttribute('aria-busy'), 'true');
    assert.equal(await busy.isVisible(), true, 'the mark shows once the draw has taken a moment');
    await idle(page);
    assert.equal(await busy.isVisible(), false, 'and goes when it is drawn');
    assert.equal(await figure.getAttribute('aria-busy'), null);
  });
});

test('an exported pix2pixhd trained on pictures as inputs in Chromium: no painter, Node\'s image of each test picture, a picture of the user\'s (fitted as the CLI fits it) drawn as Node draws it', { skip }, async () => {
  await withPage('pictures', '', async ({ page }) => {
    const g = sites.pictures.node;
    const examples = g.examplePictures;
    assert.equal(examples.length, 3, 'the run\'s test pictures travel with the export');
    assert.equal(await page.isVisible('#paint'), false, 'no label painter');
    assert.equal(await page.isVisible('#editor'), false, 'no latent editor');
    await shows(page, 'pictureResult', 'pictures', { pictures: [examples[0]] });
    await drawsAsNode(page, 'pictures', { pictures: [examples[1], examples[2]] });
    await page.selectOption('#pictureExample', '2');
    await idle(page);
    await shows(page, 'pictureResult', 'pictures', { pictures: [examples[2]] });
    assert.equal(await page.textContent('#pictureCaption'), 'drawn from test picture 3');
    // A picture of the user's, 48x40 with alpha: fitted to 32x32 as the CLI fits it (cover, centre crop).
    const [w, h] = [48, 40];
    const rgba = new Uint8Array(w * h * 4).map((_, i) => (i % 4 === 3 ? 255 : (i * 37) % 256));
    const file = join(work, 'mine.png');
    writeFileSync(file, encodePng({ width: w, height: h, channels: 4, data: rgba }));
    await page.setInputFiles('#pictureFile', file);
    await idle(page);
    assert.equal(await page.textContent('#pictureCaption'), 'drawn from mine.png');
    await shows(page, 'pictureResult', 'pictures', { pictures: [{ width: w, height: h, channels: 4, data: rgba }] });
    // A label-map request is one line naming what this generator takes.
    assert.match(await page.evaluate(async () => {
      const gen = (window as unknown as { gantryExplorer: { generator: WebGenerator } }).gantryExplorer.generator;
      return gen.generate({ labelMaps: [{ width: 32, height: 32, labels: new Array(1024).fill(0) }] }).then(() => 'drawn', (e: Error) => e.message);
    }), /^labelMaps: this generator was trained on pictures as inputs, not label maps; give pictures$/);
  });
});

test('NVIDIA\'s pix2pixHD generator exported (export --weights) in Chromium: the page names the file and its origin, draws the test map as Node does, painting redraws', { skip }, async () => {
  await withPage('nvidia', '', async ({ page }) => {
    const g = sites.nvidia.node;
    assert.equal(await page.textContent('#about'), 'pix2pixhd · 24x16 · pix2pixhd_G_local.pth (NVIDIA\'s pix2pixHD code)');
    await drawsAsNode(page, 'nvidia', { labelMaps: [g.examples[0]] });
    await shows(page, 'paintResult', 'nvidia', { labelMaps: [g.examples[0]] });
    assert.equal(await page.locator('#palette button').count(), 6);
    await shows(page, 'paintResult', 'nvidia', await fillCorner(page, 3));
    // Magnified (24x16 in a wide column) its pixels are crisp squares; shown smaller than its pixels (as
    // a 1024x512 generator's image is), it is smoothed, not thinned into false stripes.
    const rendering = () => page.evaluate(() => getComputedStyle(document.getElementById('paintResult')!).imageRendering);
    assert.notEqual(await rendering(), 'auto', 'magnified: pixelated (or crisp-edges)');
    await page.evaluate(() => Object.assign(document.getElementById('paintResult') as HTMLCanvasElement, { width: 4000, height: 1000 }));
    await page.waitForFunction(() => getComputedStyle(document.getElementById('paintResult')!).imageRendering === 'auto', null, { timeout: 10_000 });
  });
});

test('NVIDIA\'s pix2pixHD generator trained with instance features (export --weights --features) in Chromium: the painter draws the test map in its clustered styles as Node does, with the style controls', { skip }, async () => {
  await withPage('nvidia-feat', '', async ({ page }) => {
    const g = sites['nvidia-feat'].node;
    await drawsAsNode(page, 'nvidia-feat', { labelMaps: [g.examples[0]], styles: { seed: 0 } });
    assert.equal(await page.isVisible('#styleSeedField'), true);
    assert.deepEqual(await page.locator('#tool option').evaluateAll((options) => options.map((o) => (o as HTMLOptionElement).value)), ['brush', 'fill', 'eraser', 'style']);
  });
});

test('NVIDIA\'s generator with its feature encoder but no learned styles (export --encoder alone) in Chromium: the painter asks for a photo, then draws its styles as Node does', { skip }, async () => {
  await withPage('nvidia-encoder', '', async ({ page }) => {
    assert.match(await page.textContent('#paintCaption') ?? '', /^choose "styles of a photo": this generator has no learned styles/);
    assert.equal(await errorBox(page), '', 'no error before a photo');
    assert.equal(await page.isVisible('#styleSeedField'), false);
    await page.setInputFiles('#photoStyleFile', join(root, 'test', 'fixtures', 'folder', 'cats', 'cat0.png'));
    await idle(page);
    const painting = await page.evaluate(() => (window as unknown as { gantryExplorer: { painting: () => GenerateOptions } }).gantryExplorer.painting());
    assert.ok(painting.styles?.photo);
    await shows(page, 'paintResult', 'nvidia-encoder', painting);
    await assert.rejects(sites['nvidia-encoder'].node.generate({ labelMaps: painting.labelMaps }), /this generator has no learned styles: give styles\.photo, a photo whose objects its feature encoder reads/);
  });
});

test('tensors of a large painter\'s sizes in a page: convolutions whose im2col would overflow WebGL\'s largest texture or gantry\'s limit (in bands, padded and strided, or direct), and gantry\'s CPU kernels making arrays of megabytes, give a float64 loop\'s values', { skip }, async () => {
  await testPage('large-ops');
  for (const backend of ['webgl', 'cpu'] as const) {
    const page = await browser.newPage();
    try {
      await page.goto(`${server.url}large-ops/`);
      await page.waitForFunction(() => document.body.dataset.ready === 'true', null, { timeout: 60_000 });
      const errors = await page.evaluate((b) => (window as unknown as { largeOps: (b: string) => Promise<Record<string, number>> }).largeOps(b), backend);
      // The bands follow gantry's own limit (2^24 texels), not the largest texture: Chromium's software WebGL
      // has reported 8192 and, in some runs, 16384 a side.
      for (const [what, error] of Object.entries(errors)) assert.ok(error < 1e-4, `${backend} ${what}: off by ${error}`);
    } finally {
      await page.close();
    }
  }
});

test('loadGeneratorInWorker in a page of its own: a missing script or folder is one clear error, the worker\'s errors arrive as GantryErrors, requests in flight together each get their answer, dispose ends it', { skip }, async () => {
  await testPage('worker-calls');
  const page = await browser.newPage();
  try {
    await page.goto(`${server.url}worker-calls/`);
    await page.waitForFunction(() => document.body.dataset.ready === 'true', null, { timeout: 60_000 });
    type Seen = { ok: true; value: Record<string, unknown> } | { ok: false; message: string; gantry: boolean };
    const seen = (await page.evaluate((site) => (window as unknown as { workerCalls: (s: string) => Promise<unknown> }).workerCalls(site), `${server.url}dcgan/`)) as Record<string, Seen>;
    const failed = (name: string, message: RegExp) => {
      const s = seen[name];
      assert.ok(!s.ok, `${name}: expected an error, got ${JSON.stringify(s)}`);
      assert.match(s.message, message, name);
      assert.ok(s.gantry, `${name}: a GantryError`);
    };
    failed('missingScript', /drawing worker did not start: its script did not load/);
    failed('missingFolder', /no-such-folder\/model\.json: 404/);
    failed('noSeeds', /give the seeds \(or latent vectors\)/);
    failed('seedsAndLatents', /give seeds or latents, not both/);
    failed('unsendable', /generate\(\): its arguments cannot be sent to the drawing worker \(.*could not be cloned.*\)/);
    failed('noEncoder', /this dcgan generator has no image encoder/);
    failed('afterDispose', /the generator was disposed/);
    const loaded = seen.loaded as { ok: true; value: Record<string, unknown> };
    const size = statSync(join(sites.dcgan.dir, 'weights.safetensors')).size;
    assert.deepEqual({ ...loaded.value, progressCalls: (loaded.value.progressCalls as number) > 1 }, { backend: 'cpu', family: 'dcgan', infersStyle: false, progressCalls: true, last: { loaded: size, total: size } });
    const together = (seen.together as { ok: true; value: Record<string, unknown> }).value;
    assert.deepEqual(together, { n: [1, 2], sameSeedSamePixels: true, otherSeedOtherPixels: true, per: together.per, twoLength: 2 * (together.per as number) });
  } finally {
    await page.close();
  }
});

test('gantry studio in Chromium: the page draws the run, shows its training (step, state, losses, plot, sample grids) and reloads itself when the run writes a newer checkpoint', { skip }, async () => {
  const { startStudio } = await import('../../src/studio/server.ts');
  const run = join(work, 'runs', 'live');
  await train({ outDir: run, quiet: true, config: validateRunConfig({ family: 'dcgan', seed: 1, data: 'shapes:40', model: { ngf: 4, ndf: 4, nz: 6 }, train: { steps: 2, batch: 4, samples: 4, checkpointEvery: 2 } }, 'test') });
  const studio = await startStudio(run, 0);
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  try {
    await page.goto(studio.url);
    await page.waitForFunction(() => document.body.dataset.ready === 'true', null, { timeout: 60_000 });
    assert.match(await page.textContent('#about') ?? '', /step 2$/);
    // The training panel: the run's step against its target, its state, its plot and newest sample grid.
    const panel = () => page.evaluate(() => {
      const slider = document.getElementById('trainSampleStep') as HTMLInputElement;
      const grid = document.getElementById('trainSamples') as HTMLImageElement;
      return {
        hidden: document.getElementById('training')!.hidden,
        step: document.getElementById('trainStep')!.textContent,
        state: document.getElementById('trainState')!.textContent,
        values: document.getElementById('trainValues')!.textContent,
        plots: [...document.querySelectorAll<HTMLImageElement>('#trainPlots img')].map((img) => [img.alt, img.complete && img.naturalWidth > 0]),
        grid: [slider.value, slider.max, document.getElementById('trainSampleValue')!.textContent, grid.complete && grid.naturalWidth > 0],
      };
    });
    const imagesLoaded = () => page.waitForFunction(() => [...document.querySelectorAll<HTMLImageElement>('#training img')].every((img) => img.complete && img.naturalWidth > 0), null, { timeout: 10_000 });
    await page.waitForFunction(() => document.body.dataset.trainingStep === '2', null, { timeout: 10_000 });
    await imagesLoaded();
    const first = await panel();
    assert.deepEqual({ ...first, values: first.values?.replace(/[\d.]+/g, 'N') }, {
      hidden: false, step: 'step 2 of 2 (100%)', state: 'finished', values: 'lossD N · lossG N',
      plots: [['losses against the step', true]], grid: ['1', '1', 'step 2', true],
    });
    await train({ outDir: run, resume: true, quiet: true, changes: { train: { steps: 4 } } });
    await page.waitForFunction(() => /step 4$/.test(document.getElementById('about')?.textContent ?? ''), null, { timeout: 30_000 });
    await page.waitForFunction(() => document.body.dataset.ready === 'true', null, { timeout: 60_000 });
    await page.waitForFunction(() => document.body.dataset.trainingStep === '4', null, { timeout: 10_000 });
    await imagesLoaded();
    assert.deepEqual((await panel()).grid, ['2', '2', 'step 4', true], 'the newest of three grids');
    // The slider moved back to step 2 stays on step 2 when the list changes under it (a long run's is re-spread as grids come).
    await page.evaluate(() => {
      const slider = document.getElementById('trainSampleStep') as HTMLInputElement;
      slider.value = '1';
      slider.dispatchEvent(new Event('input'));
    });
    assert.deepEqual((await panel()).grid.slice(0, 3), ['1', '2', 'step 2']);
    copyFileSync(join(run, 'samples', 'step-000002.png'), join(run, 'samples', 'step-000001.png'));
    // A score logged on the step of the last loss row (FID after the step's losses) gets its plot too.
    const { appendMetrics } = await import('../../src/train/metrics.ts');
    appendMetrics(run, { step: 4, fid: 123.5 });
    await page.waitForFunction(() => [...document.querySelectorAll<HTMLImageElement>('#trainPlots img')].some((img) => img.alt === 'fid against the step' && img.complete && img.naturalWidth > 0), null, { timeout: 15_000 });
    assert.match((await panel()).values ?? '', / · fid 123\.5 \(step 4\)$/);
    assert.deepEqual((await panel()).grid.slice(0, 3), ['2', '3', 'step 2'], 'four grids now, the slider still on step 2');
    assert.deepEqual(errors, []);
    // A run folder that stops being one (its config moved away) is said in the panel, and asked again.
    renameSync(join(run, 'config.json'), join(run, 'config.moved'));
    try {
      await page.waitForFunction(() => /^cannot read the run's progress \(.*no config\.json.*\); asking again in 5 s$/.test(document.getElementById('trainState')?.textContent ?? ''), null, { timeout: 15_000 });
    } finally {
      renameSync(join(run, 'config.moved'), join(run, 'config.json'));
    }
    await page.waitForFunction(() => document.getElementById('trainState')?.textContent === 'finished', null, { timeout: 15_000 });
  } catch (err) {
    mkdirSync(artefacts, { recursive: true });
    await page.screenshot({ path: join(artefacts, 'studio-live.png'), fullPage: true }).catch(() => undefined);
    throw err;
  } finally {
    await page.close();
    await studio.close();
  }
});
