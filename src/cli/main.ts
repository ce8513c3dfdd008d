import { GantryError, describeError } from '../errors.ts';
import { ARITH_HELP, INTERPOLATE_HELP, RECONSTRUCT_HELP, SAMPLE_HELP, arithCommand, interpolateCommand, reconstructCommand, sampleCommand } from './explore.ts';
import { BENCH_HELP, benchCommand } from './bench.ts';
import { TRAIN_HELP, trainCommand } from './train.ts';
import { EVAL_HELP, evalCommand } from './eval.ts';
import { COMPARE_HELP, compareCommand } from './compare.ts';
import { STUDIO_HELP, studioCommand } from './studio.ts';
import { EXPORT_HELP, exportCommand } from './export.ts';
import { SWEEP_HELP, sweepCommand } from './sweep.ts';
import { FEATURES_HELP, featuresCommand, TRANSLATE_HELP, translateCommand } from './translate.ts';

/** A command resolves to its exit status (none: 0). */
const COMMANDS: Record<string, { run: (argv: string[]) => Promise<void | number>; help: string }> = {
  train: { run: trainCommand, help: TRAIN_HELP },
  sample: { run: sampleCommand, help: SAMPLE_HELP },
  interpolate: { run: interpolateCommand, help: INTERPOLATE_HELP },
  arith: { run: arithCommand, help: ARITH_HELP },
  reconstruct: { run: reconstructCommand, help: RECONSTRUCT_HELP },
  translate: { run: translateCommand, help: TRANSLATE_HELP },
  features: { run: featuresCommand, help: FEATURES_HELP },
  eval: { run: evalCommand, help: EVAL_HELP },
  compare: { run: compareCommand, help: COMPARE_HELP },
  sweep: { run: sweepCommand, help: SWEEP_HELP },
  bench: { run: benchCommand, help: BENCH_HELP },
  export: { run: exportCommand, help: EXPORT_HELP },
  studio: { run: studioCommand, help: STUDIO_HELP },
};

const USAGE = `gantry — train, evaluate and explore generative image models

${Object.values(COMMANDS).map((c) => c.help.split('\n')[0]).join('\n')}

Run \`gantry <command> --help\` for details. Start with: gantry train dcgan --steps 500 --out runs/first`;

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(USAGE + '\n');
    return name ? 0 : 1;
  }
  const command = COMMANDS[name];
  if (!command) {
    process.stderr.write(`gantry: unknown command "${name}"\n\n${USAGE}\n`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(command.help + '\n');
    return 0;
  }
  try {
    return (await command.run(rest)) ?? 0;
  } catch (err) {
    if (err instanceof GantryError) {
      process.stderr.write(`gantry ${name}: ${err.message}\n`);
      return 1;
    }
    process.stderr.write(`gantry ${name}: internal error: ${describeError(err)}\n${(err as Error)?.stack ?? ''}\n`);
    return 70;
  }
}
