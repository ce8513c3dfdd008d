import { formatDuration } from '../errors.ts';

/** Where progress goes: a terminal (a bar redrawn in place) or anything that takes lines. */
export interface ProgressOut {
  readonly isTTY?: boolean;
  write(text: string): unknown;
}

/** Progress as plain periodic lines to a log function (a program's own logger; no bar). */
export function progressLines(log: (line: string) => void): ProgressOut {
  return { isTTY: false, write: (text) => log(text.replace(/\n$/, '')) };
}

/** A progress line: a bar with rate and ETA on a terminal, plain periodic lines otherwise (logs, CI). */
export class Progress {
  private readonly started = performance.now();
  private lastPlain = -Infinity;
  private readonly tty: boolean;

  constructor(
    private readonly total: number,
    private readonly startAt: number,
    private readonly label: string,
    private readonly stream: ProgressOut = process.stderr,
    private readonly quiet = false,
  ) {
    this.tty = Boolean(stream.isTTY) && !quiet;
  }

  update(done: number, extra = ''): void {
    if (this.quiet) return;
    const elapsed = (performance.now() - this.started) / 1000;
    const rate = (done - this.startAt) / Math.max(elapsed, 1e-9);
    const eta = rate > 0 ? (this.total - done) / rate : Infinity;
    const text = `${this.label} ${done}/${this.total} ${rate.toFixed(2)} it/s ETA ${formatDuration(eta)}${extra ? '  ' + extra : ''}`;
    if (this.tty) {
      const width = 24;
      const filled = Math.round((done / this.total) * width);
      this.stream.write(`\r[${'#'.repeat(filled)}${' '.repeat(width - filled)}] ${text}\x1b[K`);
    } else if (elapsed - this.lastPlain >= 10 || done === this.total) {
      this.lastPlain = elapsed;
      this.stream.write(text + '\n');
    }
  }

  done(): void {
    if (this.tty) this.stream.write('\n');
  }
}

/**
 * A progress callback for work whose length is known only as it runs (reading a data set): silent for
 * its first two seconds, so quick work prints nothing, then a Progress line like training's.
 */
export function slowWorkProgress(label: string, stream: ProgressOut = process.stderr): (done: number, total: number) => void {
  const started = performance.now();
  let progress: Progress | null = null;
  return (done, total) => {
    // Made on the first call, so its rate counts from the start of the work.
    progress ??= new Progress(total, 0, label, stream);
    if (performance.now() - started < 2000) return;
    progress.update(done);
    if (done === total) progress.done();
  };
}
