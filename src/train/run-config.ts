import { z } from 'zod';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { anchorDataSpec, anchorScoredInput } from '../data/index.ts';
import { GantryError, describeError, didYouMean } from '../errors.ts';
import { FAMILIES, getFamily } from '../models/index.ts';

export const trainSchema = z
  .object({
    steps: z.number().int().positive().default(2000),
    batch: z.number().int().positive().default(64),
    /** Losses are read back and appended to metrics.jsonl every logEvery steps. */
    logEvery: z.number().int().positive().default(10),
    /** A sample grid from fixed noise every sampleEvery steps. */
    sampleEvery: z.number().int().positive().default(200),
    checkpointEvery: z.number().int().positive().default(200),
    /** Images in each sample grid. */
    samples: z.number().int().positive().max(1024).default(64),
    /**
     * Learning-rate schedule: constant, then from step decayFrom a linear decay to 0 at `steps` (every
     * optimizer of the run). Absent: constant.
     */
    decayFrom: z.number().int().min(0).optional(),
    /** Discriminator steps per generator step (GANs): G is updated on every dSteps-th step, D on every step. */
    dSteps: z.number().int().min(1).default(1),
    /** Mirror each batch image left-right (with its label and instance maps) half the time. Absent: on for label-map runs, off otherwise. */
    flip: z.boolean().optional(),
    /**
     * [height, width]: read the data at this size and train on a crop of the model's size cut at a random
     * place from each image each step (its maps alike), as pix2pixHD's scale_width_and_crop (Cityscapes
     * --loadSize 1024 --fineSize 512: a 512x512 model with loadSize [512, 1024]). Sample grids, held-out
     * scores and learned styles see the data fitted at the model's size. Absent: read at the model's size.
     */
    loadSize: z.tuple([z.number().int().positive(), z.number().int().positive()]).optional(),
    /**
     * Keep an exponential moving average of the generator's weights with this decay (0.99 for runs of a
     * few thousand steps, 0.999 for longer ones; every network but D and a text family's fixed caption
     * encoder), and draw, score and export with it (optim/weight-average.ts). Absent: the weights of the
     * last step.
     */
    ema: z.number().gt(0).lt(1).optional(),
  })
  .strict();

/** FID settings, as a sweep file's eval.fid and a run's eval.fid take them. */
export const fidSchema = z
  .object({
    /** Images a side. */
    n: z.number().int().min(2).default(2000),
    /** Real images (a data SPEC or statistics file); absent: the run's own data. */
    real: z.string().optional(),
    /** A gantry classifier run whose features score the images (offline), or ... */
    features: z.string().optional(),
    /** ... pytorch-fid's Inception weights (else GANTRY_INCEPTION_WEIGHTS), with this feature size. */
    weights: z.string().optional(),
    featureDim: z.number().int().positive().default(2048),
    /** ... or torchvision's VGG-16 weights: torch-fidelity's VGG-16 features (fc2_relu). */
    vgg16: z.string().optional(),
  })
  .strict();

export type FidSettings = z.infer<typeof fidSchema>;

/**
 * Scores while training: FID of the generator every `every` steps (checkpointed then) and at the last step;
 * with `precisionRecall`, precision, recall, density and coverage too, on the same images and features.
 */
export const evalSchema = z
  .object({
    fid: fidSchema,
    precisionRecall: z.boolean().optional(),
    /** Absent: train.checkpointEvery. */
    every: z.number().int().positive().optional(),
  })
  .strict();

export type EvalConfig = z.infer<typeof evalSchema>;

export const runConfigSchema = z
  .object({
    family: z.string(),
    seed: z.number().int().min(0).default(0),
    data: z.string().default('mnist'),
    model: z.record(z.string(), z.unknown()).default({}),
    train: trainSchema.default(trainSchema.parse({})),
    /** The run whose checkpoint gave this run its starting weights (--init-from), where tensors match. */
    initFrom: z.string().optional(),
    eval: evalSchema.optional(),
  })
  .strict();

export type TrainConfig = z.infer<typeof trainSchema>;

