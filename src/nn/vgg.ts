import { Rng } from '../engine/rng.ts';
import { Conv2d } from './layers.ts';
import type { ParamSet } from './params.ts';

/** One block of a VGG network: `convs` 3x3 convolutions of `channels` filters each, then 2x2 max pooling. */
export interface VggBlock {
  channels: number;
  convs: number;
}

/** torchvision's configuration "D" (VGG-16): 13 convolutions. */
export const VGG16_BLOCKS: readonly VggBlock[] = [
  { channels: 64, convs: 2 }, { channels: 128, convs: 2 }, { channels: 256, convs: 3 }, { channels: 512, convs: 3 }, { channels: 512, convs: 3 },
];

/** torchvision's configuration "E" (VGG-19): 16 convolutions. */
export const VGG19_BLOCKS: readonly VggBlock[] = [
  { channels: 64, convs: 2 }, { channels: 128, convs: 2 }, { channels: 256, convs: 4 }, { channels: 512, convs: 4 }, { channels: 512, convs: 4 },
];

/**
 * The convolutions of torchvision's `vgg*().features` (3x3, padding 1, bias, each followed by ReLU), per
 * block, named `features.<index>` as torchvision numbers the Sequential (a ReLU after each convolution and
 * a pooling after each block take an index too), so a torchvision state dict loads by name. `widthDivisor`
 * divides every channel count (tests use reduced widths). Values come from loaded weights: the seeded
 * init only gives the variables their shapes.
 */
export function vggConvolutions(params: ParamSet, blocks: readonly VggBlock[], widthDivisor: number, seedName: string): Conv2d[][] {
  const rng = new Rng(0, seedName);
  let index = 0;
  let inChannels = 3;
  return blocks.map(({ channels, convs }) => {
    const out = channels / widthDivisor;
    const layers: Conv2d[] = [];
    for (let i = 0; i < convs; i++) {
      layers.push(new Conv2d(params, `features.${index}`, { inChannels, outChannels: out, kernel: 3, padding: 1, bias: true }, rng));
      inChannels = out;
      index += 2; // conv, ReLU
    }
    index += 1; // max pooling
    return layers;
  });
}
