import { test } from 'node:test';
import { setup } from '../helpers.ts';
import { CONDITIONAL_GOLDENS, checkConditionalStepsAgainstPyTorch } from '../golden/conditional-step-golden.ts';

await setup();

const WHAT: Record<string, string> = {
  cgan_step: 'cgan\'s steps match PyTorch\'s: the projection discriminator, BCE, the class embedding multiplying z',
  cgan_hinge_step: 'cgan\'s steps with the hinge loss and the class embedding beside z match PyTorch\'s',
  cgan_wgan_gp_step: 'cgan\'s steps with WGAN-GP match PyTorch\'s: the critic without batch norm, the penalty at interpolates whose class weights mix too',
  acgan_step: 'AC-GAN\'s steps match PyTorch\'s: the auxiliary classifier\'s cross-entropy in D\'s and G\'s losses',
  acgan_r1_step: 'AC-GAN\'s steps with R1 (gamma 10) match PyTorch\'s: the penalty, and its gradient through D\'s batch norms twice',
};
for (const name of Object.keys(CONDITIONAL_GOLDENS)) test(WHAT[name], () => checkConditionalStepsAgainstPyTorch(name));
