import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from '../engine/rng.ts';
import { Conv2d, ConvTranspose2d, leaky } from './layers.ts';
import type { ParamSet } from './params.ts';
import { AVG_POOL_3X3S2, INSTANCE_IDS, INSTANCE_MEANS, INSTANCE_NORM, REFLECTION_PAD } from '../kernels/image-ops.ts';
import { ownKernel } from '../kernels/registry.ts';

/**
 * The networks of pix2pixHD (Wang et al. 2018) as NVIDIA's models/networks.py builds them, NHWC, with
 * its parameter names (so its trained .pth files load by name): the global generator G1 with its
 * residual blocks, and the multi-scale PatchGAN discriminator whose every block's output is kept for
 * feature matching. Convolution weights start at N(0, 0.02) (its weights_init), biases at PyTorch's
 * default.
 */

const WEIGHT_INIT = { kind: 'normal', std: 0.02 } as const;

/** InstanceNorm2d(affine=False): each image's channels normalised over H x W (biased variance, eps 1e-5). */
export function instanceNorm(x: tf.Tensor4D, eps = 1e-5): tf.Tensor4D {
  if (!ownKernel(INSTANCE_NORM)) return instanceNormOps(x, eps);
  const [y, invStd] = tf.engine().runKernel(INSTANCE_NORM, { x }, { eps }) as tf.Tensor4D[];
  invStd.dispose();
  return y;
}

/** instanceNorm from tfjs ops: other backends, and the reference of gantry's kernels. */
export function instanceNormOps(x: tf.Tensor4D, eps = 1e-5): tf.Tensor4D {
  return tf.tidy(() => {
    const { mean, variance } = tf.moments(x, [1, 2], true);
    return tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, eps))) as tf.Tensor4D;
  });
}

/**
 * ReflectionPad2d(p): p rows and columns mirrored (without repeating the edge) on every side. Built from
 * slices, reversals and concatenation rather than tf.mirrorPad, whose gradient in tfjs 4.22 keeps only
 * the centre and drops what flowed through the mirrored border.
 */
export function reflectionPad(x: tf.Tensor4D, p: number): tf.Tensor4D {
  const [, h, w] = x.shape;
  if (p >= h || p >= w) throw new Error(`reflection padding ${p} needs maps larger than ${p} (got ${h}x${w})`);
  if (ownKernel(REFLECTION_PAD)) return tf.engine().runKernel(REFLECTION_PAD, { x }, { pad: p }) as tf.Tensor4D;
  return reflectionPadOps(x, p);
}

/** reflectionPad from tfjs ops: other backends, and the reference of gantry's kernels. */
export function reflectionPadOps(x: tf.Tensor4D, p: number): tf.Tensor4D {
  return tf.tidy(() => {
    const [, h, w] = x.shape;
    const rows = tf.concat([
      tf.reverse(tf.slice(x, [0, 1, 0, 0], [-1, p, -1, -1]), 1), x, tf.reverse(tf.slice(x, [0, h - 1 - p, 0, 0], [-1, p, -1, -1]), 1),
    ], 1);
    return tf.concat([
      tf.reverse(tf.slice(rows, [0, 0, 1, 0], [-1, -1, p, -1]), 2), rows, tf.reverse(tf.slice(rows, [0, 0, w - 1 - p, 0], [-1, -1, p, -1]), 2),
    ], 2) as tf.Tensor4D;
  });
}

/**
 * AvgPool2d(3, stride 2, padding 1, count_include_pad=False): pix2pixHD's down-sampling between the
 * discriminator's scales and of G1's input. Written as a sum over the window (a depthwise convolution
 * with ones) divided by the number of pixels inside the image, so its gradient is exact at the borders.
 */
export function downsample(x: tf.Tensor4D): tf.Tensor4D {
  if (ownKernel(AVG_POOL_3X3S2)) return tf.engine().runKernel(AVG_POOL_3X3S2, { x }) as tf.Tensor4D;
  return downsampleOps(x);
}

/** downsample from tfjs ops: other backends, and the reference of gantry's kernels. */
export function downsampleOps(x: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => {
    const [, h, w, c] = x.shape;
    const sums = tf.depthwiseConv2d(x, tf.ones([3, 3, c, 1]) as tf.Tensor4D, 2, 1);
    const counts = tf.depthwiseConv2d(tf.ones([1, h, w, 1]) as tf.Tensor4D, tf.ones([3, 3, 1, 1]) as tf.Tensor4D, 2, 1);
    return tf.div(sums, counts) as tf.Tensor4D;
  });
}