export interface RunConfig {
  family: string;
  seed: number;
  data: string;
  model: Record<string, unknown>;
  train: TrainConfig;
  initFrom?: string;
  eval?: EvalConfig;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isPath = (v: unknown): v is string => typeof v === 'string' && v !== '';

/**
 * A config, or what a resume changes, with the files and folders it names made absolute from `base`, the
 * folder they were given in: the data, initFrom, model.vggWeights and eval.fid's real, features, weights
 * and vgg16. The run folder's config.json then resumes, scores and exports from any folder, and a sweep's
 * points train on workers started anywhere. Fields of the wrong type are left for validation to name.
 */
export function anchorRunPaths<T extends object>(config: T, base: string): T {
  const c = config as Record<string, unknown>;
  const out: Record<string, unknown> = { ...c };
  if (isPath(c.data)) out.data = anchorDataSpec(c.data, base);
  if (isPath(c.initFrom)) out.initFrom = resolve(base, c.initFrom);
  if (isRecord(c.model) && isPath(c.model.vggWeights)) out.model = { ...c.model, vggWeights: resolve(base, c.model.vggWeights) };
  if (isRecord(c.eval) && isRecord(c.eval.fid)) {
    const fid: Record<string, unknown> = { ...c.eval.fid };
    if (isPath(fid.real)) fid.real = anchorScoredInput(fid.real, base);
    for (const key of ['features', 'weights', 'vgg16']) if (isPath(fid[key])) fid[key] = resolve(base, fid[key]);
    out.eval = { ...c.eval, fid };
  }
  return out as T;
}

/** An object schema's fields, through defaults, optionals and nullables; null for any other schema. */
function objectShape(schema: z.ZodType): Record<string, z.ZodType> | null {
  type Def = { type: string; innerType?: z.ZodType; shape?: Record<string, z.ZodType> };
  let def: Def = (schema as unknown as { _zod: { def: Def } })._zod.def;
  while (def.innerType) def = (def.innerType as unknown as { _zod: { def: Def } })._zod.def;
  return def.type === 'object' ? def.shape! : null;
}

/** The field names of the object `path` leads to inside `schema`, if any. */
function fieldsAt(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  let shape = objectShape(schema);
  for (const key of path) {
    const field = shape?.[String(key)];
    shape = field ? objectShape(field) : null;
  }
  return shape ? Object.keys(shape) : [];
}

/**
 * Every field of the given sections' schemas by name, with where it goes: "lr" -> ["model.lr"]. For an
 * unknown field that is a known one of another section (`train.lr`, `eval.fid.every`).
 */
function fieldPlaces(sections: [prefix: string, schema: z.ZodType][]): Map<string, string[]> {
  const places = new Map<string, string[]>();
  const walk = (schema: z.ZodType, at: string) => {
    for (const [key, field] of Object.entries(objectShape(schema) ?? {})) {
      const path = at ? `${at}.${key}` : key;
      places.set(key, [...(places.get(key) ?? []), path]);
      walk(field, path);
    }
  };
  for (const [prefix, schema] of sections) walk(schema, prefix);
  return places;
}

/**
 * One line per problem, each naming the field: "model.ngf: expected number, received string". With the
 * schema that gave `err`, an unknown field names the known one it most likely meant; with `places`
 * (fieldPlaces), a field of another section is named where it goes ("did you mean model.lr?").
 */
export function formatZodError(err: z.ZodError, prefix = '', schema?: z.ZodType, places?: Map<string, string[]>): string {
  return err.issues
    .map((issue) => {
      const path = [prefix, ...issue.path.map(String)].filter(Boolean).join('.') || '(root)';
      if (issue.code === 'unrecognized_keys') {
        const known = schema ? fieldsAt(schema, issue.path) : [];
        const hint = (k: string) => didYouMean(k, known) || belongsElsewhere(places?.get(k) ?? [], `${path}.${k}`);
        return `${path}: unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"${hint(k)}`).join(', ')}`;
      }
      if (issue.code === 'invalid_type') {
        const want = TYPE_WORDS[issue.expected] ?? issue.expected;
        // The value itself where the parse kept it (reportInput), else zod's name for its type.
        const got = 'input' in issue ? (issue.input === undefined ? 'undefined' : shortJson(issue.input)) : /received (\w+)$/.exec(issue.message)?.[1];
        return got === 'undefined' ? `${path}: missing; give ${want}` : `${path}: expected ${want}${got ? `, not ${TYPE_WORDS[got] ?? got}` : ''}`;
      }
      return `${path}: ${issue.message}`;
    })
    .join('; ');
}

/** " (it belongs in model: model.lr)" for a field known elsewhere than where it was given, else "". */
function belongsElsewhere(places: string[], given: string): string {
  const place = places.find((p) => `(root).${p}` !== given && p !== given);
  if (place === undefined) return '';
  const section = place.includes('.') ? place.slice(0, place.lastIndexOf('.')) : null;
  return section ? ` (it belongs in ${section}: ${place})` : ' (it belongs at the top level)';
}

function shortJson(value: unknown): string {
  const json = JSON.stringify(value) ?? String(value);
  return json.length > 40 ? `${json.slice(0, 37)}...` : json;
}

/** zod's type names in a user's words. */
const TYPE_WORDS: Record<string, string> = {
  number: 'a number', int: 'a whole number', string: 'a string', boolean: 'true or false', object: 'an object',
  record: 'an object', array: 'a list', null: 'null', nan: 'NaN',
};

/** Reads a --config file: a JSON object, or one error line naming the file. Validation comes later. */
export function readConfigFile(path: string): Record<string, unknown> {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new GantryError(`cannot read config ${path}: ${describeError(err)}`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new GantryError(`config ${path} must hold a JSON object`);
  return raw as Record<string, unknown>;
}

/**
 * Validates a whole run config, the family's model section included, and returns it with every default
 * filled in. `source` names where it came from in the error ("config my.json").
 */
export function validateRunConfig(raw: unknown, source: string): RunConfig {
  const parsed = runConfigSchema.safeParse(raw, { reportInput: true });
  // Where each known field goes, the family's model fields included, for a field put in the wrong section.
  const places = () => {
    const name = (raw as { family?: unknown } | null)?.family;
    const schema = typeof name === 'string' && Object.hasOwn(FAMILIES, name) ? FAMILIES[name].schema : null;
    return fieldPlaces([['', runConfigSchema], ...(schema ? [['model', schema] as [string, z.ZodType]] : [])]);
  };
  if (!parsed.success) throw new GantryError(`${source}: ${formatZodError(parsed.error, '', runConfigSchema, places())}`);
  const family = getFamily(parsed.data.family);
  const model = family.schema.safeParse(parsed.data.model, { reportInput: true });
  if (!model.success) throw new GantryError(`${source}: ${formatZodError(model.error, 'model', family.schema, places())}`);
  return { ...parsed.data, model: model.data as Record<string, unknown> };
}
