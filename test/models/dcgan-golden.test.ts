import { test } from 'node:test';
import { setup } from '../helpers.ts';
import { checkDcganStepsAgainstPyTorch } from '../golden/dcgan-golden.ts';

await setup();

test('DCGAN training steps match PyTorch on the CPU: losses, weights and running statistics', () => checkDcganStepsAgainstPyTorch());

test('DCGAN with spectral normalisation in D matches PyTorch\'s spectral_norm on the CPU: losses, weights and u', () => checkDcganStepsAgainstPyTorch({ spectralNorm: true }));

test('DCGAN with R1 (gamma 10) matches PyTorch on the CPU: the penalty\'s second derivative through D\'s batch norms', () => checkDcganStepsAgainstPyTorch({ r1: true }));

test('DCGAN with a lazy R1 (every 2 steps) matches PyTorch on the CPU: StyleGAN2\'s update of D\'s own on the penalty, D\'s Adam slowed to match', () => checkDcganStepsAgainstPyTorch({ lazyR1: true }));

test('DCGAN with WGAN-GP matches PyTorch on the CPU: the critic without batch norm, its loss and the gradient penalty at the interpolates', () => checkDcganStepsAgainstPyTorch({ wganGp: true }));

test('DCGAN with WGAN-GP and a layer-normed critic (model.dNorm "layer") matches PyTorch on the CPU', () => checkDcganStepsAgainstPyTorch({ wganGp: true, layerNorm: true }));
