import { copyFileSync, existsSync, linkSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeFailure } from '../errors.ts';
import { writeFileAtomic } from '../io/atomic.ts';
import { STYLES_FILE } from '../explore/run-styles.ts';
import { CHECKPOINT_FILE } from './checkpoint.ts';
import { CONFIG_FILE } from './run.ts';

/**
 * RUN/best: the checkpoint of a run's lowest FID so far (a config's eval section), as a run folder of its
 * own: config.json, checkpoint.safetensors (a hard link to the checkpoint that was scored: no extra disk
 * until the run's next checkpoint replaces it), styles.json where the run has one, and best.json with the
 * step and the score. Every command that takes --run takes it. GAN runs swing from one score to the next
 * (the README has DCGAN's FID jumping from 84 to 143 in 200 steps); this keeps the good one.
 */
export const BEST_DIR = 'best';
const SCORE_FILE = 'best.json';

export interface BestScore {
  step: number;
  fid: number;
}

/** The run's best score kept so far, or null. */
export function bestScore(runDir: string): BestScore | null {
  const path = join(runDir, BEST_DIR, SCORE_FILE);
  if (!existsSync(path)) return null;
  try {
    const kept = JSON.parse(readFileSync(path, 'utf8')) as BestScore;
    return Number.isFinite(kept.fid) && Number.isInteger(kept.step) ? kept : null;
  } catch {
    return null; // a hand-edited or damaged file: the next score replaces it
  }
}

/**
 * Keeps the run's current checkpoint (scored `fid` at `step`) as RUN/best when it scores lower than the kept
 * one. The new folder is made whole beside the old, then swapped in by two renames, so a reader sees one
 * whole folder (or, for the instant between them, none). Returns whether it was kept.
 */
export function keepIfBest(runDir: string, step: number, fid: number): boolean {
  if (!Number.isFinite(fid)) return false;
  const kept = bestScore(runDir);
  if (kept && kept.fid <= fid) return false;
  const dir = join(runDir, BEST_DIR);
  // `.tmp-PID` names: what a killed process leaves, a resume's removeStaleTempFiles clears.
  const staged = `${dir}.tmp-${process.pid}`;
  const old = `${dir}.old.tmp-${process.pid}`;
  try {
    for (const left of [staged, old]) rmSync(left, { recursive: true, force: true }); // this process's, from a swap that failed
    mkdirSync(staged);
    try {
      linkSync(join(runDir, CHECKPOINT_FILE), join(staged, CHECKPOINT_FILE));
    } catch {
      copyFileSync(join(runDir, CHECKPOINT_FILE), join(staged, CHECKPOINT_FILE)); // a file system without hard links
    }
    for (const file of [CONFIG_FILE, STYLES_FILE]) if (existsSync(join(runDir, file))) copyFileSync(join(runDir, file), join(staged, file));
    writeFileAtomic(join(staged, SCORE_FILE), `${JSON.stringify({ step, fid })}\n`);
    if (existsSync(dir)) renameSync(dir, old);
    renameSync(staged, dir);
    rmSync(old, { recursive: true, force: true });
  } catch (err) {
    rmSync(staged, { recursive: true, force: true });
    if (!existsSync(dir) && existsSync(old)) renameSync(old, dir);
    throw writeFailure(staged, err);
  }
  return true;
}

/** Drops RUN/best when it is from after `step` (a resume from an earlier checkpoint drops that step's scores too); -1: always. */
export function forgetBestAfter(runDir: string, step: number): void {
  const kept = bestScore(runDir);
  if (step < 0 || (kept && kept.step > step) || (!kept && existsSync(join(runDir, BEST_DIR)))) rmSync(join(runDir, BEST_DIR), { recursive: true, force: true });
}
