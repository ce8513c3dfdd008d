import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '../engine/rng.ts';
import { Conv2d, RELU } from './layers.ts';
import { ParamSet } from './params.ts';

/**
 * The convolutional part of VGG19 (Simonyan & Zisserman) as torchvision's `vgg19().features` numbers it,
 * up to relu5_1, giving pix2pixHD's five feature maps relu1_1, relu2_1, relu3_1, relu4_1, relu5_1 (its
 * Vgg19 slices features[0:2], [2:7], [7:12], [12:21], [21:30]). Parameters are `features.<index>.weight`
 * / `.bias`, so torchvision's vgg19 .pth loads by name; they are fixed (not trainable). `widthDivisor`
 * divides every channel count (tests use reduced widths with random weights).
 */
const BLOCKS: { channels: number; convs: number }[] = [
  { channels: 64, convs: 2 }, { channels: 128, convs: 2 }, { channels: 256, convs: 4 }, { channels: 512, convs: 4 }, { channels: 512, convs: 1 },
];

export class Vgg19Features {
  readonly params = new ParamSet();
  /** Per block, its convolutions (3x3, padding 1, bias, each followed by ReLU). */
  private readonly blocks: Conv2d[][] = [];

  constructor(widthDivisor = 1) {
    // Values are replaced by loaded weights; the seeded init only gives the variables their shapes.
    const rng = new Rng(0, 'vgg19');
    let index = 0;
    let inChannels = 3;
    for (const { channels, convs } of BLOCKS) {
      const out = channels / widthDivisor;
      const layers: Conv2d[] = [];
      for (let i = 0; i < convs; i++) {
        layers.push(new Conv2d(this.params, `features.${index}`, { inChannels, outChannels: out, kernel: 3, padding: 1, bias: true }, rng));
        inChannels = out;
        index += 2; // conv, ReLU
      }
      index += 1; // max pooling after each block but the last
      this.blocks.push(layers);
    }
    // Fixed features: tfjs takes no gradients for them (G's gradients still flow through them).
    for (const [, v] of this.params.named()) v.trainable = false;
  }

  /**
   * The five feature maps of images [n, H, W, 3]: relu1_1 (H x W), relu2_1 (H/2), relu3_1 (H/4),
   * relu4_1 (H/8), relu5_1 (H/16). Each slice starts where the previous one stopped: the remaining
   * convolutions of the previous block, its 2x2 max pooling, then the first convolution of the next.
   */
  apply(images: tf.Tensor4D): tf.Tensor4D[] {
    const out: tf.Tensor4D[] = [];
    let h = images;
    this.blocks.forEach((convs, b) => {
      if (b > 0) {
        for (const c of this.blocks[b - 1].slice(1)) h = c.apply(h, RELU);
        h = tf.maxPool(h, 2, 2, 'valid');
      }
      h = convs[0].apply(h, RELU);
      out.push(h);
    });
    return out;
  }

  dispose(): void {
    this.params.dispose();
  }
}

/** Where the VGG19 weights come from when no flag names them. */
export const VGG_WEIGHTS_ENV = 'GANTRY_VGG_WEIGHTS';
export const VGG_WEIGHTS_HELP = "torchvision's VGG19 weights (vgg19-dcbb9e9d.pth, or a .safetensors export of it)";
