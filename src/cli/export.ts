import { basename } from 'node:path';
import { initEngine } from '../engine/index.ts';
import { GantryError, shellWord } from '../errors.ts';
import { exportPretrained, exportRun } from '../export/export-run.ts';
import { parseCommandArgs } from './args.ts';
import { PRETRAINED_FLAGS, PRETRAINED_HELP, pretrainedSource } from './pretrained-args.ts';
import { SYNOPSIS } from './synopsis.ts';

export const EXPORT_HELP = `${SYNOPSIS.EXPORT}
gantry export --weights latest_net_G.pth --label-nc 35 [--height 512 --width 1024] [--labels MAP.png|DIR [--instances ...]] [--features F.npy] [--encoder E.pth] [--label-feat] --out DIR
  Writes the run's generator as a static web folder: model.json (what the page builds the model from),
  weights.safetensors (only the networks that draw images, at the latest checkpoint) and an explorer page
  (index.html, explorer.css, explorer.js, and draw-worker.js: gantry's networks and tfjs, bundled, drawing
  in a worker so the page never waits). Serve DIR with any static
  server, e.g. \`python3 -m http.server -d DIR\`, and open it: the images are drawn in the page (WebGPU,
  else WebGL, else the CPU), no gantry process needed. pix2pixhd runs get a label-map painter.
  In your own page: import { loadGenerator } from 'gantry/web'; await loadGenerator('DIR/').
  --no-page   only model.json and weights.safetensors (for loadGenerator in your own page)
  An earlier export in DIR is replaced; a folder of other files is refused.
${PRETRAINED_HELP}`;

export async function exportCommand(argv: string[]): Promise<void> {
  const { values } = parseCommandArgs('export', argv, { run: { type: 'string' }, out: { type: 'string' }, 'no-page': { type: 'boolean' }, ...PRETRAINED_FLAGS });
  const pretrained = pretrainedSource(values);
  if (!values.out) throw new GantryError('--out DIR is required (the folder to write the site into, e.g. --out site)');
  await initEngine({ device: 'cpu' });
  const options = { page: !values['no-page'] };
  const result = pretrained ? await exportPretrained(pretrained, values.out, options) : await exportRun(values.run!, values.out, options);
  const total = result.files.reduce((a, f) => a + f.bytes, 0);
  const size = (bytes: number) => (bytes >= 1 << 20 ? `${(bytes / (1 << 20)).toFixed(1)} MB` : `${Math.ceil(bytes / 1024)} kB`);
  process.stdout.write(`${result.out}/ (${pretrained ? basename(pretrained.source.weights) : `step ${result.step}`}): ${result.files.map((f) => `${f.name} ${size(f.bytes)}`).join(', ')}; ${size(total)} in all\n`);
  if (!values['no-page']) process.stdout.write(`serve it with e.g. \`python3 -m http.server -d ${shellWord(result.out)}\` and open http://localhost:8000/\n`);
}
