import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { acquireRunLock, LOCK_FILE, runWriter } from '../../src/train/lock.ts';
import { tempDir } from '../helpers.ts';

/** A PID that ran and has exited (what a lock left by kill -9 names). */
function exitedPid(): number {
  const r = spawnSync(process.execPath, ['-e', '']);
  return r.pid!;
}

function holding(dir: string, holder: object | string): string {
  const path = join(dir, LOCK_FILE);
  writeFileSync(path, typeof holder === 'string' ? holder : JSON.stringify(holder));
  return path;
}

test('a run folder has one writer: the lock names this process, refuses a second writer, and is gone once released', () => {
  const dir = tempDir();
  const lines: string[] = [];
  const release = acquireRunLock(dir, (l) => lines.push(l));
  const held = JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8'));
  assert.deepEqual([held.pid, held.host], [process.pid, hostname()]);
  assert.deepEqual(runWriter(dir), held);
  assert.throws(() => acquireRunLock(dir, () => {}), { name: 'GantryError', message: new RegExp(`^${dir} is being trained by process ${process.pid} \\(since .*\\); a run folder has one writer: wait for it, stop it \\(Ctrl-C checkpoints\\), or choose another run folder$`) });
  release();
  assert.equal(existsSync(join(dir, LOCK_FILE)), false);
  assert.equal(runWriter(dir), null);
  assert.deepEqual(lines, []);
});

test('a lock left by a process that no longer runs, or cut short as it was written, is taken over with a line saying so', () => {
  const dir = tempDir();
  const dead = exitedPid();
  holding(dir, { pid: dead, host: hostname(), started: '2026-12-01T00:00:00.000Z' });
  assert.equal(runWriter(dir), null, 'a dead holder trains nothing');
  const lines: string[] = [];
  acquireRunLock(dir, (l) => lines.push(l))();
  assert.deepEqual(lines, [`${dir}: taking over the lock of process ${dead}, which no longer runs`]);

  holding(dir, '{"pid": 12');
  lines.length = 0;
  acquireRunLock(dir, (l) => lines.push(l))();
  assert.deepEqual(lines, [`${dir}: taking over the lock of process (unknown), which no longer runs`]);
});

test('a lock held on another host (a shared folder) is taken at its word: refused with the way out, unless a queue gave this worker the run', () => {
  const dir = tempDir();
  const other = { pid: exitedPid(), host: `not-${hostname()}`, started: '2026-12-01T00:00:00.000Z' };
  const path = holding(dir, other);
  assert.deepEqual(runWriter(dir), other, 'its PID means nothing here');
  assert.throws(() => acquireRunLock(dir, () => {}), {
    name: 'GantryError',
    message: `${dir} is locked by process ${other.pid} on ${other.host} (since ${other.started}); a run folder has one writer. If that process is gone, delete ${path} and retry`,
  });
  assert.deepEqual(JSON.parse(readFileSync(path, 'utf8')), other, 'a refusal leaves the lock as it was');

  const lines: string[] = [];
  const release = acquireRunLock(dir, (l) => lines.push(l), true);
  assert.deepEqual(lines, [`${dir}: taking over the lock of process ${other.pid} on ${other.host}: the queue gave its run to this worker`]);
  assert.equal(JSON.parse(readFileSync(path, 'utf8')).pid, process.pid);
  // Released by a worker whose lock was taken from it in turn, it leaves the new holder's.
  holding(dir, other);
  release();
  assert.deepEqual(JSON.parse(readFileSync(path, 'utf8')), other);
});
