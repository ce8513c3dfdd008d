import { GantryError, describeError, didYouMean } from '../errors.ts';
import { SYNOPSIS } from './synopsis.ts';

type Command = (argv: string[]) => Promise<void | number>;

/**
 * Each command's module is loaded when the command runs (or its --help is asked for): `gantry --help`
 * loads none of them, nor tfjs. A command resolves to its exit status (none: 0).
 */
/** A command's help: its text, or (train) text that depends on its arguments (`gantry train dfgan --help`). */
type Help = string | ((args: string[]) => string);

const COMMANDS: Record<string, { synopsis: string; load: () => Promise<{ run: Command; help: Help }> }> = {
  train: { synopsis: SYNOPSIS.TRAIN, load: async () => import('./train.ts').then((m) => ({ run: m.trainCommand, help: m.trainHelp })) },
  sample: { synopsis: SYNOPSIS.SAMPLE, load: async () => import('./explore.ts').then((m) => ({ run: m.sampleCommand, help: m.SAMPLE_HELP })) },
  interpolate: { synopsis: SYNOPSIS.INTERPOLATE, load: async () => import('./explore.ts').then((m) => ({ run: m.interpolateCommand, help: m.INTERPOLATE_HELP })) },
  arith: { synopsis: SYNOPSIS.ARITH, load: async () => import('./explore.ts').then((m) => ({ run: m.arithCommand, help: m.ARITH_HELP })) },
  project: { synopsis: SYNOPSIS.PROJECT, load: async () => import('./project.ts').then((m) => ({ run: m.projectCommand, help: m.PROJECT_HELP })) },
  reconstruct: { synopsis: SYNOPSIS.RECONSTRUCT, load: async () => import('./explore.ts').then((m) => ({ run: m.reconstructCommand, help: m.RECONSTRUCT_HELP })) },
  translate: { synopsis: SYNOPSIS.TRANSLATE, load: async () => import('./translate.ts').then((m) => ({ run: m.translateCommand, help: m.TRANSLATE_HELP })) },
  features: { synopsis: SYNOPSIS.FEATURES, load: async () => import('./translate.ts').then((m) => ({ run: m.featuresCommand, help: m.FEATURES_HELP })) },
  eval: { synopsis: SYNOPSIS.EVAL, load: async () => import('./eval.ts').then((m) => ({ run: m.evalCommand, help: m.EVAL_HELP })) },
  compare: { synopsis: SYNOPSIS.COMPARE, load: async () => import('./compare.ts').then((m) => ({ run: m.compareCommand, help: m.COMPARE_HELP })) },
  sweep: { synopsis: SYNOPSIS.SWEEP, load: async () => import('./sweep.ts').then((m) => ({ run: m.sweepCommand, help: m.SWEEP_HELP })) },
  worker: { synopsis: SYNOPSIS.WORKER, load: async () => import('./worker.ts').then((m) => ({ run: m.workerCommand, help: m.WORKER_HELP })) },
  bench: { synopsis: SYNOPSIS.BENCH, load: async () => import('./bench.ts').then((m) => ({ run: m.benchCommand, help: m.BENCH_HELP })) },
  export: { synopsis: SYNOPSIS.EXPORT, load: async () => import('./export.ts').then((m) => ({ run: m.exportCommand, help: m.EXPORT_HELP })) },
  studio: { synopsis: SYNOPSIS.STUDIO, load: async () => import('./studio.ts').then((m) => ({ run: m.studioCommand, help: m.STUDIO_HELP })) },
};

const USAGE = `gantry — train, evaluate and explore generative image models

${Object.values(COMMANDS).map((c) => c.synopsis).join('\n')}

Run \`gantry <command> --help\` for details, \`gantry --version\` for the version and the CPU kernels in use.
Start with: gantry train dcgan --steps 500 --out runs/first`;

/**
 * `gantry --version`: the package's version, then what a bug report needs: Node, the platform, and which
 * CPU kernels run (the addon's, with its SIMD kernel and threads, or why it did not load). Loads no tfjs.
 */
async function version(): Promise<string> {
  const { readFileSync } = await import('node:fs');
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  const { loadBuiltAddon } = await import('../kernels/cpu/native-node.ts');
  let kernels: string;
  try {
    const { kernel, threads } = loadBuiltAddon().info();
    kernels = `native (${kernel}, ${threads} thread${threads === 1 ? '' : 's'})`;
  } catch (err) {
    kernels = `tfjs's pure-JS ones, slow (the native addon: ${(err as Error).message})`;
  }
  return `gantry ${pkg.version}\nnode ${process.version}, ${process.platform} ${process.arch}; CPU kernels: ${kernels}`;
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(USAGE + '\n');
    return name ? 0 : 1;
  }
  if (name === '--version' || name === '-v' || name === 'version') {
    process.stdout.write((await version()) + '\n');
    return 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    process.stderr.write(`gantry: unknown command "${name}"${didYouMean(name, Object.keys(COMMANDS))}\n\n${USAGE}\n`);
    return 2;
  }
  try {
    const { run, help } = await command.load();
    if (rest.includes('--help') || rest.includes('-h')) {
      process.stdout.write((typeof help === 'string' ? help : help(rest)) + '\n');
      return 0;
    }
    return (await run(rest)) ?? 0;
  } catch (err) {
    if (err instanceof GantryError) {
      process.stderr.write(`gantry ${name}: ${err.message}\n`);
      return 1;
    }
    process.stderr.write(`gantry ${name}: internal error: ${describeError(err)}\n${(err as Error)?.stack ?? ''}\n`);
    return 70;
  }
}
