import { existsSync, statSync } from 'node:fs';
import { GantryError } from '../errors.ts';

/** Checks that the folder a data SPEC names (`folder:DIR`, `pairs:DIR`, ...) is one: missing and file are each one line. */
export function requireDataFolder(kind: string, dir: string): void {
  if (!existsSync(dir)) throw new GantryError(`data ${kind}:${dir}: ${dir} does not exist; check the path`);
  if (!statSync(dir).isDirectory()) throw new GantryError(`data ${kind}:${dir}: ${dir} is a file, not a folder; give the folder that holds the data`);
}