type Stage = (h: tf.Tensor4D) => tf.Tensor4D;

/**
 * Runs the stages in turn, each in a tidy of its own, and frees each stage's output once the next has
 * read it (never x, which is the caller's). A pass then holds a stage's own maps and its input rather than
 * every intermediate until the caller's tidy ends: at pix2pixHD's real sizes that is the difference
 * between a few feature maps and dozens of them (each 64 MB at 512x1024 x 32 channels). Under a gradient
 * tape nothing is lost: tfjs keeps its own copies of what the backward pass reads.
 */
export function runStages(x: tf.Tensor4D, stages: readonly Stage[]): tf.Tensor4D {
  let h = x;
  for (const stage of stages) {
    const next = tf.tidy(() => stage(h));
    if (h !== x && h !== next) h.dispose();
    h = next;
  }
  return h;
}

/**
 * conv (after reflection padding `pad`, if any), instance norm, ReLU: the unit every pix2pixHD network
 * repeats. Its steps are stages too, so the padded input, the convolution's output and the normalised
 * maps are each freed once the next step has read them, not held together until the unit ends.
 */
function convNormRelu(c: Conv2d | ConvTranspose2d, pad = 0): Stage {
  const steps: Stage[] = [(h) => c.apply(h), (h) => instanceNorm(h), (h) => tf.relu(h)];
  return (h) => runStages(h, pad ? [(p) => reflectionPad(p, pad), ...steps] : steps);
}

/** reflect-pad 3, 7x7 conv, tanh: the output head of G1, G2 and E (steps freed as convNormRelu's). */
function tanhHead(c: Conv2d): Stage {
  return (h) => runStages(h, [(p) => reflectionPad(p, 3), (p) => c.apply(p), (y) => tf.tanh(y)]);
}

/** A convolution as pix2pixHD's: bias on, weights N(0, 0.02). */
function conv(params: ParamSet, name: string, inChannels: number, outChannels: number, kernel: number, stride: number, padding: number, rng: Rng): Conv2d {
  return new Conv2d(params, name, { inChannels, outChannels, kernel, stride, padding, bias: true, init: WEIGHT_INIT }, rng);
}

/** x + F(x), F = reflect-pad 1, 3x3 conv, IN, ReLU, reflect-pad 1, 3x3 conv, IN (`<name>.conv_block.1|5`). */
export class ResnetBlock {
  private readonly conv1: Conv2d;
  private readonly conv2: Conv2d;

  constructor(params: ParamSet, name: string, dim: number, rng: Rng) {
    this.conv1 = conv(params, `${name}.conv_block.1`, dim, dim, 3, 1, 0, rng);
    this.conv2 = conv(params, `${name}.conv_block.5`, dim, dim, 3, 1, 0, rng);
  }

  apply(x: tf.Tensor4D): tf.Tensor4D {
    const residual = runStages(x, [convNormRelu(this.conv1, 1), (h) => reflectionPad(h, 1), (h) => this.conv2.apply(h), (h) => instanceNorm(h)]);
    const y = tf.add(x, residual) as tf.Tensor4D;
    residual.dispose();
    return y;
  }
}

export interface GlobalGeneratorOptions {
  inputChannels: number;
  outputChannels: number;
  ngf: number;
  /** Stride-2 down-samplings (the official default 4; channels double each time). */
  nDown: number;
  /** Residual blocks at the bottom (the official default 9). */
  nBlocks: number;
}

/**
 * G1, the global generator: reflect-pad 3, 7x7 conv, IN, ReLU; nDown x (3x3 stride-2 conv, IN, ReLU);
 * nBlocks residual blocks; nDown x (3x3 stride-2 transposed conv with output padding 1, IN, ReLU);
 * reflect-pad 3, 7x7 conv, tanh. Parameters are named by their index in the official nn.Sequential
 * (`model.1.weight`, ...). `features` stops before the last pad / conv / tanh (what the local enhancer
 * adds to its own front end).
 */
export class GlobalGenerator {
  private readonly first: Conv2d;
  private readonly downs: Conv2d[] = [];
  private readonly blocks: ResnetBlock[] = [];
  private readonly ups: ConvTranspose2d[] = [];
  private readonly last: Conv2d | null;

