import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { GantryError, describeError } from '../errors.ts';
import { ioChunkBytes } from './atomic.ts';

/** Reading parts of a file without reading it whole; every failure one error naming `what`. */

/** Runs read with the file open (and its length), closing it after. */
export function withFile<T>(path: string, what: string, read: (fd: number, length: number) => T): T {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    throw new GantryError(`cannot read ${what}: ${describeError(err)}`);
  }
  try {
    return read(fd, fstatSync(fd).size);
  } finally {
    closeSync(fd);
  }
}

/** Fills `into` from the file at `position`, in chunks of at most ioChunkBytes; a file that ends first is truncated. */
export function readFully(fd: number, into: Uint8Array, position: number, what: string): void {
  for (let done = 0; done < into.length;) {
    let n: number;
    try {
      n = readSync(fd, into, done, Math.min(ioChunkBytes(), into.length - done), position + done);
    } catch (err) {
      throw new GantryError(`cannot read ${what}: ${describeError(err)}`);
    }
    if (n === 0) throw new GantryError(`${what} is truncated or corrupt (it ended while being read)`);
    done += n;
  }
}
