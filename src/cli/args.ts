import { parseArgs, type ParseArgsConfig } from 'node:util';
import { GantryError, describeError, didYouMean } from '../errors.ts';

type Options = NonNullable<ParseArgsConfig['options']>;

/** What parseArgs gives for these options (named, so the declaration files can spell it). */
export type ParsedArgs<T extends Options> = ReturnType<typeof parseArgs<{ args: string[]; options: T; allowPositionals: boolean; strict: true }>>;

/** "--n -1" as "--n=-1": parseArgs reads a value that starts with a dash as a flag of its own. */
function joinNegativeValues(argv: string[], options: Options): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const name = argv[i].startsWith('--') ? argv[i].slice(2) : null;
    if (name && options[name]?.type === 'string' && /^-[\d.]/.test(argv[i + 1] ?? '')) out.push(`${argv[i]}=${argv[++i]}`);
    else out.push(argv[i]);
  }
  return out;
}

/** node's parseArgs with gantry's error style: unknown or malformed flags name the fix (the CLI prefixes the command). */
export function parseCommandArgs<T extends Options>(command: string, argv: string[], options: T, allowPositionals = false): ParsedArgs<T> {
  try {
    return parseArgs({ args: joinNegativeValues(argv, options), options, allowPositionals, strict: true as const });
  } catch (err) {
    const see = `see \`gantry ${command} --help\``;
    // Node's own line for an unknown flag goes on about positional arguments; name the flag meant instead.
    const unknown = /^Unknown option '(-{1,2})([^']*)'/.exec(describeError(err));
    if (unknown) {
      const [, dashes, name] = unknown;
      throw new GantryError(`unknown flag ${dashes}${name}${dashes === '--' ? didYouMean(name, Object.keys(options), (o) => `--${o}`) : ''}; ${see}`);
    }
    throw new GantryError(`${describeError(err).replace(/^TypeError \[[A-Z_]+\]: /, '').replace(/\s*\n\s*/g, ' ')}; ${see}`);
  }
}

export function intArg(name: string, value: string | undefined, min = 0): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new GantryError(`--${name} must be a whole number >= ${min}, got "${value}"`);
  return n;
}

export function numberArg(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n)) throw new GantryError(`--${name} must be a number, got "${value}"`);
  return n;
}

/**
 * Refuses the given flags among `flags` (names without dashes) that `mode` does not read: ignored, they
 * would leave a result that reads as if they had been applied.
 */
export function refuseFlags(command: string, values: Record<string, unknown>, flags: readonly string[], mode: string): void {
  const stray = flags.filter((f) => values[f] !== undefined).map((f) => `--${f}`);
  if (stray.length) throw new GantryError(`${stray.join(', ')} ${stray.length > 1 ? 'do' : 'does'} not go with ${mode}; see \`gantry ${command} --help\``);
}
