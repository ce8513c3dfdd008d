import { GantryError } from '../errors.ts';
import type { Vgg19Features } from './vgg19.ts';

// The browser's vgg19-file.ts (package.json "browser"): a page draws images and never trains, so no
// VGG19 weights are read there.

export function loadVgg19(path: string): Vgg19Features {
  throw new GantryError(`VGG19 weights ${path} are read when training, in Node; the browser build only draws images`);
}

export function vggWeightsPath(_given: string | undefined): string | undefined {
  return undefined;
}
