/**
 * Time from a slider move to the new image in Chromium, for an exported 32x32 and 64x64 DCGAN (ngf 64,
 * as `gantry train dcgan` builds it): drawn in the page (gantry/web on WebGPU, WebGL, then the page's CPU
 * backend) against the server round trip the studio used to make (POST the vector, Node draws it with
 * gantry's native kernels, a PNG back, decoded and drawn), measured in the same run and browser.
 *
 *   node --import tsx bench/explorer-latency.ts [--moves 30]
 *
 * Prints one line per size and way, the medians, and the bundle's size.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { launchChromium } from '../test/web/chromium.ts';
import { initEngine } from '../src/engine/index.ts';
import { train } from '../src/train/trainer.ts';
import { validateRunConfig } from '../src/train/run-config.ts';
import { openRun } from '../src/train/run.ts';
import { exportRun } from '../src/export/export-run.ts';
import { renderGrid } from '../src/explore/render.ts';
import { NONE } from '../src/explore/conditions.ts';
import { encodePng } from '../src/io/png.ts';

// The page-side loops, as source text: tsx's helpers (__name) do not exist in the page.
/** n slider moves, each timed from its input event until the page has drawn (data-pending back to 0). */
const SLIDER_MOVES = `async (n) => {
  const slider = document.querySelector('#sliders input');
  const settled = () => new Promise((resolve) => {
    if (document.body.dataset.pending === '0') return resolve();
    const o = new MutationObserver(() => {
      if (document.body.dataset.pending === '0') { o.disconnect(); resolve(); }
    });
    o.observe(document.body, { attributes: true });
  });
  const times = [];
  for (let i = 0; i < n + 3; i++) {
    const t0 = performance.now();
    slider.value = String(((i % 10) - 5) / 2);
    slider.dispatchEvent(new Event('input'));
    await settled();
    if (i >= 3) times.push(performance.now() - t0);
  }
  return times;
}`;

/** n round trips as the old studio made them: POST the vector, decode the PNG, draw it. */
const ROUND_TRIPS = `async (n) => {
  const context = document.getElementById('image').getContext('2d');
  const z = Array.from({ length: 100 }, (_, i) => Math.sin(i));
  const times = [];
  for (let i = 0; i < n + 3; i++) {
    z[0] = ((i % 10) - 5) / 2;
    const t0 = performance.now();
    const res = await fetch('/', { method: 'POST', body: JSON.stringify({ z: [z] }) });
    const bitmap = await createImageBitmap(await res.blob());
    context.drawImage(bitmap, 0, 0);
    if (i >= 3) times.push(performance.now() - t0);
  }
  return times;
}`;

const { values } = parseArgs({ options: { moves: { type: 'string', default: '30' } } });
const moves = Number(values.moves);
await initEngine({ log: () => {} });
const work = mkdtempSync(join(tmpdir(), 'gantry-bench-'));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
// Chromium's software WebGPU adapter too, so the page's WebGPU path is timed as well.
const browser = await launchChromium({ webgpu: true });

try {
  for (const size of [32, 64]) {
    const runDir = join(work, `dcgan${size}`);
    await train({ outDir: runDir, quiet: true, config: validateRunConfig({ family: 'dcgan', seed: 1, data: 'mnist', model: { imageSize: size }, train: { steps: 1, batch: 8, samples: 4 } }, 'bench') });
    const site = join(work, `site${size}`);
    const exported = await exportRun(runDir, site);
    const run = openRun(runDir);
    // One origin: the exported site, and the old studio's way to draw (Node renders a PNG per request).
    const server = createServer((req, res) => {
      if (req.method === 'POST') {
        let body = '';
        req.on('data', (c) => (body += c));
        req.on('end', async () => {
          const { z } = JSON.parse(body) as { z: number[][] };
          const png = encodePng(await renderGrid(run, z.map((v) => Float32Array.from(v)), NONE, 1));
          res.writeHead(200, { 'content-type': 'image/png' });
          res.end(png);
        });
        return;
      }
      const path = new URL(req.url ?? '/', 'http://x').pathname.replace(/\/$/, '/index.html');
      try {
        const data = readFileSync(join(site, path));
        res.writeHead(200, { 'content-type': { '.js': 'text/javascript', '.html': 'text/html', '.css': 'text/css', '.json': 'application/json' }[extname(path)] ?? 'application/octet-stream' });
        res.end(data);
      } catch {
        res.writeHead(404);
        res.end();
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    for (const backend of ['webgpu', 'webgl', 'cpu']) {
      const page = await browser.newPage();
      await page.goto(`${url}?backend=${backend}`);
      await page.waitForFunction(() => document.body.dataset.ready === 'true' && document.body.dataset.pending === '0', null, { timeout: 120_000 });
      const used = await page.evaluate(() => document.body.dataset.backend);
      if (used !== backend) throw new Error(`the page runs on ${used}, not ${backend}`);
      const inPage = (await page.evaluate(`(${SLIDER_MOVES})(${moves})`)) as number[];
      console.log(JSON.stringify({ size, way: `in the page (${backend})`, medianMs: +median(inPage).toFixed(1) }));
      if (backend === 'webgl') {
        const roundTrip = (await page.evaluate(`(${ROUND_TRIPS})(${moves})`)) as number[];
        console.log(JSON.stringify({ size, way: 'server round trip (Node draws a PNG)', medianMs: +median(roundTrip).toFixed(1) }));
      }
      await page.close();
    }
    const js = exported.files.filter((f) => f.name.endsWith('.js')).reduce((a, f) => a + f.bytes, 0);
    console.log(JSON.stringify({ size, bundleBytes: js, weightsBytes: statSync(join(site, 'weights.safetensors')).size }));
    run.model.dispose();
    await new Promise<void>((r) => server.close(() => r()));
  }
} finally {
  await browser.close();
  rmSync(work, { recursive: true, force: true });
}
