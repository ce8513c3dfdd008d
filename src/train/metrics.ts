import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { appendToFile, writeFileAtomicFrom } from '../io/atomic.ts';

export const METRICS_FILE = 'metrics.jsonl';

/** Columns of metrics.jsonl that describe the step rather than the model: the others are losses (loss*) and scores. */
export const BOOKKEEPING_COLUMNS = new Set(['step', 'imagesPerSec', 'seconds']);

export interface MetricsRow {
  step: number;
  [key: string]: number;
}

/** Bytes metrics.jsonl is read in: a long run's file (hundreds of megabytes) is never held whole. */
const READ_BYTES = 1 << 20;

/**
 * Calls `onLine` with each whole line of the file from byte `from` on, reading a chunk at a time, and
 * returns the offset just past the last newline (a line still being written is left for the next read)
 * and whether the file's end was reached: reading stops at the first chunk boundary past `budget` bytes.
 * A line longer than a chunk is no metrics row (a corrupt file): it is skipped rather than gathered.
 * Each line is a view of a buffer that is not read into again, so it may be kept.
 */
function forEachLine(path: string, from: number, onLine: (line: Buffer) => void, budget = Infinity): { consumed: number; end: boolean } {
  const fd = openSync(path, 'r');
  let pending: Buffer = Buffer.alloc(0); // the start of a line whose newline is not read yet
  let skipping = false;
  let position = from;
  let consumed = from;
  let end = false;
  try {
    // Past the budget, reading goes on only until a line ends, so that a poll always moves on.
    while (position - from < budget || consumed === from) {
      const chunk = Buffer.allocUnsafe(READ_BYTES);
      const n = readSync(fd, chunk, 0, chunk.length, position);
      if (n === 0) {
        end = true;
        break;
      }
      position += n;
      const data = pending.length ? Buffer.concat([pending, chunk.subarray(0, n)]) : chunk.subarray(0, n);
      let start = 0;
      for (let newline = data.indexOf(0x0a); newline >= 0; newline = data.indexOf(0x0a, start)) {
        if (!skipping) onLine(data.subarray(start, newline));
        skipping = false;
        start = newline + 1;
      }
      consumed = position - (data.length - start);
      pending = data.subarray(start);
      if (pending.length > READ_BYTES) {
        skipping = true;
        pending = Buffer.alloc(0);
      }
    }
  } finally {
    closeSync(fd);
  }
  return { consumed, end };
}

/** A line of metrics.jsonl as a row, or null for a torn or foreign line (a run killed mid-write). */
function parseRow(line: Buffer): MetricsRow | null {
  if (!line.length) return null;
  try {
    const row = JSON.parse(line.toString('utf8'));
    return row && typeof row === 'object' && typeof row.step === 'number' ? row : null;
  } catch {
    return null;
  }
}

/** Calls `onRow` with each row of a run's metrics.jsonl, in order, holding only a chunk of the file at a time. */
export function forEachMetricsRow(runDir: string, onRow: (row: MetricsRow) => void): void {
  const path = join(runDir, METRICS_FILE);
  if (!statSync(path, { throwIfNoEntry: false })) return;
  forEachLine(path, 0, (line) => {
    const row = parseRow(line);
    if (row) onRow(row);
  });
}

/**
 * The seconds a run has trained, over all its sessions: each session's rows count `seconds` from its own
 * start, so a row with fewer seconds than the one before it begins the next session (a resume).
 */
export function trainingSeconds(runDir: string): number {
  let before = 0;
  let last = 0;
  forEachMetricsRow(runDir, (row) => {
    if (typeof row.seconds !== 'number') return;
    if (row.seconds < last) before += last;
    last = row.seconds;
  });
  return before + last;
}

/** Every row of metrics.jsonl, in memory (a finished run's rows for a test or a script; a run's own code streams them). */
export function readMetrics(runDir: string): MetricsRow[] {
  const rows: MetricsRow[] = [];
  forEachMetricsRow(runDir, (row) => rows.push(row));
  return rows;
}

/** What follows metrics.jsonl: its rows as they come, and a new start when the file is written anew. */
export interface MetricsSink {
  /** Forget the rows given so far: the file was written anew (a resume dropped the rows past its checkpoint). */
  restart(): void;
  add(row: MetricsRow): void;
}

/**
 * metrics.jsonl of a run that may be training, read as it grows: each `poll()` hands the sink only the
 * rows appended since the last (a line still being written waits for its newline). A file written
 * anew is read again from its start, after `restart()`. A poll given a byte budget leaves the rest of a
 * long file for the next, so a reader that serves requests can read a long run's file between them.
 */
export class MetricsFollower {
  private readonly path: string;
  private offset = 0;
  private inode = -1;
  private size = 0;

  constructor(runDir: string, private readonly sink: MetricsSink) {
    this.path = join(runDir, METRICS_FILE);
  }

  /** Bytes of the file read so far, and its size at the last poll. */
  get read(): { bytes: number; of: number } {
    return { bytes: this.offset, of: this.size };
  }

  /** Reads the new rows, at most about `budget` bytes of them; true when the file was read to its end. */
  poll(budget = Infinity): boolean {
    const stat = statSync(this.path, { throwIfNoEntry: false });
    if (!stat || stat.ino !== this.inode || stat.size < this.offset) {
      if (this.offset > 0 || this.inode !== -1) this.sink.restart();
      this.offset = 0;
      this.inode = stat?.ino ?? -1;
    }
    this.size = stat?.size ?? 0;
    if (!stat || stat.size === this.offset) return true;
    const { consumed, end } = forEachLine(this.path, this.offset, (line) => {
      const row = parseRow(line);
      if (row) this.sink.add(row);
    }, budget);
    this.offset = consumed;
    return end;
  }
}

/**
 * Drops rows past the step a resumed run restarts from (those steps will be trained again), and torn or
 * foreign lines; -1 empties the file. The file is streamed into its replacement, never held whole;
 * `onKept` sees each row kept, in order.
 */
export function truncateMetrics(runDir: string, lastStep: number, onKept?: (row: MetricsRow) => void): void {
  const path = join(runDir, METRICS_FILE);
  const exists = statSync(path, { throwIfNoEntry: false }) !== undefined;
  const newline = Buffer.from('\n');
  writeFileAtomicFrom(path, (write) => {
    if (!exists || lastStep < 0) return;
    let kept: Buffer[] = [];
    let bytes = 0;
    forEachLine(path, 0, (line) => {
      const row = parseRow(line);
      if (!row || row.step > lastStep) return;
      onKept?.(row);
      kept.push(line, newline);
      bytes += line.length + 1;
      if (bytes >= READ_BYTES) {
        write(Buffer.concat(kept));
        kept = [];
        bytes = 0;
      }
    });
    write(Buffer.concat(kept));
  });
}

export function appendMetrics(runDir: string, row: MetricsRow): void {
  appendToFile(join(runDir, METRICS_FILE), JSON.stringify(row) + '\n');
}
