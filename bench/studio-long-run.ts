// The studio on a long run: a small DCGAN run folder whose metrics.jsonl is made --rows rows long (5
// million: 590 MB, a run logged every step for 5 million steps), served by startStudio and asked for
// progress.json every 100 ms until it has read the file. Prints when the first answer came, the slowest
// answer, the longest pause of the event loop, and when all of it was read.
//   node --import tsx bench/studio-long-run.ts [--rows 5000000] [--keep DIR]
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { initEngine } from '../src/engine/index.ts';
import { startStudio } from '../src/studio/server.ts';
import { METRICS_FILE } from '../src/train/metrics.ts';
import { validateRunConfig } from '../src/train/run-config.ts';
import { train } from '../src/train/trainer.ts';
import type { TrainingProgress } from '../src/web/training-progress.ts';

const { values } = parseArgs({ options: { rows: { type: 'string', default: '5000000' }, keep: { type: 'string' } } });
const rows = Number(values.rows);
await initEngine({ device: 'cpu', log: () => {} });
const dir = values.keep ?? mkdtempSync(join(tmpdir(), 'gantry-studio-'));
try {
  const steps = 4;
  await train({ outDir: join(dir, 'run'), quiet: true, config: validateRunConfig({ family: 'dcgan', seed: 1, data: 'shapes:40', model: { ngf: 4, ndf: 4, nz: 6 }, train: { steps, batch: 4, samples: 4 } }, 'bench') });
  const fd = openSync(join(dir, 'run', METRICS_FILE), 'w');
  for (let start = 0; start < rows; start += 10_000) {
    const lines: string[] = [];
    for (let i = start; i < Math.min(rows, start + 10_000); i++) {
      lines.push(JSON.stringify({ step: Math.floor(((i + 1) * steps) / rows), lossD: 0.5 + 0.3 * Math.sin(i / 1000), lossG: 2 + Math.cos(i / 77), imagesPerSec: 400, seconds: i / 100 }) + '\n');
    }
    writeSync(fd, lines.join(''));
  }
  closeSync(fd);

  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  const t0 = performance.now();
  const studio = await startStudio(join(dir, 'run'), 0);
  const since = () => `${((performance.now() - t0) / 1000).toFixed(2)} s`;
  console.log(`${rows.toLocaleString('en')} rows; listening after ${since()}`);
  let p: TrainingProgress;
  let answers = 0;
  let slowest = 0;
  do {
    const asked = performance.now();
    p = await (await fetch(studio.url + 'progress.json')).json();
    slowest = Math.max(slowest, performance.now() - asked);
    if (answers++ === 0) console.log(`first answer after ${since()}: ${p.rows.toLocaleString('en')} rows read (${((p.reading ?? 1) * 100).toFixed(1)}%)`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  } while (p.reading !== null);
  console.log(`all ${p.rows.toLocaleString('en')} rows read after ${since()}; ${answers} answers, the slowest ${(slowest / 1000).toFixed(2)} s; the event loop's longest pause ${(delay.max / 1e9).toFixed(2)} s`);
  await studio.close();
} finally {
  if (!values.keep) rmSync(dir, { recursive: true, force: true });
}
