import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tf } from '../helpers.ts';
import type { Rng } from '../../src/engine/rng.ts';
import { readTorchStateDict } from '../../src/io/torch.ts';
import { loadTorchWeights } from '../../src/nn/torch-weights.ts';
import type { TextToImageGan } from '../../src/models/text-to-image.ts';
import { assertAdamStepsMatch, goldenPhotos, networkState } from './torch-files.ts';

const here = dirname(fileURLToPath(import.meta.url));

/** One step of a text GAN's golden file: its photos (8-bit levels, NHWC, base64), sentence vectors, what it drew, and PyTorch's losses. */
export interface TextGanStep { levels: string; sentences: number[]; lossD: number; lossG: number; [drawn: string]: unknown }

export interface TextGanGolden {
  /** The model section the PyTorch networks match (sizes, widths, the family's switches). */
  config: Record<string, unknown> & { imageSize: number; channels: number; embedDim: number };
  batch: number;
  steps: TextGanStep[];
}

/**
 * A text-to-image family's GAN steps against its golden files (`NAME.json`, `NAME_init.pth`,
 * `NAME_final.pth`: G's and D's tensors, prefixed "G." and "D."): from the same weights, photos, sentence
 * vectors (the fixed caption encoder's output) and the step's random draws (`rngOf`, which also says
 * whether the step drew all of them), each step's losses within 1e-4 and every trainable weight of G and D
 * after the steps as assertAdamStepsMatch checks them. `lrOf` gives a network's learning rate.
 */
export async function checkTextGanSteps(name: string, build: (config: Record<string, unknown>, seed: number) => TextToImageGan, rngOf: (step: TextGanStep) => { rng: Rng; drewAll: () => boolean }, losses: string[], lrOf: (net: string) => number): Promise<void> {
  const golden: TextGanGolden = JSON.parse(readFileSync(join(here, `${name}.json`), 'utf8'));
  const { config, batch: n, steps } = golden;
  const load = (model: TextToImageGan, file: string) => {
    const state = readTorchStateDict(join(here, file));
    for (const net of ['G', 'D']) loadTorchWeights(model.networks[net], networkState(state, net), file);
  };
  const section = { ...config, textSteps: 0, vocabulary: ['a', 'caption'] };
  const model = build(section, 0);
  load(model, `${name}_init.pth`);
  const { imageSize: size, channels, embedDim } = config;
  for (const [i, step] of steps.entries()) {
    const images = goldenPhotos(step.levels, [n, size, size, channels]);
    model.text.stepVectors = () => tf.tensor2d(step.sentences, [n, embedDim]);
    const { rng, drewAll } = rngOf(step);
    const out = model.trainStep({ images, captions: Array(n).fill('a caption') }, { step: i, rng });
    const got = Object.fromEntries(await Promise.all(Object.entries(out).map(async ([k, t]) => [k, (await t.data())[0]] as const)));
    tf.dispose([images, ...Object.values(out)]);
    assert.ok(drewAll(), `step ${i} drew what the file has`);
    for (const k of losses) {
      const want = step[k] as number;
      assert.ok(Math.abs(got[k] - want) < 1e-4 * Math.max(1, Math.abs(want)), `${name} step ${i} ${k} ${got[k]} vs PyTorch ${want}`);
    }
  }
  const expected = build(section, 1);
  load(expected, `${name}_final.pth`);
  await assertAdamStepsMatch({ label: name, got: { G: model.networks.G, D: model.networks.D }, want: expected.networks, steps: steps.length, lrOf });
  model.dispose();
  expected.dispose();
}
