import { GantryError, formatBytes } from '../errors.ts';

/**
 * A request for more memory than is left. Thrown before the allocation, so the process stays alive to
 * say so: past the machine's free memory Linux kills the process without a word (pix2pixHD's official
 * network at 1024x2048 on the CPU wants more than 24 GB and was killed 170 s in).
 */
export class OutOfMemoryError extends GantryError {
  /** What did not fit, without the advice: for a caller that knows better advice. */
  readonly summary: string;

  constructor(bytes: number, left: number, source: string) {
    const summary = `out of memory: ${formatBytes(bytes)} more would not fit in the ${formatBytes(Math.max(0, left))} left (${source})`;
    super(`${summary}; smaller images, batches or networks need less`);
    this.name = 'OutOfMemoryError';
    this.summary = summary;
  }
}

/** Requests below this size are not checked: reading the free memory costs tens of µs, and small ones cannot matter. */
const CHECKED_BYTES = 2 ** 20;

/** What to leave to the rest of the machine: page cache, other processes, V8's own heap growing. */
const MARGIN_BYTES = 256 * 2 ** 20;

/** GANTRY_MAX_MEMORY_MB in bytes, or null when unset. */
function maxMemoryBytes(): number | null {
  const text = process.env.GANTRY_MAX_MEMORY_MB;
  if (text === undefined || text === '') return null;
  const mb = Number(text);
  if (!Number.isFinite(mb) || mb <= 0) throw new GantryError(`GANTRY_MAX_MEMORY_MB is "${text}"; give the most megabytes this process may hold (a positive number), or leave it unset for the machine's free memory`);
  return mb * 2 ** 20;
}

/**
 * Bytes this process may still take: what the machine (or its container's memory limit) has available,
 * less a margin, and within GANTRY_MAX_MEMORY_MB of resident memory when that is set.
 */
export function memoryLeft(): { bytes: number; source: string } {
  // 0 is what libuv answers where it cannot read the free memory: then only GANTRY_MAX_MEMORY_MB limits.
  const machine = process.availableMemory();
  const available = machine > 0 ? machine - MARGIN_BYTES : Infinity;
  const max = maxMemoryBytes();
  if (max !== null) {
    const underCap = max - process.memoryUsage.rss();
    if (underCap < available) return { bytes: underCap, source: `GANTRY_MAX_MEMORY_MB=${process.env.GANTRY_MAX_MEMORY_MB}` };
  }
  return { bytes: available, source: "this machine's free memory" };
}

/**
 * Throws OutOfMemoryError when `bytes` more would not fit (requests under 1 MiB pass unchecked). In a web
 * page (gantry's CPU kernels on the page's CPU backend) there is no process to ask, and nothing is checked.
 */
export function ensureMemoryFor(bytes: number): void {
  if (bytes < CHECKED_BYTES || typeof process === 'undefined') return;
  const left = memoryLeft();
  if (bytes > left.bytes) throw new OutOfMemoryError(bytes, left.bytes, left.source);
}
