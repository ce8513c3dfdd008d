/**
 * An error meant for the user: the CLI prints its message as one line, with no stack trace.
 * The message names the thing that is wrong and the fix.
 */
export class GantryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GantryError';
  }
}

export function describeError(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

/**
 * The words a message names the user's inputs in: the CLI's flags, or the Node API's options in a
 * program that imports gantry (src/api/index.ts switches them when it loads; a process is one or the
 * other). Messages name a value neutrally where they can ("the run folder runs/a is a file"); these are
 * for the fixes that must name where the value goes.
 */
let words: 'cli' | 'api' = 'cli';

export function useApiWords(): void {
  words = 'api';
}

const INPUT_NAMES = {
  device: ['--device', 'device'],
  initFrom: ['--init-from', 'initFrom'],
  instances: ['--instances', "readLabelMaps' instanceFiles"],
  vggWeights: ['--vgg-weights', 'model.vggWeights'],
  weights: ['--weights', 'weights'],
  featureDim: ['--feature-dim', 'featureDim'],
  classifier: ['--features', 'classifier'],
  segmenter: ['--segmenter', 'segmenter'],
} as const;

export type InputName = keyof typeof INPUT_NAMES;

/** An input as the user gives it: `--init-from runs/a` on the command line, `initFrom: "runs/a"` in the API. */
export function given(name: InputName, value?: string | number): string {
  const [flag, option] = INPUT_NAMES[name];
  if (words === 'cli') return value === undefined ? flag : `${flag} ${value}`;
  return value === undefined ? option : `${option}: ${JSON.stringify(value)}`;
}

/** The CLI's or the API's form of one piece of advice, as the user speaks. */
export function inWords(cli: string, api: string): string {
  return words === 'cli' ? cli : api;
}

/** How to (re)learn a pix2pixhd run's instance styles, in the user's words. */
export const learnStylesHow = (dir: string) => inWords(`\`gantry features --run ${dir}\``, `learnStyles(${JSON.stringify(dir)})`);

/** How to continue the run in `dir` from its last checkpoint, with `changes` (config sections) if any, in the user's words. */
export function resumeAdvice(dir: string, changes?: object): string {
  if (words === 'api') return `continue with resume(${JSON.stringify(dir)}${changes ? `, ${JSON.stringify(changes)}` : ''})`;
  if (changes) return `write ${JSON.stringify(changes)} to a file and continue with \`gantry train --resume --out ${dir} --config FILE\``;
  return `continue with \`gantry train --resume --out ${dir}\``;
}

/** How to train a new run of `family` on `data` into `out`, in the user's words. */
export function trainHow(family: string, data: string, out: string): string {
  return words === 'cli' ? `\`gantry train ${family} --data ${data} --out ${out}\`` : `train(${JSON.stringify({ family, data, out })})`;
}
