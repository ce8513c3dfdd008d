import { openDataset } from '../../src/data/index.ts';
import { dataShape } from '../../src/data/dataset.ts';
import { BatchSampler } from '../../src/data/sampler.ts';
import { validateRunConfig } from '../../src/train/run-config.ts';
import { buildModel, provideReferenceImages, resolveRunConfig } from '../../src/train/run.ts';
import { describeModel } from '../../src/models/index.ts';
import type { Batch } from '../../src/data/batch.ts';
import type { FamilyInstance } from '../../src/models/family.ts';

/** A small model of a family on real data (the embedded digits, shapes, the pairs fixture) and its batches. */
export function familyRun(family: string, data: string, model: Record<string, unknown>, batch = 4, seed = 3): { model: FamilyInstance; batchAt: (step: number) => Batch } {
  const config = validateRunConfig({ family, data, seed, model, train: { batch } }, 'test config');
  const info = describeModel(config);
  const dataset = openDataset(config.data, info);
  const resolved = resolveRunConfig(config, dataShape(dataset));
  const built = buildModel(resolved);
  provideReferenceImages(built, dataset, seed, 4);
  const sampler = new BatchSampler(dataset, batch, seed, info.conditioning.kind === 'labelMap');
  return { model: built, batchAt: (step) => sampler.batchAt(step) };
}
