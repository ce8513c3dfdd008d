import { initEngine, type Device } from '../engine/index.ts';
import { GantryError } from '../errors.ts';
import { runWorker } from '../sweep/queue.ts';
import { intArg, parseCommandArgs } from './args.ts';
import { SYNOPSIS } from './synopsis.ts';

export const WORKER_HELP = `${SYNOPSIS.WORKER}
  Runs sweep points from a Redis queue (\`gantry sweep SWEEP.json --queue ...\` adds them) until Ctrl-C or
  SIGTERM: each point is trained into --runs/<sweep>/<point>/ with checkpoints, scored, and its progress
  and result written into its job. Start one on each machine. SIGTERM (or Ctrl-C) checkpoints the running
  point and hands it back to the queue at once. A worker that dies without a word (kill -9, a lost
  machine) loses its job after --stall-seconds (default 30: make it longer than the longest training step
  or scoring batch, during which a worker cannot answer); another worker then takes it and resumes from
  the last checkpoint when --runs is a folder both share (NFS, ...), or starts it over, seeded, when not.
  A point whose run fails (a diverged loss, data that does not fit) fails for good, with its message.
  --concurrency N runs N points at once in this process (default 1; one is right for a CPU).`;

export async function workerCommand(argv: string[]): Promise<void> {
  const { values } = parseCommandArgs('worker', argv, {
    queue: { type: 'string' }, runs: { type: 'string' }, device: { type: 'string' }, concurrency: { type: 'string' }, 'stall-seconds': { type: 'string' },
  });
  if (!values.queue) throw new GantryError('--queue redis://HOST:PORT is required (the Redis the sweep was submitted to)');
  if (!values.runs) throw new GantryError('--runs DIR is required (where this worker writes the points\' run folders; shared between workers to resume each other\'s runs)');
  const concurrency = intArg('concurrency', values.concurrency, 1) ?? 1;
  const stallSeconds = intArg('stall-seconds', values['stall-seconds'], 1) ?? 30;
  await initEngine({ device: (values.device ?? 'cpu') as Device });
  await runWorker(values.queue, { runsDir: values.runs, concurrency, stallSeconds, log: (line) => process.stderr.write(line + '\n') });
}
