import { test } from 'node:test';
import { setup } from '../helpers.ts';
import { checkPix2PixHDStepsAgainstPyTorch } from '../golden/pix2pixhd-step-golden.ts';

await setup();

test('pix2pixHD training steps match NVIDIA\'s code in PyTorch: global G with the feature encoder and the VGG loss', () => checkPix2PixHDStepsAgainstPyTorch('global'));

test('pix2pixHD training steps match NVIDIA\'s code in PyTorch: the local enhancer across the fixed-global switch', () => checkPix2PixHDStepsAgainstPyTorch('local'));

test('pix2pixHD training steps match NVIDIA\'s code in PyTorch: --label_feat, the encoder pooling per label where the maps have instances', () => checkPix2PixHDStepsAgainstPyTorch('labelfeat'));

test('pix2pixHD training steps match NVIDIA\'s code in PyTorch: --load_features, G reading precomputed feature maps with no encoder', () => checkPix2PixHDStepsAgainstPyTorch('loadfeat'));
