/**
 * What the studio's /progress.json says of a run's training (read from its folder, never from the trainer),
 * which the explorer page's Training panel shows.
 */
export interface TrainingProgress {
  run: string;
  family: string;
  /** The newest step in metrics.jsonl (0 before the first is logged). */
  step: number;
  /** The step the run trains to (its config, as the newest resume left it). */
  steps: number;
  /** The newest logged losses. */
  losses: Record<string, number>;
  /** Images a second over the newest logged steps of the process training now; null when none trains. */
  imagesPerSec: number | null;
  /** Seconds to `steps` at that rate; null when none trains. */
  etaSeconds: number | null;
  /** The newest value of each score (FID, held-out accuracy) and its step. */
  scores: Record<string, { step: number; value: number }>;
  /** Names of the plots the studio serves as plots/NAME.svg. */
  plots: string[];
  /** How many rows metrics.jsonl holds: the plots change when it does (a score comes on the step of its loss row). */
  rows: number;
  /**
   * The sample grids in samples/ (the run's fixed noise), oldest first: served as samples/FILE. At most
   * 200, spread evenly from the first to the newest when a long run has written more.
   */
  samples: SampleGrid[];
  /** The process training the run now (the run folder's lock), or null. */
  writer: { pid: number; host: string; started: string } | null;
  /** How to go on, for a run stopped before its target with none training it. */
  resume: string | null;
  /**
   * The share of metrics.jsonl read so far while the studio is still reading a long run's file (in the
   * background, a slice at a time), or null once it has all of it. Until then step, losses, scores and
   * plots are those of the rows read so far, and rate and advice are left out.
   */
  reading: number | null;
}

export interface SampleGrid {
  step: number;
  file: string;
}
