import { z } from 'zod';
import { GantryError } from '../errors.ts';
import { stylesSchema, type InstanceStyles } from '../explore/instance-styles.ts';
import type { ModelInfo } from '../models/condition.ts';

/**
 * An exported generator (`gantry export`): `model.json`, this description, beside `weights.safetensors`,
 * the tensors of the networks generation reads under their checkpoint names (`net/<network>/<tensor>`),
 * plus `ref/images` for families that draw from real images and `example/*` label maps for label-map runs. The page and `loadGenerator` build the
 * family's own model from `family`, `model` and `seed` and load these tensors into it: the networks are the
 * ones the CLI runs, never a copy.
 */
export const MODEL_FILE = 'model.json';
export const WEIGHTS_FILE = 'weights.safetensors';
export const MODEL_FORMAT = 'gantry-generator';
export const MODEL_FORMAT_VERSION = 1;
/** The weights entry of the real images handed to families that sample from them (U-Net skips). */
export const REFERENCE_IMAGES = 'ref/images';
/** Label-map generators: label maps (and instance maps) a page starts from, [k, height, width] int32. */
export const EXAMPLE_LABELS = 'example/labels';
export const EXAMPLE_INSTANCES = 'example/instances';
/** The origin of an export of a generator trained by NVIDIA's pix2pixHD code (`gantry export --weights`). */
export const PRETRAINED_ORIGIN = "NVIDIA's pix2pixHD code";

export interface ExportedModel {
  format: typeof MODEL_FORMAT;
  version: number;
  /** The run's family and its resolved model section (config.json's, with what the data filled in). */
  family: string;
  model: Record<string, unknown>;
  seed: number;
  /** The training step of the exported weights. */
  step: number;
  /** The family's description of the model (what the page builds its controls from). */
  info: ModelInfo;
  /** The networks whose tensors the weights file holds. */
  networks: string[];
  /** pix2pixHD runs with a feature encoder: the learned styles of each class. */
  styles?: InstanceStyles;
  /** Where it came from, for people reading the folder: the run's folder name, or the weights file's. */
  run: string;
  /** Weights trained elsewhere (PRETRAINED_ORIGIN: NVIDIA's pix2pixHD code), whose step gantry does not know. */
  origin?: string;
  exportedAt: string;
}

const modelFileSchema = z.object({
  format: z.literal(MODEL_FORMAT),
  version: z.number().int(),
  family: z.string(),
  model: z.record(z.string(), z.unknown()),
  seed: z.number().int(),
  step: z.number().int().min(0),
  info: z.object({ family: z.string(), height: z.number().int().positive(), width: z.number().int().positive(), channels: z.number().int().positive(), latentDim: z.number().int().min(0) }).loose(),
  networks: z.array(z.string()).min(1),
  styles: stylesSchema.optional(),
  run: z.string(),
  origin: z.string().optional(),
  exportedAt: z.string(),
}).loose();

/** Checks a parsed model.json; `where` names it in the one error a wrong file gets. */
export function parseModelFile(json: unknown, where: string): ExportedModel {
  const format = (json as { format?: unknown } | null)?.format;
  if (format !== MODEL_FORMAT) throw new GantryError(`${where} is not a gantry generator (no "format": "${MODEL_FORMAT}"); make one with \`gantry export --run RUN --out DIR\``);
  const parsed = modelFileSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new GantryError(`${where}: ${issue.path.join('.') || 'the file'}: ${issue.message}; export the run again`);
  }
  if (parsed.data.version > MODEL_FORMAT_VERSION) {
    throw new GantryError(`${where} is format version ${parsed.data.version}, newer than this gantry reads (${MODEL_FORMAT_VERSION}); update gantry`);
  }
  return parsed.data as unknown as ExportedModel;
}
