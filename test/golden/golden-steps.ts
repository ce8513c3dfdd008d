import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tf } from '../helpers.ts';
import type { Rng } from '../../src/engine/rng.ts';
import type { Batch } from '../../src/data/batch.ts';
import { readTorchStateDict } from '../../src/io/torch.ts';
import { loadTorchWeights } from '../../src/nn/torch-weights.ts';
import type { FamilyInstance } from '../../src/models/family.ts';
import { assertAdamStepsMatch, goldenPhotos, networkState } from './torch-files.ts';

const here = dirname(fileURLToPath(import.meta.url));

/** One step of a golden file: its photos (8-bit levels, NHWC, base64), what it drew, and PyTorch's losses. */
export interface GoldenStep { levels: string; [field: string]: unknown }

export interface GoldenSteps {
  /** The family of the steps, where one script writes several families' files. */
  family?: string;
  /** The model section the PyTorch networks match (sizes, widths, the family's switches). */
  config: Record<string, unknown> & { imageSize: number; channels: number };
  batch: number;
  steps: GoldenStep[];
  /** Weights ("D.text.bias") whose gradient is float32 rounding: a batch norm follows them (assertAdamStepsMatch). */
  roundingOnly?: string[];
}

/** Reads test/golden/NAME.json. */
export function readGoldenSteps(name: string): GoldenSteps {
  return JSON.parse(readFileSync(join(here, `${name}.json`), 'utf8'));
}

/**
 * A family's training steps against its golden files (`NAME.json`, `NAME_init.pth`, `NAME_final.pth`: the
 * tensors of the networks `nets` names, each prefixed with its network's name): from the same weights, photos
 * and random draws (`rngOf`, which also says whether the step drew all of them), each step's `losses` within
 * 1e-4 (relative past 1) and every trainable weight after the steps as assertAdamStepsMatch checks them.
 * `batchOf` makes a step's batch from its photos (and whatever else the step holds); `lrOf` gives a
 * network's learning rate.
 */
export async function checkGoldenSteps<M extends FamilyInstance>(o: {
  name: string;
  build: (config: Record<string, unknown>, seed: number) => M;
  nets: string[];
  batchOf?: (step: GoldenStep, images: tf.Tensor4D, model: M) => Batch;
  rngOf: (step: GoldenStep) => { rng: Rng; drewAll: () => boolean };
  losses: string[];
  lrOf: (net: string, model: M) => number;
  section?: (config: GoldenSteps['config']) => Record<string, unknown>;
}): Promise<void> {
  const { config, batch: n, steps, roundingOnly } = readGoldenSteps(o.name);
  const load = (model: M, file: string) => {
    const state = readTorchStateDict(join(here, file));
    for (const net of o.nets) loadTorchWeights(model.networks[net], networkState(state, net), file);
  };
  const section = o.section ? o.section(config) : config;
  const model = o.build(section, 0);
  load(model, `${o.name}_init.pth`);
  for (const [i, step] of steps.entries()) {
    const images = goldenPhotos(step.levels, [n, config.imageSize, config.imageSize, config.channels]);
    const { rng, drewAll } = o.rngOf(step);
    const out = model.trainStep(o.batchOf ? o.batchOf(step, images, model) : { images }, { step: i, rng });
    const got = Object.fromEntries(await Promise.all(Object.entries(out).map(async ([k, t]) => [k, (await t.data())[0]] as const)));
    tf.dispose([images, ...Object.values(out)]);
    assert.ok(drewAll(), `${o.name} step ${i} drew what the file has`);
    for (const k of o.losses) {
      const want = step[k] as number;
      assert.ok(Math.abs(got[k] - want) < 1e-4 * Math.max(1, Math.abs(want)), `${o.name} step ${i} ${k} ${got[k]} vs PyTorch ${want}`);
    }
  }
  const expected = o.build(section, 1);
  load(expected, `${o.name}_final.pth`);
  const start = roundingOnly ? o.build(section, 2) : null;
  if (start) load(start, `${o.name}_init.pth`);
  await assertAdamStepsMatch({
    label: o.name,
    got: Object.fromEntries(o.nets.map((net) => [net, model.networks[net]])),
    want: expected.networks,
    start: start?.networks,
    roundingOnly: roundingOnly && new Set(roundingOnly),
    steps: steps.length,
    lrOf: (net) => o.lrOf(net, model),
  });
  for (const m of [model, expected, start]) m?.dispose();
}