  constructor(params: ParamSet, prefix: string, o: GlobalGeneratorOptions, rng: Rng, withHead = true) {
    let index = 1;
    // H x W x ngf
    this.first = conv(params, `${prefix}.${index}`, o.inputChannels, o.ngf, 7, 1, 0, rng);
    index += 3;
    // each down-sampling halves the size and doubles the channels: H/2 x W/2 x 2 ngf, ...
    for (let i = 0; i < o.nDown; i++, index += 3) {
      const c = o.ngf * 2 ** i;
      this.downs.push(conv(params, `${prefix}.${index}`, c, 2 * c, 3, 2, 1, rng));
    }
    // H/2^nDown x W/2^nDown x ngf 2^nDown, nBlocks times
    for (let i = 0; i < o.nBlocks; i++, index++) this.blocks.push(new ResnetBlock(params, `${prefix}.${index}`, o.ngf * 2 ** o.nDown, rng));
    // each up-sampling doubles the size and halves the channels, back to H x W x ngf
    for (let i = 0; i < o.nDown; i++, index += 3) {
      const c = o.ngf * 2 ** (o.nDown - i);
      this.ups.push(new ConvTranspose2d(params, `${prefix}.${index}`, { inChannels: c, outChannels: c / 2, kernel: 3, stride: 2, padding: 1, outputPadding: 1, bias: true, init: WEIGHT_INIT }, rng));
    }
    // H x W x outputChannels, tanh
    this.last = withHead ? conv(params, `${prefix}.${index + 1}`, o.ngf, o.outputChannels, 7, 1, 0, rng) : null;
  }

  private featureStages(): Stage[] {
    return [convNormRelu(this.first, 3), ...this.downs.map((d) => convNormRelu(d)), ...this.blocks.map((b) => (h: tf.Tensor4D) => b.apply(h)), ...this.ups.map((u) => convNormRelu(u))];
  }

  /** The feature map before the output head: [n, H, W, ngf]. */
  features(x: tf.Tensor4D): tf.Tensor4D {
    return runStages(x, this.featureStages());
  }

  /** Images in [-1, 1]: [n, H, W, outputChannels]. */
  apply(x: tf.Tensor4D): tf.Tensor4D {
    if (!this.last) throw new Error('this GlobalGenerator was built without its output head');
    return runStages(x, [...this.featureStages(), tanhHead(this.last)]);
  }
}

export interface DiscriminatorOptions {
  inputChannels: number;
  ndf: number;
  /** Stride-2 layers of each PatchGAN (the official default 3). */
  nLayers: number;
  /** Scales (the official default 2 at 1024x512 and 3 at 2048x1024). */
  numD: number;
}

/**
 * One PatchGAN with every block's output kept (getIntermFeat): 4x4 conv stride 2 (pad 2), LeakyReLU 0.2;
 * nLayers - 1 x (4x4 conv stride 2, IN, LeakyReLU); 4x4 conv stride 1, IN, LeakyReLU; 4x4 conv stride 1 to
 * one channel. Channels double up to 512. Parameters `<prefix>_layer<j>.0.weight` as the official code's.
 */
class NLayerDiscriminator {
  private readonly convs: Conv2d[] = [];

  constructor(params: ParamSet, prefix: string, o: DiscriminatorOptions, rng: Rng) {
    let nf = o.ndf;
    this.convs.push(conv(params, `${prefix}_layer0.0`, o.inputChannels, nf, 4, 2, 2, rng));
    for (let n = 1; n < o.nLayers; n++) {
      const prev = nf;
      nf = Math.min(2 * nf, 512);
      this.convs.push(conv(params, `${prefix}_layer${n}.0`, prev, nf, 4, 2, 2, rng));
    }
    const prev = nf;
    nf = Math.min(2 * nf, 512);
    this.convs.push(conv(params, `${prefix}_layer${o.nLayers}.0`, prev, nf, 4, 1, 2, rng));
    this.convs.push(conv(params, `${prefix}_layer${o.nLayers + 1}.0`, nf, 1, 4, 1, 2, rng));
  }

  /** Every block's output; the last is the patch scores [n, h', w', 1]. */
  apply(x: tf.Tensor4D): tf.Tensor4D[] {
    const out: tf.Tensor4D[] = [];
    let h = x;
    const last = this.convs.length - 1;
    this.convs.forEach((c, j) => {
      const input = h;
      // no norm on the first block, neither norm nor activation on the scores
      if (j === 0) h = c.apply(input, leaky(0.2));
      else if (j < last) h = tf.tidy(() => tf.leakyRelu(instanceNorm(c.apply(input)), 0.2));
      else h = c.apply(input);
      out.push(h);
    });
    return out;
  }
}

