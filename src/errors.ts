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

/**
 * A file that could not be written for a reason outside gantry (a full disk, a read-only one,
 * permissions): the file, the reason and the fix, as a GantryError. `repair` says how to write the same
 * path again, for a caller whose work stays there (a run folder to resume).
 */
export class WriteError extends GantryError {
  constructor(readonly path: string, readonly reason: string, fix: string, readonly repair: string) {
    super(`cannot write ${path}: ${reason}; ${fix}`);
    this.name = 'WriteError';
  }
}

/** What to do about a system error of a write, by its code: elsewhere, or in place. Other codes are not the machine's. */
const WRITE_FIXES: Record<string, [fix: string, repair: string]> = {
  ENOSPC: ['free space on that disk, or choose a folder on another', 'free space on that disk'],
  EDQUOT: ['free space within your quota, or choose a folder on another disk', 'free space within your quota'],
  EROFS: ['choose a folder on a writable disk', 'make that disk writable'],
  EACCES: ['check the folder\'s permissions, or choose another folder', 'make the folder writable for you'],
  EPERM: ['check the folder\'s permissions, or choose another folder', 'make the folder writable for you'],
};

/** A failed write of `path` as a WriteError when the disk or its permissions are the cause; any other error as it is. */
export function writeFailure(path: string, err: unknown): unknown {
  if (err instanceof GantryError) return err;
  const fixes = WRITE_FIXES[(err as NodeJS.ErrnoException | null)?.code ?? ''];
  return fixes ? new WriteError(path, describeError(err), ...fixes) : err;
}

/** Bytes for a message: "10.9 GB", "43 MB", "12 kB". */
export function formatBytes(bytes: number): string {
  if (bytes >= 1e9) return `${(bytes / 1e9).toFixed(1)} GB`;
  return bytes >= 1e6 ? `${Math.round(bytes / 1e6)} MB` : `${Math.ceil(bytes / 1e3)} kB`;
}

/** Seconds for a message: "42s", "3m05s", "2h10m" ("--" when unknown). */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '--';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

export function describeError(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  if (code && code in SYSTEM_ERRORS && (err as NodeJS.ErrnoException).syscall) return SYSTEM_ERRORS[code];
  if (err instanceof Error) return err.message;
  return String(err);
}

/** Node's file errors in words (its own message is "ENOENT: no such file or directory, open 'x'"). */
const SYSTEM_ERRORS: Record<string, string> = {
  ENOENT: 'no such file or folder; check the path',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EISDIR: 'it is a folder, not a file',
  ENOTDIR: 'a part of the path is a file, not a folder',
  ENOSPC: 'no space left on the disk',
  EDQUOT: 'the disk quota is used up',
  EROFS: 'the file system is read-only',
};

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
  vgg16: ['--vgg16', 'vgg16'],
  lpips: ['--lpips', 'lpips'],
  segmenter: ['--segmenter', 'segmenter'],
  n: ['--n', 'n'],
  subsetSize: ['--subset-size', 'subsetSize'],
  neighborhood: ['--neighborhood', 'neighborhood'],
  coverageNeighborhood: ['--coverage-neighborhood', 'coverageNeighborhood'],
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

/**
 * A path or value as one word of a command the user may paste into a shell: as it is when the shell
 * takes it so, else in single quotes (a run folder with a space, a data spec with ? or &).
 */
export function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", "'\\''")}'`;
}

/** How to (re)learn a pix2pixhd run's instance styles, in the user's words. */
export const learnStylesHow = (dir: string) => inWords(`\`gantry features --run ${shellWord(dir)}\``, `learnStyles(${JSON.stringify(dir)})`);

/** How to continue the run in `dir` from its last checkpoint, with `changes` (config sections) if any, in the user's words. */
export function resumeAdvice(dir: string, changes?: object): string {
  if (words === 'api') return `continue with resume(${JSON.stringify(dir)}${changes ? `, ${JSON.stringify(changes)}` : ''})`;
  if (changes) return `write ${JSON.stringify(changes)} to a file and continue with \`gantry train --resume --out ${shellWord(dir)} --config FILE\``;
  return `continue with \`gantry train --resume --out ${shellWord(dir)}\``;
}

/** How to train a new run of `family` on `data` into `out`, in the user's words. */
export function trainHow(family: string, data: string, out: string): string {
  return words === 'cli' ? `\`gantry train ${family} --data ${shellWord(data)} --out ${shellWord(out)}\`` : `train(${JSON.stringify({ family, data, out })})`;
}

/** Edits (insertions, deletions, substitutions, swaps of neighbours) that turn a into b. */
function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/**
 * The known name a misspelt one most likely meant (case aside, within a third of its letters, at least
 * one edit), or undefined when none is that close.
 */
export function closestName(word: string, known: readonly string[]): string | undefined {
  const w = word.toLowerCase();
  let best: string | undefined;
  let bestDistance = Math.max(1, Math.floor(w.length / 3)) + 1;
  for (const name of known) {
    const distance = editDistance(w, name.toLowerCase());
    if (distance < bestDistance) [best, bestDistance] = [name, distance];
  }
  return best;
}

/** ` (did you mean "x"?)` for a misspelt name, or nothing; `quote` formats the suggestion. */
export function didYouMean(word: string, known: readonly string[], quote = (name: string) => `"${name}"`): string {
  const name = closestName(word, known);
  return name === undefined ? '' : ` (did you mean ${quote(name)}?)`;
}
