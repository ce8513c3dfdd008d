import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../io/atomic.ts';

export const METRICS_FILE = 'metrics.jsonl';

export interface MetricsRow {
  step: number;
  [key: string]: number;
}

/** Reads metrics.jsonl, skipping a torn last line (a run killed mid-write). */
export function readMetrics(runDir: string): MetricsRow[] {
  const path = join(runDir, METRICS_FILE);
  if (!existsSync(path)) return [];
  const rows: MetricsRow[] = [];
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    try {
      rows.push(JSON.parse(line));
    } catch {
      // a partial line from a killed run
    }
  }
  return rows;
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
