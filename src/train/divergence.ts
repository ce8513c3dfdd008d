import type { MetricsRow } from './metrics.ts';

/** Logged rows whose losses set each loss's normal scale. */
const EARLY_ROWS = 5;
/** A loss this many times beyond its early scale has left it. */
const BLOW_UP = 1000;
/** Logged rows in a row with lossD at zero: D separates real from fake perfectly and G's gradient vanishes. */
const SATURATED_ROWS = 3;

/**
 * Watches a run's logged losses for divergence that stays finite (NaN and infinity stop the run
 * elsewhere): a loss far outside the range of its first logged values, or D saturated at zero loss.
 * Says so once, as a warning with the fix.
 */
export class DivergenceWatch {
  private readonly scale = new Map<string, number>();
  private rows = 0;
  private saturated = 0;
  private warned = false;

  constructor(private readonly warn: (line: string) => void, private readonly advice: string) {}

  /** A row a resumed run logged before: it sets the scale (when among the first) and is not judged again. */
  recall(row: MetricsRow): void {
    this.learn(row);
  }

  private learn(row: MetricsRow): void {
    if (this.rows >= EARLY_ROWS) return;
    this.rows++;
    for (const [k, v] of Object.entries(row)) if (k.startsWith('loss')) this.scale.set(k, Math.max(this.scale.get(k) ?? 1, Math.abs(v)));
  }

  observe(row: MetricsRow): void {
    if (this.rows < EARLY_ROWS) return this.learn(row);
    if (this.warned) return;
    for (const [k, v] of Object.entries(row)) {
      const scale = this.scale.get(k);
      if (scale !== undefined && Math.abs(v) > BLOW_UP * scale) {
        return this.say(`${k} is ${v.toPrecision(3)} at step ${row.step}, beyond ${BLOW_UP}x its first logged values (up to ${scale.toPrecision(3)}): the run looks diverged`);
      }
    }
    this.saturated = 'lossD' in row && Math.abs(row.lossD) < 1e-6 ? this.saturated + 1 : 0;
    if (this.saturated >= SATURATED_ROWS) this.say(`lossD has been 0 for ${SATURATED_ROWS} logged steps (step ${row.step}): D tells real from fake perfectly and G no longer learns`);
  }

  private say(what: string): void {
    this.warned = true;
    this.warn(`warning: ${what}. ${this.advice}`);
  }
}
