import type { Rng } from '../../src/engine/rng.ts';
import { UnetVaeGan, unetVaeGanSchema } from '../../src/models/unet-vae-gan.ts';
import { checkGoldenSteps } from './golden-steps.ts';

/** Each golden file of test/golden/make_unet_step.py. */
export const UNET_GOLDENS = ['unet_step', 'unet_noise_step'];

/** A skip's noise as the file stores it: 8-bit levels k (NHWC, base64), eps = (k - 128) / 40. */
function skipNoise(levels: string): Float32Array {
  return Float32Array.from(Buffer.from(levels, 'base64'), (k) => (k - 128) / 40);
}

/**
 * The U-Net VAE-GAN's training steps against the same steps written in PyTorch
 * (test/golden/make_unet_step.py): D on prior samples decoded through modulated skips (or, skipMode "noise",
 * noise in their place), then the auto-encoder's reconstruction, KL and fooling the updated D, with the skips
 * modulated again; each step's losses, and every trainable weight after three steps. The noise is the file's:
 * eps and the prior's z from the step's stream, each skip level's from its derived stream ('skips', 'd' or
 * 'g', level).
 */
export async function checkUnetStepsAgainstPyTorch(name: string): Promise<void> {
  await checkGoldenSteps<UnetVaeGan>({
    name,
    build: (config, seed) => new UnetVaeGan(unetVaeGanSchema.parse(config), seed),
    nets: ['UNet', 'D'],
    rngOf: (step) => {
      const noise = [...(step.noise as number[][])];
      const skips = step.skipNoise as Record<string, string[]>;
      const unread = new Set(Object.entries(skips).flatMap(([purpose, levels]) => levels.map((_, level) => `${purpose}${level}`)));
      const rng = {
        fillNormal: (out: Float32Array) => (out.set(noise.shift()!), out),
        derive: (what: string, purpose: string, level: number) => ({
          fillNormal: (out: Float32Array) => {
            if (what !== 'skips') throw new Error(`the step derived a stream ${what}`);
            unread.delete(`${purpose}${level}`);
            out.set(skipNoise(skips[purpose][level]));
            return out;
          },
        }),
      } as unknown as Rng;
      return { rng, drewAll: () => noise.length === 0 && unread.size === 0 };
    },
    losses: ['lossD', 'lossTotal', 'lossRecon', 'lossKL', 'lossG'],
    lrOf: (net, model) => (net === 'D' ? model.config.lrD : model.config.lr),
  });
}
