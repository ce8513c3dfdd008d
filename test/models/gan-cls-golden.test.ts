import { test } from 'node:test';
import { setup } from '../helpers.ts';
import { checkGanClsStepsAgainstPyTorch } from '../golden/gan-cls-step-golden.ts';

await setup();

test('GAN-CLS / GAN-INT training steps match the paper\'s step in PyTorch: matching-aware D, interpolated captions, text projections', () => checkGanClsStepsAgainstPyTorch('paper'));

test('GAN-CLS / GAN-INT training steps match the authors\' code in PyTorch: batch norm in D\'s text projection, the interpolated term at half weight', () => checkGanClsStepsAgainstPyTorch('authors'));
