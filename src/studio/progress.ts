import { readdirSync, type Dirent } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { resumeAdvice } from '../errors.ts';
import { runWriter } from '../train/lock.ts';
import { BOOKKEEPING_COLUMNS, MetricsFollower, type MetricsRow, type MetricsSink } from '../train/metrics.ts';
import { MetricsCurves, plotNames, plotSvg } from '../train/plots.ts';
import { readRunConfig } from '../train/run.ts';
import type { SampleGrid, TrainingProgress } from '../web/training-progress.ts';

/** Logged intervals the rate is taken over: one interval's rate drops with each checkpoint or sample grid. */
const RATE_ROWS = 5;

/**
 * Bytes of metrics.jsonl read at a time (tens of milliseconds): a long run's file (600 MB at 5 million
 * rows) is read in slices between the server's requests rather than in one pause of seconds.
 */
const SLICE_BYTES = 2 << 20;

/**
 * Images a second over the newest logged steps of one process (`seconds` counts from its start, so a
 * resumed run's rows begin again), or the newest row's own rate when it stands alone.
 */
function recentRate(logged: MetricsRow[], batch: number): number | null {
  let first = logged.length - 1;
  while (first > 0 && logged.length - first <= RATE_ROWS && logged[first - 1].seconds < logged[first].seconds) first--;
  const [a, b] = [logged[first], logged.at(-1)];
  if (!a || !b) return null;
  return b.seconds > a.seconds ? ((b.step - a.step) * batch) / (b.seconds - a.seconds) : b.imagesPerSec;
}

/**
 * A run folder's training as it goes, metrics.jsonl read a few new lines at a time into what the panel
 * shows; nothing it holds grows with the run's length. A file with more than a slice unread (a long run
 * opened, or written anew by a resume) is read on in the background, a slice per turn of the event
 * loop, and the panel says how far it has got.
 */
export class RunProgress implements MetricsSink {
  private readonly metrics: MetricsFollower;
  readonly name: string;
  private curves = new MetricsCurves();
  private step = 0;
  private rows = 0;
  private scores: TrainingProgress['scores'] = {};
  /** The newest rows with a logged rate (the losses' rows), enough for recentRate. */
  private logged: MetricsRow[] = [];
  /** Whether the last read reached the file's end. */
  private caughtUp = false;
  private readingOn: Promise<void> | null = null;
  private stopped = false;

  constructor(private readonly runDir: string) {
    this.metrics = new MetricsFollower(runDir, this);
    this.name = basename(resolve(runDir));
  }

  restart(): void {
    this.curves = new MetricsCurves();
    this.step = 0;
    this.rows = 0;
    this.scores = {};
    this.logged = [];
  }

  add(row: MetricsRow): void {
    this.curves.add(row);
    this.step = Math.max(this.step, row.step);
    this.rows++;
    if (Number.isFinite(row.imagesPerSec)) {
      this.logged.push(row);
      if (this.logged.length > RATE_ROWS + 1) this.logged.shift();
    }
    for (const [key, value] of Object.entries(row)) if (!BOOKKEEPING_COLUMNS.has(key) && !key.startsWith('loss') && Number.isFinite(value)) this.scores[key] = { step: row.step, value };
  }

  /** Reads a slice of what metrics.jsonl has new, and reads on in the background if that was not all. */
  follow(): void {
    this.caughtUp = this.metrics.poll(SLICE_BYTES);
    if (!this.caughtUp && !this.readingOn && !this.stopped) {
      // A slice that cannot be read (the run folder removed) fails again on the next request, which answers with why.
      this.readingOn = this.readOn().catch(() => undefined).finally(() => {
        this.readingOn = null;
      });
    }
  }

  private async readOn(): Promise<void> {
    while (!this.caughtUp) {
      await new Promise((resolve) => setImmediate(resolve)); // the requests waiting are answered first
      if (this.stopped) return;
      this.caughtUp = this.metrics.poll(SLICE_BYTES);
    }
  }

  /** Stops reading in the background (the server closes); resolves when the slice being read is done. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.readingOn;
  }

  now(): TrainingProgress {
    const config = readRunConfig(this.runDir);
    this.follow();
    const reading = this.caughtUp ? null : this.metrics.read;
    const losses: Record<string, number> = {};
    for (const [key, value] of Object.entries(this.logged.at(-1) ?? {})) if (key.startsWith('loss')) losses[key] = value;
    const writer = runWriter(this.runDir);
    // Until the file is read, the newest rows known are old ones: no rate from them, and no advice on where the run stopped.
    const imagesPerSec = writer && !reading ? recentRate(this.logged, config.train.batch) : null;
    const step = this.step;
    return {
      run: this.name,
      family: config.family,
      step,
      steps: config.train.steps,
      losses,
      imagesPerSec,
      etaSeconds: imagesPerSec ? (Math.max(0, config.train.steps - step) * config.train.batch) / imagesPerSec : null,
      scores: { ...this.scores },
      plots: plotNames(this.curves),
      rows: this.rows,
      samples: sampleGrids(this.runDir),
      writer,
      resume: !writer && !reading && step < config.train.steps ? resumeAdvice(this.runDir) : null,
      reading: reading && reading.bytes / Math.max(1, reading.of),
    };
  }

  /** plots/NAME.svg drawn from the metrics as they are now; null for a plot the run has not. */
  plot(name: string): string | null {
    this.follow();
    return plotNames(this.curves).includes(name) ? plotSvg(this.curves, `${readRunConfig(this.runDir).family} — ${this.name}`, name) : null;
  }
}

const SAMPLE_FILE = /^step-(\d+)\.png$/;

/** The most sample grids progress.json lists: a slider's worth, however many a long run has written. */
export const LISTED_GRIDS = 200;

/**
 * The run's sample grids by step, at most LISTED_GRIDS of them: past that, an even spread from the first
 * to the newest.
 */
export function sampleGrids(runDir: string): SampleGrid[] {
  const grids = allSampleGrids(runDir);
  if (grids.length <= LISTED_GRIDS) return grids;
  return Array.from({ length: LISTED_GRIDS }, (_, i) => grids[Math.round((i * (grids.length - 1)) / (LISTED_GRIDS - 1))]);
}

function allSampleGrids(runDir: string): SampleGrid[] {
  let files: Dirent[];
  try {
    files = readdirSync(join(runDir, 'samples'), { withFileTypes: true });
  } catch {
    return []; // not made yet
  }
  return files.flatMap((f) => (f.isFile() && SAMPLE_FILE.test(f.name) ? [{ step: Number(SAMPLE_FILE.exec(f.name)![1]), file: f.name }] : [])).sort((a, b) => a.step - b.step);
}
