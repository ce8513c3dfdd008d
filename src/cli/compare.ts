import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { GantryError } from '../errors.ts';
import { writeFileAtomic } from '../io/atomic.ts';
import { initEngine } from '../engine/index.ts';
import { featureExtractor } from '../metrics/scores.ts';
import { FAMILIES } from '../models/index.ts';
import { fidSchema, readConfigFile, validateRunConfig } from '../train/run-config.ts';
import { trainingSeconds } from '../train/metrics.ts';
import { intArg, parseCommandArgs } from './args.ts';
import { prepareOutFolder, stoppedStatus } from './output.ts';
import { canonicalJson, validateSweep, type SweepPoint } from '../sweep/sweep-file.ts';
import { readResult, trainPoint } from '../sweep/local.ts';
import { submitSweep } from '../sweep/queue.ts';
import { SYNOPSIS } from './synopsis.ts';

export const COMPARE_HELP = `${SYNOPSIS.COMPARE}
               [--n 100] [--weights INCEPTION.pth | --features CLASSIFIER_RUN] [--seed 0] [--config FILE.json]
  The VAE study's protocol: train each family on the same data, then FID of n real against n generated
  images (the study: CIFAR-10 cars and airplanes, n = 100; drawn with seed 0). Writes DIR/<family>/ runs
  and DIR/table.md. Ctrl-C stops it after a checkpoint; the same command again finishes it (the families
  done are kept, the stopped one resumes). Example: gantry compare --data "cifar10:DIR?classes=automobile,airplane" --weights pt_inception.pth --out runs/study
  --queue redis://HOST:PORT: the comparison becomes a sweep over the families on that Redis (one job a
  family, run by \`gantry worker\`s; --out is then not needed): it prints the sweep's id, and
  \`gantry sweep table ID --queue ...\` gives the FID table. The --config model section must then suit
  every family, and the FID's images are drawn with seed 0.`;

/** The settings a comparison's folder was made with: a later compare into it must give the same. */
const COMPARE_FILE = 'compare.json';

export async function compareCommand(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs('compare', argv, {
    data: { type: 'string' }, out: { type: 'string' }, families: { type: 'string' }, steps: { type: 'string' },
    batch: { type: 'string' }, n: { type: 'string' }, weights: { type: 'string' }, features: { type: 'string' },
    seed: { type: 'string' }, config: { type: 'string' }, quiet: { type: 'boolean' }, queue: { type: 'string' },
  });
  if (values.weights !== undefined && values.features !== undefined) throw new GantryError('give --weights (Inception) or --features (a classifier run), not both');
  if (values.queue) {
    await compareOnQueue(values.queue, values);
    return 0;
  }
  if (!values.data || !values.out) throw new GantryError('--data SPEC and --out DIR are required');
  const { data, out } = values;
  const families = (values.families ?? 'vae,vae-gan,unet-vae-gan').split(',').map((f) => f.trim());
  for (const f of families) if (!FAMILIES[f]) throw new GantryError(`unknown family "${f}"; known: ${Object.keys(FAMILIES).join(', ')}`);
  const n = intArg('n', values.n, 2) ?? 100;
  const seed = intArg('seed', values.seed) ?? 0;
  const shared = values.config ? readConfigFile(values.config) : {};
  // Each family a point of a sweep's kind, trained and scored as a sweep's points are (a stopped one resumes).
  const points: SweepPoint[] = families.map((family) => {
    // The shared model section, less the fields this family does not have (e.g. ndf for the plain VAE).
    const known = new Set(Object.keys((FAMILIES[family].schema as unknown as { shape?: object }).shape ?? {}));
    const model = Object.fromEntries(Object.entries((shared.model as Record<string, unknown> | undefined) ?? {}).filter(([k]) => known.has(k)));
    const config = validateRunConfig({
      family, seed, data,
      model,
      train: { ...(shared.train as Record<string, unknown> | undefined), ...(values.steps ? { steps: intArg('steps', values.steps, 1) } : {}), ...(values.batch ? { batch: intArg('batch', values.batch, 1) } : {}) },
    }, `compare (${family})`);
    return { id: family, params: { family }, config };
  });
  await initEngine();
  // Check the scoring network before hours of training.
  const extractor = featureExtractor({ weights: values.weights, classifier: values.features });
  const fid = fidSchema.parse({ n, real: data });
  const log = (line: string) => process.stderr.write(line + '\n');
  const rows: { family: string; fid: number; steps: number; seconds: number }[] = [];
  try {
    prepareOutFolder(out, 'the runs and their table');
    claimCompareFolder(out, { data, n, scorer: extractor.id, runs: points.map((p) => p.config) });
    for (const point of points) {
      const runDir = join(out, point.id);
      const outcome = readResult(runDir) ?? await trainPoint(fid, point, runDir, extractor, { quiet: values.quiet, log });
      if ('interrupted' in outcome) {
        log(`stopped during ${point.id}; run the same \`gantry compare\` again to continue (the families done are kept, ${point.id} resumes from its checkpoint)`);
        return stoppedStatus(outcome.interrupted);
      }
      rows.push({ family: point.id, fid: outcome.fid!, steps: outcome.step, seconds: trainingSeconds(runDir) });
    }
  } finally {
    extractor.dispose();
  }
  const table = [
    `| model | FID (${n} real vs ${n} fake, ${extractor.id}) | steps | training time |`,
    '|---|---|---|---|',
    ...rows.map((r) => `| ${r.family} | ${r.fid.toFixed(2)} | ${r.steps} | ${r.seconds.toFixed(0)} s |`),
  ].join('\n');
  writeFileAtomic(join(out, 'table.md'), `Data: ${data}\n\n${table}\n`);
  process.stdout.write(table + '\n');
  return 0;
}

