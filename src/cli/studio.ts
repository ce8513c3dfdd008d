import { initEngine } from '../engine/index.ts';
import { GantryError } from '../errors.ts';
import { startStudio } from '../studio/server.ts';
import { readRunConfig } from '../train/run.ts';
import { intArg, parseCommandArgs } from './args.ts';
import { PRETRAINED_FLAGS, PRETRAINED_HELP, pretrainedSource } from './pretrained-args.ts';
import { SYNOPSIS } from './synopsis.ts';

export const STUDIO_HELP = `${SYNOPSIS.STUDIO}
gantry studio --weights latest_net_G.pth --label-nc 35 [--height 512 --width 1024] [--labels MAP.png|DIR [--instances ...]] [--features F.npy] [--encoder E.pth] [--label-feat]
  Serves the explorer page of \`gantry export\` for a run, with its newest checkpoint: open the printed
  address in a browser. The images are drawn in the page (WebGPU, else WebGL, else the CPU); the page
  reloads itself when the run writes a newer checkpoint, so it can watch a run that is training: its
  Training panel shows the step, the images a second and time left, the newest losses and scores, the
  plots and the sample grids, read from the run folder every 5 s (start it beside gantry train).
  Generators with latent vectors get a grid of seeds, sliders over the vector (undo, reset), truncation,
  the class or caption, interpolation and arithmetic; pix2pixhd runs a label-map painter with their
  learned styles. To put the page on a static host instead: gantry export --run RUN_DIR --out DIR.
  Ctrl-C stops it.
${PRETRAINED_HELP}`;

export async function studioCommand(argv: string[]): Promise<void> {
  const { values } = parseCommandArgs('studio', argv, { run: { type: 'string' }, port: { type: 'string' }, host: { type: 'string' }, ...PRETRAINED_FLAGS });
  const pretrained = pretrainedSource(values);
  const port = intArg('port', values.port) ?? 7860;
  if (port > 65535) throw new GantryError(`--port must be at most 65535, got ${port}`);
  const what = pretrained ? `pix2pixhd generator ${pretrained.source.weights}` : `${readRunConfig(values.run!).family} run ${values.run}`;
  // Node reads the checkpoints; the page draws.
  await initEngine({ device: 'cpu', log: () => {} });
  const host = values.host ?? '127.0.0.1';
  const studio = await startStudio(pretrained ?? values.run!, port, host);
  if (!/^(127\.\d+\.\d+\.\d+|localhost|::1|\[::1\])$/.test(host)) {
    process.stderr.write(`warning: the studio listens on ${host}, not only this machine: anyone who can reach it on the network can use it (it has no login)\n`);
  }
  process.stdout.write(`gantry studio: ${what} at ${studio.url}\n`);
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await studio.close();
}
