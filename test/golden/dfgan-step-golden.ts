import type { Rng } from '../../src/engine/rng.ts';
import { Dfgan, dfganSchema } from '../../src/models/dfgan.ts';
import { checkTextGanSteps } from './text-gan-steps.ts';

/**
 * DF-GAN's training steps against its authors' code run by PyTorch (test/golden/make_dfgan_step.py): each
 * step's D loss (hinge on real, mismatched and fake pairs with MA-GP's double backward), MA-GP and G's loss,
 * and every weight of G and D after three steps; the step's noise is the file's.
 */
export async function checkDfganStepsAgainstPyTorch(): Promise<void> {
  let model: Dfgan | null = null;
  await checkTextGanSteps('dfgan_step', (config, seed) => (model = new Dfgan(dfganSchema.parse(config), seed)), (step) => {
    let drawn = false;
    const rng = { fillNormal: (out: Float32Array) => ((drawn = true), out.set(step.noise as number[]), out) } as unknown as Rng;
    return { rng, drewAll: () => drawn };
  }, ['lossD', 'lossG', 'maGp'], (net) => (net === 'G' ? model!.config.lrG : model!.config.lrD));
}
