import { initEngine, type Device } from '../engine/index.ts';
import { GantryError } from '../errors.ts';
import { startStudio } from '../studio/server.ts';
import { openRun } from '../train/run.ts';
import { intArg, parseCommandArgs } from './args.ts';

export const STUDIO_HELP = `gantry studio --run RUN_DIR [--port 7860] [--host 127.0.0.1] [--device cpu|webgpu]
  Serves a page for exploring a trained generator: sliders over its latent vector, interpolation between
  seeds (and between typed captions), latent arithmetic, and the class or caption every image is drawn
  with. The generator runs in this process; open the printed address in a browser. Ctrl-C stops it.`;

export async function studioCommand(argv: string[]): Promise<void> {
  const { values } = parseCommandArgs('studio', argv, {
    run: { type: 'string' }, port: { type: 'string' }, host: { type: 'string' }, device: { type: 'string' },
  });
  if (!values.run) throw new GantryError('--run RUN_DIR is required (the --out folder of a gantry train)');
  const port = intArg('port', values.port) ?? 7860;
  if (port > 65535) throw new GantryError(`--port must be at most 65535, got ${port}`);
  await initEngine({ device: (values.device ?? 'cpu') as Device });
  const run = openRun(values.run);
  if (!run.model.generate) {
    run.model.dispose();
    throw new GantryError(`a ${run.config.family} run does not generate images; the studio explores generators`);
  }
  if (run.info.conditioning.kind === 'labelMap') {
    run.model.dispose();
    throw new GantryError(`the studio cannot paint label maps yet; turn maps into images with \`gantry translate --run ${values.run} --labels MAP.png\``);
  }
  const host = values.host ?? '127.0.0.1';
  const studio = await startStudio(run, values.run, port, host);
  if (!/^(127\.\d+\.\d+\.\d+|localhost|::1|\[::1\])$/.test(host)) {
    process.stderr.write(`warning: the studio listens on ${host}, not only this machine: anyone who can reach it on the network can use it (it has no login)\n`);
  }
  process.stdout.write(`gantry studio: ${run.config.family} run ${values.run} at ${studio.url}\n`);
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await studio.close();
  run.model.dispose();
}
