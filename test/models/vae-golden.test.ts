import { test } from 'node:test';
import { setup } from '../helpers.ts';
import { AUTO_ENCODER_GOLDENS, checkAutoEncoderStepsAgainstPyTorch } from '../golden/vae-step-golden.ts';

await setup();

const WHAT: Record<string, string> = {
  vae_step: 'the VAE\'s steps match PyTorch\'s: reparameterisation, squared error and KL, the KL weight warming up',
  vae_gan_step: 'the VAE-GAN\'s steps match PyTorch\'s: D on prior samples first, then a Bernoulli reconstruction, KL and fooling the updated D',
  vae_gan_larsen_step: 'Larsen et al.\'s VAE/GAN steps match PyTorch\'s: D\'s features as the similarity, the encoder, decoder and D each with their own loss',
};
for (const name of Object.keys(AUTO_ENCODER_GOLDENS)) test(WHAT[name], () => checkAutoEncoderStepsAgainstPyTorch(name));
