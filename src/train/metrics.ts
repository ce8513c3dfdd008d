import { appendFileSync, closeSync, existsSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../io/atomic.ts';

export const METRICS_FILE = 'metrics.jsonl';

/** Columns of metrics.jsonl that describe the step rather than the model: the others are losses (loss*) and scores. */
export const BOOKKEEPING_COLUMNS = new Set(['step', 'imagesPerSec', 'seconds']);

export interface MetricsRow {
  step: number;
  [key: string]: number;
}

/** Reads metrics.jsonl, skipping a torn last line (a run killed mid-write). */
export function readMetrics(runDir: string): MetricsRow[] {
  const path = join(runDir, METRICS_FILE);
  if (!existsSync(path)) return [];
  return parseRows(readFileSync(path, 'utf8'));
}

function parseRows(text: string): MetricsRow[] {
  const rows: MetricsRow[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      rows.push(JSON.parse(line));
    } catch {
      // a partial line from a killed run
    }
  }
  return rows;
}

/**
 * metrics.jsonl of a run that may be training, read as it grows: each `rows()` reads only the lines
 * appended since the last call (a line still being written waits for its newline). A file written
 * anew (a resume drops the rows past its checkpoint) is read again from the start.
 */
export class MetricsFollower {
  private readonly path: string;
  private held: MetricsRow[] = [];
  private offset = 0;
  private inode = -1;

  constructor(runDir: string) {
    this.path = join(runDir, METRICS_FILE);
  }

  rows(): MetricsRow[] {
    const stat = statSync(this.path, { throwIfNoEntry: false });
    if (!stat) return (this.held = []);
    if (stat.ino !== this.inode || stat.size < this.offset) {
      this.held = [];
      this.offset = 0;
      this.inode = stat.ino;
    }
    if (stat.size === this.offset) return this.held;
    const bytes = Buffer.alloc(stat.size - this.offset);
    const fd = openSync(this.path, 'r');
    let got = 0;
    try {
      while (got < bytes.length) {
        const n = readSync(fd, bytes, got, bytes.length - got, this.offset + got);
        if (n === 0) break;
        got += n;
      }
    } finally {
      closeSync(fd);
    }
    const complete = bytes.subarray(0, got).lastIndexOf(0x0a) + 1;
    for (const row of parseRows(bytes.subarray(0, complete).toString('utf8'))) this.held.push(row);
    this.offset += complete;
    return this.held;
  }
}

/** Drops rows past the step a resumed run restarts from; those steps will be trained again. */
export function truncateMetrics(runDir: string, lastStep: number): MetricsRow[] {
  const rows = readMetrics(runDir).filter((r) => r.step <= lastStep);
  writeFileAtomic(join(runDir, METRICS_FILE), rows.map((r) => JSON.stringify(r) + '\n').join(''));
  return rows;
}

export function appendMetrics(runDir: string, row: MetricsRow): void {
  appendFileSync(join(runDir, METRICS_FILE), JSON.stringify(row) + '\n');
}
