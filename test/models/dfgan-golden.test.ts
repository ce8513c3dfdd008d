import { test } from 'node:test';
import { setup } from '../helpers.ts';
import { checkDfganStepsAgainstPyTorch } from '../golden/dfgan-step-golden.ts';

await setup();

test('DF-GAN training steps match its authors\' code in PyTorch: hinge with mismatched pairs, MA-GP, noise and sentence in the fusion blocks', checkDfganStepsAgainstPyTorch);
