import { tf } from '../helpers.ts';
import type { Rng } from '../../src/engine/rng.ts';
import { Acgan, acganSchema } from '../../src/models/acgan.ts';
import { Cgan, cganSchema } from '../../src/models/cgan.ts';
import { checkGoldenSteps, readGoldenSteps } from './golden-steps.ts';

/** Each golden file of test/golden/make_conditional_step.py and the losses its steps report. */
export const CONDITIONAL_GOLDENS: Record<string, string[]> = {
  cgan_step: ['lossD', 'lossG'],
  cgan_hinge_step: ['lossD', 'lossG'],
  cgan_wgan_gp_step: ['lossD', 'lossG', 'gp'],
  acgan_step: ['lossD', 'lossG', 'classReal'],
  acgan_r1_step: ['lossD', 'lossG', 'classReal', 'r1'],
};

/**
 * The class-conditional GANs' training steps against the same steps written in PyTorch
 * (test/golden/make_conditional_step.py): cgan's projection discriminator with BCE and the class embedding
 * multiplying z, with the hinge loss and the embedding beside z, with WGAN-GP (the interpolates' class weights mixed
 * as their images), and AC-GAN's auxiliary classifier (and with R1); each step's losses, and every trainable weight
 * of G and D after three steps. The real images' classes, the noise, the fakes' classes and WGAN-GP's ε (drawn in
 * that order: z, then one class a fake, then one ε an image) are the file's.
 */
export async function checkConditionalStepsAgainstPyTorch(name: string): Promise<void> {
  const { family } = readGoldenSteps(name);
  await checkGoldenSteps<Cgan | Acgan>({
    name,
    build: (config, seed) => (family === 'acgan' ? new Acgan(acganSchema.parse(config), seed) : new Cgan(cganSchema.parse(config), seed)),
    nets: ['G', 'D'],
    batchOf: (step, images) => ({ images, labels: tf.tensor1d(step.labels as number[], 'int32') }),
    rngOf: (step) => {
      let drawn = false;
      const fakeLabels = [...(step.fakeLabels as number[])];
      const eps = [...((step.eps as number[] | undefined) ?? [])];
      const rng = {
        fillNormal: (out: Float32Array) => ((drawn = true), out.set(step.noise as number[]), out),
        int: () => fakeLabels.shift()!,
        uniform: () => eps.shift()!,
      } as unknown as Rng;
      return { rng, drewAll: () => drawn && fakeLabels.length === 0 && eps.length === 0 };
    },
    losses: CONDITIONAL_GOLDENS[name],
    lrOf: (_net, model) => model.config.lr,
  });
}
