import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { GantryError, shellWord } from '../errors.ts';
import { initEngine } from '../engine/index.ts';
import { writeFileAtomic } from '../io/atomic.ts';
import { readSweepFile } from '../sweep/sweep-file.ts';
import { runSweepLocally, sweepStatus, sweepTable } from '../sweep/local.ts';
import { queueStatus, queueTable, statusTable, submitSweep } from '../sweep/queue.ts';
import { parseCommandArgs, refuseFlags } from './args.ts';
import { checkFileOut, stoppedStatus } from './output.ts';
import { SYNOPSIS } from './synopsis.ts';

export const SWEEP_HELP = `${SYNOPSIS.SWEEP}
gantry sweep status SWEEP_DIR | ID [--runs runs/sweeps]
gantry sweep table  SWEEP_DIR | ID [--runs runs/sweeps] [--out table.md]
  A sweep file is a base run config and axes: {"base": {"family": "dcgan", "data": "mnist", "train":
  {"steps": 500}}, "grid": {"model.lr": [1e-4, 2e-4], "seed": [0, 1, 2]}, "eval": {"fid": {"n": 2000,
  "features": "runs/mnist-classifier"}}} (optional "name"). Every combination is one run, trained here one
  after another into --runs/<sweep id>/<point>/ and scored; the table gives each combination's FID and
  last losses as mean ± std over the seeds. Running the same sweep again finishes what is missing (a
  stopped point resumes from its checkpoint) and adds nothing else. A point that fails (a diverged run)
  is recorded (<sweep>/<point>.failed.json, shown by status) while the others go on; remove the record
  to try it again.
  --queue redis://HOST:PORT spreads the points over machines: the sweep is stored on that Redis and one
  job a point is added (submitting the same sweep again adds nothing); \`gantry worker --queue ...\` on each
  machine runs them. Then \`gantry sweep status ID --queue ...\` (state, worker, step, FID; --watch redraws
  it until every point is done or failed) and \`gantry sweep table ID --queue ...\` (the same results
  table, from the jobs).`;

/** A sweep folder named by path or by id under --runs. */
function sweepDir(arg: string | undefined, runs: string): string {
  if (!arg) throw new GantryError('name the sweep: its folder, or its id (printed by `gantry sweep`) with --runs');
  if (existsSync(join(arg, 'sweep.json'))) return arg;
  return join(runs, arg);
}

export async function sweepCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs('sweep', argv, {
    runs: { type: 'string' }, out: { type: 'string' }, queue: { type: 'string' }, quiet: { type: 'boolean' }, watch: { type: 'boolean' },
  }, true);
  const runs = values.runs ?? join('runs', 'sweeps');
  const [first, second] = positionals;
  // Each subcommand's own flags: one given to another is refused, not ignored.
  const sub = first === 'status' || first === 'table' ? first : null;
  refuseFlags('sweep', values, [
    ...(sub === 'status' && values.queue ? [] : ['watch']),
    ...(sub === 'table' ? [] : ['out']),
    ...(values.queue ? ['runs', 'quiet'] : sub ? ['quiet'] : []),
  ], `sweep ${sub ?? 'SWEEP.json'}${values.queue ? ' --queue' : ''}`);
  if (values.out) checkFileOut(values.out, '.md', 'the table as Markdown');
  if (values.queue) return queueCommand(values.queue, first, second, values);
  if (first === 'status') {
    process.stdout.write(sweepStatus(sweepDir(second, runs)));
    return 0;
  }
  if (first === 'table') {
    const table = sweepTable(sweepDir(second, runs));
    if (values.out) writeFileAtomic(values.out, table);
    process.stdout.write(table);
    return 0;
  }
  if (!first) throw new GantryError('give a sweep file: gantry sweep SWEEP.json (see --help)');
  const sweep = readSweepFile(first);
  await initEngine();
  const log = (line: string) => process.stderr.write(line + '\n');
  const { dir, interrupted, failed } = await runSweepLocally(sweep, runs, { quiet: values.quiet, log });
  if (interrupted) {
    log(`stopped; run \`gantry sweep ${shellWord(first)}\` again to continue`);
    return stoppedStatus(interrupted);
  }
  process.stdout.write(sweepTable(dir));
  process.stdout.write(`${dir}\n`);
  // Failed points are in the table and `sweep status`; the exit status says the sweep is not complete.
  return failed ? 1 : 0;
}

/** How often `sweep status --watch` redraws. */
const WATCH_MS = 2000;

/** The sweep's subcommands on a queue: submit a file, or the status or table of a submitted sweep. */
async function queueCommand(url: string, first: string | undefined, second: string | undefined, values: { out?: string; watch?: boolean }): Promise<number> {
  if (first === 'status') {
    if (!second) throw new GantryError('name the sweep: its id, as `gantry sweep SWEEP.json --queue ...` printed it');
    for (;;) {
      const { points } = await queueStatus(url, second);
      process.stdout.write(statusTable(points));
      const open = points.filter((p) => p.state !== 'done' && !p.state.startsWith('failed')).length;
      if (!values.watch || open === 0) return points.some((p) => p.state.startsWith('failed')) ? 1 : 0;
      await new Promise((r) => setTimeout(r, WATCH_MS));
      process.stdout.write('\n');
    }
  }
  if (first === 'table') {
    if (!second) throw new GantryError('name the sweep: its id, as `gantry sweep SWEEP.json --queue ...` printed it');
    const table = await queueTable(url, second);
    if (values.out) writeFileAtomic(values.out, table);
    process.stdout.write(table);
    return 0;
  }
  if (!first) throw new GantryError('give a sweep file: gantry sweep SWEEP.json --queue redis://HOST:PORT (see --help)');
  const sweep = readSweepFile(first);
  const { id, added, points } = await submitSweep(sweep, url);
  process.stderr.write(`sweep ${id}: ${points} points, ${added ? `${added} jobs added` : 'all already on the queue (nothing added)'} on ${url}; run \`gantry worker --queue ${url} --runs DIR\` on each machine, and watch with \`gantry sweep status ${id} --queue ${url} --watch\`\n`);
  process.stdout.write(`${id}\n`);
  return 0;
}
