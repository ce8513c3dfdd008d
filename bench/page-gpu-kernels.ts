/**
 * A page's WebGPU draws on tfjs's kernels op by op (gantry/web's default) against gantry's kernels with
 * replayed draws (`gpuKernels: 'gantry'`, the explorer's `?kernels=gantry`), in Chromium on its WebGPU
 * adapter (here SwiftShader, software): the time until the explorer has drawn its first images (pipelines
 * compiled), then one-image draws as a slider move asks, the same request each time.
 *
 *   node --import tsx bench/page-gpu-kernels.ts [--family cgan|paint] [--draws 10] [--rounds 2]
 *
 * cgan: 32x32 MNIST digits at `gantry train cgan`'s sizes; paint: a pix2pixHD label-map painter, 64x64 with
 * instance styles. One JSON line per page opened, the two ways alternating.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { launchChromium } from '../test/web/chromium.ts';
import { serveStatic } from '../test/web/static-server.ts';
import { initEngine } from '../src/engine/index.ts';
import { train } from '../src/train/trainer.ts';
import { validateRunConfig } from '../src/train/run-config.ts';
import { exportRun } from '../src/export/export-run.ts';

const { values } = parseArgs({ options: { family: { type: 'string', default: 'cgan' }, draws: { type: 'string', default: '10' }, rounds: { type: 'string', default: '2' } } });
const runs: Record<string, [string, string, Record<string, unknown>]> = {
  cgan: ['cgan', 'mnist', {}],
  paint: ['pix2pixhd', 'shapes:24', { height: 64, width: 64, featNum: 3, vgg: false }],
};
const chosen = runs[values.family!];
if (!chosen) throw new Error(`--family cgan or paint, not ${values.family}`);
const [family, data, model] = chosen;

// Drawn in the page, as source text (tsx's helpers do not exist there).
const DRAWS = `async (n) => {
  const g = window.gantryExplorer.generator;
  const request = g.examples.length ? { labelMaps: [g.examples[0]], styles: { seed: 0 } } : { seeds: [1] };
  const times = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await g.generate(request);
    times.push(performance.now() - t0);
  }
  return { times, replayed: g.replayedDraws };
}`;

await initEngine({ log: () => {} });
const work = mkdtempSync(join(tmpdir(), 'gantry-bench-'));
const server = await serveStatic(work);
const browser = await launchChromium({ webgpu: true });
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
try {
  const run = join(work, 'run');
  await train({ outDir: run, quiet: true, config: validateRunConfig({ family, seed: 1, data, model, train: { steps: 1, batch: 2, samples: 2 } }, 'bench') });
  await exportRun(run, join(work, 'site'));
  for (let round = 0; round < Number(values.rounds); round++) {
    for (const kernels of ['tfjs', 'gantry']) {
      const page = await browser.newPage();
      const t0 = Date.now();
      await page.goto(`${server.url}site/?backend=webgpu&kernels=${kernels}`);
      await page.waitForFunction(() => document.body.dataset.ready && document.body.dataset.pending === '0', null, { timeout: 900_000 });
      if ((await page.evaluate(() => document.body.dataset.ready)) !== 'true') throw new Error(`the page did not start: ${await page.textContent('#error')}`);
      const firstImagesMs = Date.now() - t0;
      const { times, replayed } = (await page.evaluate(`(${DRAWS})(${Number(values.draws)})`)) as { times: number[]; replayed: number };
      console.log(JSON.stringify({ family: values.family, kernels, firstImagesMs, drawMedianMs: +median(times.slice(1)).toFixed(1), firstDrawMs: +times[0].toFixed(1), replayed }));
      await page.close();
    }
  }
} finally {
  await browser.close();
  await server.close();
  rmSync(work, { recursive: true, force: true });
}
