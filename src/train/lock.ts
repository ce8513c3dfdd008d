import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { GantryError, writeFailure } from '../errors.ts';
import { processRunning } from '../io/atomic.ts';

/**
 * One writer per run folder: `gantry train` holds `DIR/lock` (its PID, host and start time) from before
 * it writes anything until it stops. Readers (sample, eval, the studio) never take it. A lock left by a
 * process that no longer runs (kill -9, a crash, a reboot) is taken over with a message.
 */
export const LOCK_FILE = 'lock';

export interface LockHolder {
  pid: number;
  host: string;
  started: string;
}

function readHolder(path: string): LockHolder | null {
  try {
    const h = JSON.parse(readFileSync(path, 'utf8'));
    return Number.isInteger(h.pid) && typeof h.host === 'string' ? h : null;
  } catch {
    return null; // gone since, or cut short by a kill while it was written
  }
}

/**
 * Who trains the run now: the lock's holder if it runs (one on another host is taken at its word), null
 * when none does. For readers such as the studio; it takes nothing.
 */
export function runWriter(runDir: string): LockHolder | null {
  const holder = readHolder(join(runDir, LOCK_FILE));
  return holder && (holder.host !== hostname() || processRunning(holder.pid)) ? holder : null;
}

/**
 * Takes the folder's writer lock (the folder exists); returns the function that releases it. A live
 * holder is one clear error; a dead one is replaced, said through `log`. `takeOver`: any holder is
 * replaced (a queue worker whose job the queue took from a worker that stopped answering).
 */
export function acquireRunLock(runDir: string, log: (line: string) => void, takeOver = false): () => void {
  const path = join(runDir, LOCK_FILE);
  const mine: LockHolder = { pid: process.pid, host: hostname(), started: new Date().toISOString() };
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      writeFileSync(path, JSON.stringify(mine) + '\n', { flag: 'wx' });
      return () => {
        if (readHolder(path)?.pid === mine.pid) rmSync(path, { force: true });
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
        rmSync(path, { force: true }); // made by this call, if at all (a full disk fails after the file is made)
        throw writeFailure(path, err);
      }
    }
    const holder = readHolder(path);
    if (holder && takeOver) {
      log(`${runDir}: taking over the lock of process ${holder.pid} on ${holder.host}: the queue gave its run to this worker`);
      rmSync(path, { force: true });
      continue;
    }
    if (holder && holder.host !== mine.host) {
      throw new GantryError(`${runDir} is locked by process ${holder.pid} on ${holder.host} (since ${holder.started}); a run folder has one writer. If that process is gone, delete ${path} and retry`);
    }
    if (holder && processRunning(holder.pid)) {
      throw new GantryError(`${runDir} is being trained by process ${holder.pid} (since ${holder.started}); a run folder has one writer: wait for it, stop it (Ctrl-C checkpoints), or choose another run folder`);
    }
    log(`${runDir}: taking over the lock of process ${holder?.pid ?? '(unknown)'}, which no longer runs`);
    rmSync(path, { force: true });
  }
  throw new GantryError(`${runDir}: could not take the run folder's lock (${path}); another gantry train is starting on it`);
}
