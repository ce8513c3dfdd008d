import type { Rng } from '../../src/engine/rng.ts';
import { Vae, vaeSchema } from '../../src/models/vae.ts';
import { VaeGan, vaeGanSchema } from '../../src/models/vae-gan.ts';
import { checkGoldenSteps, readGoldenSteps } from './golden-steps.ts';

/** Each golden file of test/golden/make_vae_step.py and the losses its steps report. */
export const AUTO_ENCODER_GOLDENS: Record<string, string[]> = {
  vae_step: ['lossTotal', 'lossRecon', 'lossKL'],
  vae_gan_step: ['lossD', 'lossG', 'lossTotal', 'lossRecon', 'lossKL'],
  vae_gan_larsen_step: ['lossKL', 'lossFeatures', 'lossRecon', 'lossG', 'lossD'],
};

/**
 * The auto-encoders' training steps against the same steps written in PyTorch (test/golden/make_vae_step.py):
 * the VAE with its KL weight warming up, the VAE-GAN with a Bernoulli reconstruction and its discriminator,
 * and Larsen et al.'s VAE/GAN (similarity "discriminator"); each step's losses, and every trainable weight
 * after three steps. The step's noise (eps, then the prior's z) is the file's.
 */
export async function checkAutoEncoderStepsAgainstPyTorch(name: string): Promise<void> {
  const gan = readGoldenSteps(name).family === 'vae-gan';
  await checkGoldenSteps<Vae>({
    name,
    build: (config, seed) => (gan ? new VaeGan(vaeGanSchema.parse(config), seed) : new Vae(vaeSchema.parse(config), seed)),
    nets: gan ? ['VAE', 'D'] : ['VAE'],
    rngOf: (step) => {
      const noise = [...(step.noise as number[][])];
      const rng = { fillNormal: (out: Float32Array) => (out.set(noise.shift()!), out) } as unknown as Rng;
      return { rng, drewAll: () => noise.length === 0 };
    },
    losses: AUTO_ENCODER_GOLDENS[name],
    lrOf: (net, model) => (net === 'D' ? (model as VaeGan).config.lrD : model.config.lr),
  });
}
