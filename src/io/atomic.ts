import { appendFileSync, closeSync, existsSync, fsyncSync, openSync, readdirSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { writeFailure } from '../errors.ts';

/**
 * Writes a file so that readers see either the old or the new content, never a part: write a
 * temporary file beside it, flush it to disk, rename it over the target. A full or read-only disk is a
 * WriteError naming the file; the old content stays.
 */
export function writeFileAtomic(path: string, data: Uint8Array | string): void {
  writeFileAtomicFrom(path, (write) => write(typeof data === 'string' ? Buffer.from(data) : data));
}

/** The most bytes one read or write call is asked for: Node takes at most 2 GiB at once. */
let chunkBytes = 2 ** 30;

export function ioChunkBytes(): number {
  return chunkBytes;
}

/** Sets ioChunkBytes; returns the previous value (tests: files of many chunks without gigabytes). */
export function setIoChunkBytes(bytes: number): number {
  const previous = chunkBytes;
  chunkBytes = bytes;
  return previous;
}

/** writeFileAtomic for content made a piece at a time: `fill` hands each piece to `write`, in order. */
export function writeFileAtomicFrom(path: string, fill: (write: (bytes: Uint8Array) => void) => void): void {
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    const fd = openSync(tmp, 'w');
    try {
      fill((bytes) => {
        for (let off = 0; off < bytes.length;) off += writeSync(fd, bytes, off, Math.min(chunkBytes, bytes.length - off));
      });
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw writeFailure(path, err);
  }
}

/**
 * Appends text to a file (a log of lines: metrics, config history). A full or read-only disk is a
 * WriteError naming the file; a part of the text may have been written, so readers skip a torn line.
 */
export function appendToFile(path: string, text: string): void {
  try {
    appendFileSync(path, text);
  } catch (err) {
    throw writeFailure(path, err);
  }
}

/** Whether a process of this machine runs (signal 0 checks without sending anything). */
export function processRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** What an atomic write of `path` killed mid-write left beside it (`path.tmp-PID`), if its process is gone. */
export function removeAbandonedTempsOf(path: string): void {
  const prefix = `${basename(path)}.tmp-`;
  removeAbandonedTempFiles(dirname(path), (name) => (name.startsWith(prefix) ? name.slice(prefix.length) : undefined));
}

/**
 * Removes the temporary files in dir of processes that are gone (killed while writing): by default
 * atomic writes' `x.tmp-PID`; `pidIn` gives the PID in another kind's name (folders are removed whole).
 */
export function removeAbandonedTempFiles(dir: string, pidIn: (name: string) => string | undefined = (name) => /\.tmp-(\d+)$/.exec(name)?.[1]): void {
  for (const f of readdirSync(dir)) {
    const pid = pidIn(f);
    if (pid && /^\d+$/.test(pid) && Number(pid) !== process.pid && !processRunning(Number(pid))) rmSync(join(dir, f), { recursive: true, force: true });
  }
}

/**
 * The deepest part of `path` that exists (the path itself, or the folder a new one would be made in),
 * so that a caller can tell a file in the way from a folder it may write.
 */
export function nearestExisting(path: string): string {
  let existing = resolve(path);
  while (!existsSync(existing)) existing = dirname(existing);
  return existing;
}
