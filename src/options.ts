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
