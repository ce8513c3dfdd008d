import { GantryError, didYouMean } from './errors.ts';

/**
 * Unknown options are one line each: plain JavaScript callers have no compiler to catch a misspelt key,
 * which would otherwise be ignored. `hint` may say where a key belongs instead.
 */
export function checkKeys(request: unknown, known: readonly string[], call: string, hint?: (key: string) => string | undefined): void {
  if (request === undefined) return;
  if (typeof request !== 'object' || request === null || Array.isArray(request)) throw new GantryError(`${call} takes an options object`);
  for (const key of Object.keys(request)) {
    if (known.includes(key)) continue;
    throw new GantryError(`${call}: unknown option "${key}"${hint?.(key) ?? `${didYouMean(key, known)}; known: ${known.join(', ')}`}`);
  }
}

/** The keys of an options type, listed once: the compiler names any key left out or not in the type. */
export function optionKeys<T>(keys: Record<keyof T, true>): string[] {
  return Object.keys(keys);
}

/**
 * A path argument a plain JavaScript caller may leave out or give as another type: one line naming it
 * (`what`, e.g. 'the run folder as out'), with an example call.
 */
export function checkPath(value: unknown, call: string, what: string, example: string): asserts value is string {
  if (typeof value !== 'string' || !value) throw new GantryError(`${call}: give ${what}, e.g. ${example}`);
}

/** An optional `signal` option: an AbortSignal or nothing, else one line naming how to make one. */
export function checkSignal(signal: unknown, call: string): asserts signal is AbortSignal | undefined {
  if (signal !== undefined && !(signal instanceof AbortSignal)) throw new GantryError(`${call}: signal must be an AbortSignal (an AbortController's .signal), got ${typeof signal}`);
}