/**
 * numD PatchGANs, the first on the full-size input, each next one on it down-sampled once more (3x3
 * average pooling, stride 2). As in the official code the full-size input goes to the last scale's
 * weights (`scale<numD-1>_...`). Returns, per scale, every block's output.
 */
export class MultiscaleDiscriminator {
  private readonly scales: NLayerDiscriminator[] = [];

  constructor(params: ParamSet, o: DiscriminatorOptions, rng: Rng) {
    for (let i = 0; i < o.numD; i++) this.scales.push(new NLayerDiscriminator(params, `scale${i}`, o, rng));
  }

  apply(x: tf.Tensor4D): tf.Tensor4D[][] {
    const result: tf.Tensor4D[][] = [];
    let input = x;
    for (let i = 0; i < this.scales.length; i++) {
      result.push(this.scales[this.scales.length - 1 - i].apply(input));
      if (i < this.scales.length - 1) input = downsample(input);
    }
    return result;
  }
}

export interface LocalEnhancerOptions extends GlobalGeneratorOptions {
  /** Residual blocks of G2 (the official n_blocks_local, 3). */
  nBlocksLocal: number;
}

/**
 * G2, the local enhancer (one level, the official n_local_enhancers 1), around G1 built at 2 ngf without
 * its output head: G1 reads the input average-pooled once (H/2 x W/2) and its features are added to G2's
 * front end (reflect-pad 3, 7x7 conv ngf, IN, ReLU, 3x3 stride-2 conv 2 ngf, IN, ReLU); then G2's residual
 * blocks, a transposed conv back to H x W x ngf (IN, ReLU), reflect-pad 3, 7x7 conv, tanh. G1's tensors
 * live in their own ParamSet under the official `model.*` names (a global run's G loads into it); G2's
 * are `model1_1.*` / `model1_2.*`.
 */
export class LocalEnhancer {
  readonly global: GlobalGenerator;
  private readonly frontConv: Conv2d;
  private readonly frontDown: Conv2d;
  private readonly blocks: ResnetBlock[] = [];
  private readonly up: ConvTranspose2d;
  private readonly last: Conv2d;

  constructor(globalParams: ParamSet, localParams: ParamSet, o: LocalEnhancerOptions, rng: Rng) {
    this.global = new GlobalGenerator(globalParams, 'model', { ...o, ngf: 2 * o.ngf }, rng, false);
    // H x W x ngf, then H/2 x W/2 x 2 ngf (G1's feature size)
    this.frontConv = conv(localParams, 'model1_1.1', o.inputChannels, o.ngf, 7, 1, 0, rng);
    this.frontDown = conv(localParams, 'model1_1.4', o.ngf, 2 * o.ngf, 3, 2, 1, rng);
    for (let i = 0; i < o.nBlocksLocal; i++) this.blocks.push(new ResnetBlock(localParams, `model1_2.${i}`, 2 * o.ngf, rng));
    // back to H x W x ngf, then H x W x outputChannels
    this.up = new ConvTranspose2d(localParams, `model1_2.${o.nBlocksLocal}`, { inChannels: 2 * o.ngf, outChannels: o.ngf, kernel: 3, stride: 2, padding: 1, outputPadding: 1, bias: true, init: WEIGHT_INIT }, rng);
    this.last = conv(localParams, `model1_2.${o.nBlocksLocal + 4}`, o.ngf, o.outputChannels, 7, 1, 0, rng);
  }

  /** Images in [-1, 1]: [n, H, W, outputChannels]. */
  apply(x: tf.Tensor4D): tf.Tensor4D {
    const front = runStages(x, [convNormRelu(this.frontConv, 3), convNormRelu(this.frontDown)]);
    const global = tf.tidy(() => this.global.features(downsample(x)));
    const sum = tf.add(front, global) as tf.Tensor4D;
    tf.dispose([front, global]);
    const y = runStages(sum, [...this.blocks.map((b) => (h: tf.Tensor4D) => b.apply(h)), convNormRelu(this.up), tanhHead(this.last)]);
    sum.dispose();
    return y;
  }
}

/**
 * Instance-wise average pooling: each image's features [n, H, W, F] replaced, per instance id of
 * `instances` [n, H, W], by their mean over that instance's pixels (the official Encoder's last step).
 * Differentiable in the features. On WebGPU gantry's kernel, whose sums have no float atomics (tfjs's
 * segment sums there add in the order the GPU runs them); on the CPU the segment sums, deterministic there.
 */
