import { accessSync, constants, existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, extname, resolve } from 'node:path';
import { GantryError } from '../errors.ts';
import { removeAbandonedTempFiles, removeAbandonedTempsOf } from '../io/atomic.ts';

/**
 * Exit status of a command a signal stopped before it finished (after a checkpoint): 128 + the signal's
 * number, as shells report it, so scripts can tell.
 */
export function stoppedStatus(reason: 'SIGINT' | 'SIGTERM' | 'abort'): number {
  return reason === 'SIGTERM' ? 143 : 130;
}

/** The most images one grid PNG holds; more are written as a folder of PNGs (sample --out DIR). */
export const MAX_GRID = 1024;

/** Whether --out names a folder rather than a .png file: an existing folder, or a path with no extension. */
export function isFolderOut(path: string): boolean {
  return (existsSync(path) && statSync(path).isDirectory()) || extname(path) === '';
}

/**
 * Checks an image --out before any work is done: a .png name, in a folder that exists and this user
 * may write. One line naming the path and the fix otherwise.
 */
export function checkPngOut(path: string): void {
  checkFileOut(path, '.png', 'PNG images');
}

/** checkPngOut for a file of another kind: `ext` its ending, `what` what gantry writes there. */
export function checkFileOut(path: string, ext: string, what: string): void {
  if (existsSync(path) && statSync(path).isDirectory()) throw new GantryError(`--out ${path} is a folder; give a file name ending in ${ext}`);
  if (extname(path).toLowerCase() !== ext) throw new GantryError(`--out ${path}: gantry writes ${what}; name the file ${ext}`);
  const folder = dirname(resolve(path));
  if (!existsSync(folder)) throw new GantryError(`--out ${path}: the folder ${dirname(path)} does not exist; create it first or choose another path`);
  if (!statSync(folder).isDirectory()) throw new GantryError(`--out ${path}: ${dirname(path)} is a file, not a folder`);
  try {
    accessSync(folder, constants.W_OK);
  } catch {
    throw new GantryError(`--out ${path}: the folder ${dirname(path)} is not writable by this user; choose another path`);
  }
  removeAbandonedTempsOf(path); // an earlier command's, killed while writing this file
}

/** Makes (or checks) a folder --out that a command writes `what` into: one line naming the path and the fix otherwise. */
export function prepareOutFolder(path: string, what: string): void {
  if (existsSync(path) && !statSync(path).isDirectory()) throw new GantryError(`--out ${path} is a file; give a folder to write ${what} into`);
  try {
    mkdirSync(path, { recursive: true });
    accessSync(path, constants.W_OK);
  } catch (err) {
    throw new GantryError(`--out ${path}: cannot write ${what} into this folder (${(err as NodeJS.ErrnoException).code ?? String(err)}); choose another folder`);
  }
}

/** prepareOutFolder for one PNG per image, without the half-written PNGs of an earlier command killed while writing there. */
export function prepareImageFolder(path: string): void {
  prepareOutFolder(path, 'images');
  removeAbandonedTempFiles(path, (name) => /\.png\.tmp-(\d+)$/.exec(name)?.[1]);
}
