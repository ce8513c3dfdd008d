import { createHash } from 'node:crypto';
import { z } from 'zod';
import { GantryError, describeError } from '../errors.ts';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { anchorDataSpec } from '../data/index.ts';
import { anchorRunPaths, fidSchema, formatZodError, validateRunConfig, type RunConfig } from '../train/run-config.ts';

/**
 * A sweep: a base run config and axes to vary, every combination one run ("point"), each scored the
 * same way. Axes name a run-config field by its path: "seed", "data", "model.lr", "train.batch".
 */
const AXIS = /^(seed|data|family|(model|train)\.[A-Za-z0-9]+)$/;

export const sweepSchema = z
  .object({
    /** Names the sweep's folder; absent: a hash of the file's content (the same sweep, the same folder). */
    name: z.string().regex(/^[A-Za-z0-9._-]+$/, { error: 'letters, digits, ".", "_" and "-" only' }).optional(),
    /** A run config ({"family", "seed", "data", "model", "train"}) every point starts from. */
    base: z.record(z.string(), z.unknown()),
    /** Field path -> the values it takes; points are every combination, in the order of the keys. */
    grid: z.record(z.string(), z.array(z.unknown()).min(1)).superRefine((grid, ctx) => {
      for (const axis of Object.keys(grid)) {
        if (!AXIS.test(axis)) ctx.addIssue({ code: 'custom', path: [axis], message: `an axis is seed, data, family, model.<field> or train.<field>${/^\w+$/.test(axis) ? ` (model.${axis} or train.${axis}?)` : ''}` });
        // A value twice would train the same point twice and count it twice in the table's mean.
        const seen = new Set<string>();
        for (const value of grid[axis]) {
          const key = JSON.stringify(value);
          if (seen.has(key)) ctx.addIssue({ code: 'custom', path: [axis], message: `${key} is listed twice; give each value once` });
          seen.add(key);
        }
      }
    }),
    /** How each finished point is scored. */
    eval: z
      .object({
        fid: fidSchema.optional(),
      })
      .strict()
      .default({}),
  })
  .strict();

export type Sweep = z.infer<typeof sweepSchema>;

export interface SweepPoint {
  /** 000, 001, ...: the point's folder. */
  id: string;
  /** The axis values of this point, by axis. */
  params: Record<string, unknown>;
  config: RunConfig;
}

export function readSweepFile(path: string): Sweep {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new GantryError(`cannot read sweep ${path}: ${describeError(err)}`);
  }
  return validateSweep(raw, `sweep ${path}`);
}

/** A sweep checked against the schema; `where` names it in the one error a bad field gets. */
export function validateSweep(raw: unknown, where: string): Sweep {
  const parsed = sweepSchema.safeParse(raw, { reportInput: true });
  if (parsed.success) return parsed.data;
  // A run config written at the top (a common first try) rather than under "base".
  const runFields = raw && typeof raw === 'object' && !('base' in raw) ? Object.keys(raw).filter((k) => RUN_CONFIG_FIELDS.has(k)) : [];
  const hint = runFields.length ? `; a run config's fields (${runFields.map((k) => `"${k}"`).join(', ')}) go under "base": {"base": {"family": "dcgan", "train": {"steps": 500}}, "grid": {"model.lr": [1e-4, 2e-4]}}` : '';
  throw new GantryError(`${where}: ${formatZodError(parsed.error, '', sweepSchema)}${hint}`);
}

/** A run config's fields, and the train and model fields most often written at the top by mistake. */
const RUN_CONFIG_FIELDS = new Set(['family', 'seed', 'data', 'model', 'train', 'steps', 'batch', 'lr']);

/** The sweep's id: its name, or a hash of its content, so the same sweep always lands in the same folder. */
export function sweepId(sweep: Sweep): string {
  return sweep.name ?? `sweep-${createHash('sha256').update(canonicalJson(sweep)).digest('hex').slice(0, 10)}`;
}

/**
 * The sweep with the files and folders it names made absolute from `base` (anchorRunPaths: its base config,
 * a data axis's values, eval.fid's), so that workers started in other folders train and score the same.
 */
export function anchorSweepPaths(sweep: Sweep, base: string): Sweep {
  const grid = { ...sweep.grid };
  if (grid.data) grid.data = grid.data.map((d) => (typeof d === 'string' ? anchorDataSpec(d, base) : d));
  if (grid['model.vggWeights']) grid['model.vggWeights'] = grid['model.vggWeights'].map((v) => (typeof v === 'string' && v ? resolve(base, v) : v));
  const fid = sweep.eval.fid && anchorRunPaths({ eval: { fid: sweep.eval.fid } }, base).eval.fid;
  return { ...sweep, base: anchorRunPaths(sweep.base, base), grid, eval: { ...sweep.eval, ...(fid ? { fid } : {}) } };
}

/** JSON with object keys sorted: equal for equal sweeps however their files order the keys. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') return `{${Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`).join(',')}}`;
  return JSON.stringify(value);
}

/** A point's params as a short label: "model.lr=0.0001, seed=1". */
export function describeParams(params: Record<string, unknown>): string {
  return Object.entries(params).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(', ');
}

/** Every combination of the axes, each a validated run config (one error naming the point and the field). */
export function expandPoints(sweep: Sweep): SweepPoint[] {
  const axes = Object.entries(sweep.grid);
  const combos: Record<string, unknown>[] = axes.reduce<Record<string, unknown>[]>(
    (acc, [axis, values]) => acc.flatMap((c) => values.map((v) => ({ ...c, [axis]: v }))),
    [{}],
  );
  return combos.map((params, i) => {
    const id = String(i).padStart(3, '0');
    const raw = structuredClone(sweep.base) as Record<string, unknown>;
    for (const [path, value] of Object.entries(params)) {
      const [head, field] = path.split('.');
      if (field === undefined) raw[head] = value;
      else raw[head] = { ...((raw[head] as Record<string, unknown> | undefined) ?? {}), [field]: value };
    }
    return { id, params, config: validateRunConfig(raw, `sweep point ${id} (${describeParams(params)})`) };
  });
}