/** Writes a comparison's settings into its folder, or refuses a folder that holds a comparison of other settings. */
function claimCompareFolder(out: string, settings: unknown): void {
  const path = join(out, COMPARE_FILE);
  const json = canonicalJson(settings);
  if (!existsSync(path)) {
    writeFileAtomic(path, json + '\n');
    return;
  }
  if (readFileSync(path, 'utf8').trim() !== json) {
    throw new GantryError(`--out ${out} holds a comparison of other settings (its ${COMPARE_FILE}); give another --out, or the flags it was started with to finish it`);
  }
}

/** The comparison as a sweep on a queue: one point a family, each scored by FID against the data. */
async function compareOnQueue(url: string, values: { data?: string; families?: string; steps?: string; batch?: string; n?: string; weights?: string; features?: string; seed?: string; config?: string }): Promise<void> {
  if (!values.data) throw new GantryError('--data SPEC is required');
  const shared = values.config ? readConfigFile(values.config) : {};
  const train = { ...(shared.train as Record<string, unknown> | undefined), ...(values.steps ? { steps: intArg('steps', values.steps, 1) } : {}), ...(values.batch ? { batch: intArg('batch', values.batch, 1) } : {}) };
  const sweep = validateSweep({
    base: { seed: intArg('seed', values.seed) ?? 0, data: values.data, model: shared.model ?? {}, train },
    grid: { family: (values.families ?? 'vae,vae-gan,unet-vae-gan').split(',').map((f) => f.trim()) },
    eval: { fid: { n: intArg('n', values.n, 2) ?? 100, real: values.data, ...(values.features ? { features: values.features } : values.weights ? { weights: values.weights } : {}) } },
  }, 'compare --queue');
  const { id, added, points } = await submitSweep(sweep, url);
  process.stderr.write(`compare: sweep ${id} of ${points} families (${added} jobs added) on ${url}; run \`gantry worker --queue ${url} --runs DIR\`, then \`gantry sweep table ${id} --queue ${url}\`\n`);
  process.stdout.write(`${id}\n`);
}
