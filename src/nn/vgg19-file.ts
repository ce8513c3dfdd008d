import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { GantryError, given } from '../errors.ts';
import { readStateDict } from '../io/torch.ts';
import { builtFromFile, loadTorchWeights } from './torch-weights.ts';
import { Vgg19Features, VGG_WEIGHTS_ENV, VGG_WEIGHTS_HELP } from './vgg19.ts';

/*
 * VGG19's weights as files: the one place the perceptual loss touches the file system. The browser bundle
 * (package.json "browser") takes vgg19-file.browser.ts instead, where no file is read: generators never
 * need VGG, only training does.
 */

/**
 * VGG19's features from a torchvision state dict (.pth or .safetensors), at the width the file has
 * (features.0.weight's 64 output channels, or a reduced test width). One error naming the file otherwise.
 */
export function loadVgg19(path: string): Vgg19Features {
  // The convolutions only: torchvision's classifier, 124 M of the file's 144 M parameters, is never used.
  const state = readStateDict(path, (name) => name.startsWith('features.'));
  const first = state.get('features.0.weight');
  if (!first || first.shape.length !== 4 || 64 % first.shape[0] !== 0) {
    throw new GantryError(`${path} is not a VGG19 state dict (no features.0.weight of 64 filters); give ${VGG_WEIGHTS_HELP}`);
  }
  return builtFromFile(() => new Vgg19Features(64 / first.shape[0]), (vgg) => loadTorchWeights(vgg.params, state, path));
}

/**
 * The VGG19 weights a run trains with: the given file, else GANTRY_VGG_WEIGHTS, else none (undefined); as
 * an absolute path, checked to exist.
 */
export function vggWeightsPath(file: string | undefined): string | undefined {
  const path = file ?? process.env[VGG_WEIGHTS_ENV];
  if (!path) return undefined;
  if (!existsSync(path)) throw new GantryError(`VGG19 weights ${path} do not exist; give ${VGG_WEIGHTS_HELP} with ${given('vggWeights')} or ${VGG_WEIGHTS_ENV}, or turn the VGG loss off with model.vgg false`);
  return resolve(path);
}
