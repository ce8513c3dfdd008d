import * as tf from '@tensorflow/tfjs-core';
import { RELU, type Conv2d } from './layers.ts';
import { ParamSet } from './params.ts';
import { VGG19_BLOCKS, vggConvolutions } from './vgg.ts';

/**
 * The convolutional part of VGG19 (Simonyan & Zisserman) as torchvision's `vgg19().features` numbers it,
 * up to relu5_1, giving pix2pixHD's five feature maps relu1_1, relu2_1, relu3_1, relu4_1, relu5_1 (its
 * Vgg19 slices features[0:2], [2:7], [7:12], [12:21], [21:30]). Parameters are `features.<index>.weight`
 * / `.bias`, so torchvision's vgg19 .pth loads by name; they are fixed (not trainable). `widthDivisor`
 * divides every channel count (tests use reduced widths with random weights).
 */
export class Vgg19Features {
  readonly params = new ParamSet();
  /** Per block, its convolutions (3x3, padding 1, bias, each followed by ReLU), up to relu5_1. */
  private readonly blocks: Conv2d[][];

  constructor(widthDivisor = 1) {
    // relu5_1 is the last feature map: the fifth block's first convolution.
    const blocks = VGG19_BLOCKS.map((b, i) => (i === VGG19_BLOCKS.length - 1 ? { ...b, convs: 1 } : b));
    this.blocks = vggConvolutions(this.params, blocks, widthDivisor, 'vgg19');
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