export function instanceMeans(features: tf.Tensor4D, instances: tf.Tensor3D): tf.Tensor4D {
  if (ownKernel(INSTANCE_MEANS)) return tf.engine().runKernel(INSTANCE_MEANS, { x: features, ids: instances }) as tf.Tensor4D;
  return instanceMeansOps(features, instances);
}

/** instanceMeans from tfjs ops (a segment sum and a gather): other backends, and the reference of gantry's kernels. */
export function instanceMeansOps(features: tf.Tensor4D, instances: tf.Tensor3D): tf.Tensor4D {
  return tf.tidy(() => {
    const [n, h, w, f] = features.shape;
    // One segment per (image, instance id): instances of the same id in two images are pooled apart.
    // Ids are renumbered 0 .. K - 1 where the backend has Unique (cpu); elsewhere (WebGL, WebGPU on tfjs's
    // kernels) they are used as they are, below INSTANCE_IDS as 16-bit maps hold them.
    const flatIds = tf.reshape(instances, [-1]) as tf.Tensor1D;
    const renumbered = tf.getKernel('Unique', tf.getBackend()) ? tf.unique(flatIds) : null;
    const ids = renumbered ? renumbered.values.shape[0] : INSTANCE_IDS;
    const image = tf.reshape(tf.tile(tf.reshape(tf.range(0, n, 1, 'int32'), [n, 1]), [1, h * w]), [-1]);
    const segments = tf.add(tf.mul(image, tf.scalar(ids, 'int32')), renumbered ? renumbered.indices : flatIds) as tf.Tensor1D;
    const flat = tf.reshape(features, [n * h * w, f]);
    const sums = tf.unsortedSegmentSum(flat, segments, n * ids);
    const counts = tf.unsortedSegmentSum(tf.ones([n * h * w, 1]), segments, n * ids);
    const means = tf.div(sums, tf.maximum(counts, 1));
    return tf.reshape(tf.gather(means, segments), [n, h, w, f]) as tf.Tensor4D;
  });
}

export interface FeatureEncoderOptions {
  inputChannels: number;
  /** Features per pixel (the official feat_num, 3). */
  featNum: number;
  /** Filters of the first layer (the official nef, 16). */
  nef: number;
  /** Down-samplings, and as many up-samplings (the official n_downsample_E, 4). */
  nDown: number;
}

/**
 * E, the instance feature encoder: reflect-pad 3, 7x7 conv nef, IN, ReLU; nDown x (3x3 stride-2 conv,
 * IN, ReLU; channels double); nDown x (3x3 stride-2 transposed conv with output padding 1, IN, ReLU;
 * channels halve); reflect-pad 3, 7x7 conv to featNum, tanh; then the mean over each instance. Names
 * `model.N.*` as the official Encoder's.
 */
export class FeatureEncoder {
  private readonly first: Conv2d;
  private readonly downs: Conv2d[] = [];
  private readonly ups: ConvTranspose2d[] = [];
  private readonly last: Conv2d;

  constructor(params: ParamSet, o: FeatureEncoderOptions, rng: Rng) {
    let index = 1;
    // H x W x nef
    this.first = conv(params, `model.${index}`, o.inputChannels, o.nef, 7, 1, 0, rng);
    index += 3;
    // H / 2^nDown x W / 2^nDown x nef 2^nDown
    for (let i = 0; i < o.nDown; i++, index += 3) this.downs.push(conv(params, `model.${index}`, o.nef * 2 ** i, o.nef * 2 ** (i + 1), 3, 2, 1, rng));
    // back to H x W x nef
    for (let i = 0; i < o.nDown; i++, index += 3) {
      const c = o.nef * 2 ** (o.nDown - i);
      this.ups.push(new ConvTranspose2d(params, `model.${index}`, { inChannels: c, outChannels: c / 2, kernel: 3, stride: 2, padding: 1, outputPadding: 1, bias: true, init: WEIGHT_INIT }, rng));
    }
    // H x W x featNum, tanh
    this.last = conv(params, `model.${index + 1}`, o.nef, o.featNum, 7, 1, 0, rng);
  }

  /** Per-pixel features of images [n, H, W, 3], each instance of `instances` [n, H, W] at its mean. */
  apply(images: tf.Tensor4D, instances: tf.Tensor3D): tf.Tensor4D {
    const features = runStages(images, [convNormRelu(this.first, 3), ...this.downs.map((d) => convNormRelu(d)), ...this.ups.map((u) => convNormRelu(u)), tanhHead(this.last)]);
    const pooled = instanceMeans(features, instances);
    features.dispose();
    return pooled;
  }
}
