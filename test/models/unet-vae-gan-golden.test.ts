import { test } from 'node:test';
import { setup } from '../helpers.ts';
import { checkUnetStepsAgainstPyTorch } from '../golden/unet-step-golden.ts';

await setup();

test('the U-Net VAE-GAN\'s steps match PyTorch\'s: skips modulated by (1 + alpha eps), D on prior samples, then reconstruction, KL and fooling the updated D', () => checkUnetStepsAgainstPyTorch('unet_step'));
test('the U-Net VAE-GAN\'s steps with noise in place of D\'s samples\' skips and the KL weight warming up match PyTorch\'s', () => checkUnetStepsAgainstPyTorch('unet_noise_step'));
