import * as tf from '@tensorflow/tfjs-core';
import { GantryError } from '../errors.ts';
import { readStateDict, stateDictKey } from '../io/torch.ts';
import { Rng } from '../engine/rng.ts';
import { Linear, RELU, type Conv2d } from '../nn/layers.ts';
import { ParamSet } from '../nn/params.ts';
import { builtFromFile, loadTorchWeights } from '../nn/torch-weights.ts';
import { VGG16_BLOCKS, vggConvolutions } from '../nn/vgg.ts';

export const VGG16_HELP = "torchvision's VGG-16 weights (vgg16-397923af.pth, ImageNet's IMAGENET1K_V1, or a .safetensors export of it)";

/** The size torch-fidelity resizes every image to before VGG-16. */
const INPUT_SIZE = 224;
/** ImageNet's mean and std per RGB channel, on the 0..255 scale torch-fidelity normalises. */
const MEAN_255 = [0.485 * 255, 0.456 * 255, 0.406 * 255];
const STD_255 = [0.229 * 255, 0.224 * 255, 0.225 * 255];
/** VGG's last feature map: 7x7 at 224x224 input, where torchvision's adaptive average pooling to 7x7 is the identity. */
const FINAL_SIDE = 7;

/**
 * VGG-16 as torch-fidelity's `vgg16` feature extractor computes it: torchvision's vgg16 with its classifier
 * cut after the second linear layer, and the layer `fc2_relu` (its default for precision and recall, and
 * for FID and KID on these features): 4096 values an image.
 *
 * Input as torch-fidelity takes it: 8-bit RGB (here [0, 1], rounded back to its 256 levels), as float 0..255,
 * resized to 224x224 as TensorFlow 1.x resizes bilinearly (no half-pixel offset: tfjs's resizeBilinear with
 * both flags off is that resize), normalised by ImageNet's mean and std times 255. Grey images are
 * repeated to three channels (torch-fidelity refuses them; pytorch-fid's Inception repeats them too).
 */
export class Vgg16Fc2 {
  readonly params = new ParamSet();
  /** fc2_relu's width: 4096, or a reduced test width. */
  readonly dim: number;
  /** Its weights' key (stateDictKey), set by load(): what names the network in statistics files and caches. */
  weightsKey = '';
  private readonly blocks: Conv2d[][];
  private readonly fc1: Linear;
  private readonly fc2: Linear;

  /** An unloaded network of torchvision's names and shapes at these widths (load() fills it). */
  constructor(widthDivisor = 1, hidden = 4096) {
    this.blocks = vggConvolutions(this.params, VGG16_BLOCKS, widthDivisor, 'vgg16');
    const rng = new Rng(0, 'vgg16', 'classifier');
    const lastChannels = VGG16_BLOCKS[VGG16_BLOCKS.length - 1].channels / widthDivisor;
    this.fc1 = new Linear(this.params, 'classifier.0', { inFeatures: lastChannels * FINAL_SIDE * FINAL_SIDE, outFeatures: hidden }, rng);
    this.fc2 = new Linear(this.params, 'classifier.3', { inFeatures: hidden, outFeatures: hidden }, rng);
    for (const [, v] of this.params.named()) v.trainable = false;
    this.dim = hidden;
  }

  /**
   * The network in a torchvision state dict (.pth or .safetensors), at the widths the file has
   * (features.0.weight's 64 filters and classifier.0's 4096 outputs, or a reduced test width). The last
   * linear layer (ImageNet's 1000 classes) is not read.
   */
  static load(path: string): Vgg16Fc2 {
    const state = readStateDict(path, (name) => name.startsWith('features.') || name.startsWith('classifier.0.') || name.startsWith('classifier.3.'));
    const first = state.get('features.0.weight');
    const fc1 = state.get('classifier.0.weight');
    if (!first || first.shape.length !== 4 || 64 % first.shape[0] !== 0 || !fc1 || fc1.shape.length !== 2) {
      throw new GantryError(`${path} is not a VGG-16 state dict (no features.0.weight of 64 filters, or no classifier.0.weight); give ${VGG16_HELP}`);
    }
    const net = builtFromFile(() => new Vgg16Fc2(64 / first.shape[0], fc1.shape[0]), (built) => loadTorchWeights(built.params, state, path));
    net.weightsKey = stateDictKey(state);
    return net;
  }

  /** fc2_relu [n, dim] of images [n, h, w, 1 or 3] in [0, 1] (any size). */
  apply(images01: tf.Tensor4D): tf.Tensor2D {
    return tf.tidy(() => {
      let x: tf.Tensor4D = images01.shape[3] === 1 ? tf.tile(images01, [1, 1, 1, 3]) : images01;
      x = tf.round(tf.mul(x, 255)) as tf.Tensor4D;
      x = tf.image.resizeBilinear(x, [INPUT_SIZE, INPUT_SIZE], false, false);
      x = tf.div(tf.sub(x, MEAN_255), STD_255) as tf.Tensor4D;
      for (const convs of this.blocks) {
        for (const conv of convs) x = conv.apply(x, RELU);
        x = tf.maxPool(x, 2, 2, 'valid');
      }
      // torchvision flattens [C, 7, 7] (NCHW); the linear layer's weights are in that order.
      const n = x.shape[0];
      const flat = tf.reshape(tf.transpose(x, [0, 3, 1, 2]), [n, -1]) as tf.Tensor2D;
      // classifier[1] is a ReLU, [2] a dropout (the identity in evaluation), [3] the second linear layer.
      return this.fc2.apply(this.fc1.apply(flat, RELU), RELU);
    });
  }

  dispose(): void {
    this.params.dispose();
  }
}
