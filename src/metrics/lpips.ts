import * as tf from '@tensorflow/tfjs-core';
import { GantryError, given } from '../errors.ts';
import { readStateDict } from '../io/torch.ts';
import { Rng } from '../engine/rng.ts';
import { Conv2d, RELU } from '../nn/layers.ts';
import { ParamSet } from '../nn/params.ts';
import { builtFromFile, loadTorchWeights } from '../nn/torch-weights.ts';
import { VGG16_BLOCKS, vggConvolutions } from '../nn/vgg.ts';
import { ReplayedSteps } from '../gpu/replayed-steps.ts';
import { supportsRecording } from '../gpu/step-recording.ts';
import { eagerWebGpuRequested } from '../models/step-runner.ts';
import { VGG16_HELP } from './vgg16.ts';
import { SQUARED_ERROR, type ImageMeasure } from '../explore/project.ts';

export const LPIPS_HELP = "LPIPS's linear layers for VGG-16 (vgg.pth of the lpips package, v0.1, or torch-fidelity's weights-vgg16-lpips.pth: lin0..lin4)";

/** LPIPS's two weight files: torchvision's VGG-16 and LPIPS's linear layers on it. */
export interface LpipsWeights {
  vgg16?: string;
  lpips?: string;
}

/**
 * Both of LPIPS's files given, or one line saying what `purpose` needs (e.g. "PPL measures with LPIPS")
 * and how to give them.
 */
export function checkLpipsWeights(weights: LpipsWeights, purpose: string): asserts weights is Required<LpipsWeights> {
  if (!weights.vgg16 || !weights.lpips) {
    throw new GantryError(`${purpose}, which needs ${VGG16_HELP} (${given('vgg16')}) and ${LPIPS_HELP} (${given('lpips')}); nothing is downloaded`);
  }
}

/**
 * A projection's measure from its optional weight files, in two steps: checked now (both files or neither,
 * before anything is opened or written), then made once the engine runs: LPIPS on VGG-16 where the files
 * are given, squared error otherwise. dispose() frees LPIPS's network. purpose names the request in the error.
 */
export function projectionMeasure(weights: LpipsWeights, purpose: string): () => { measure: ImageMeasure; dispose(): void } {
  if (weights.vgg16 === undefined && weights.lpips === undefined) return () => ({ measure: SQUARED_ERROR, dispose: () => {} });
  checkLpipsWeights(weights, purpose);
  return () => {
    const lpips = LpipsVgg16.load(weights.vgg16, weights.lpips);
    return { measure: lpipsMeasure(lpips), dispose: () => lpips.dispose() };
  };
}

/** LPIPS's input scaling: x in [-1, 1] becomes (x - SHIFT) / SCALE per RGB channel. */
const SHIFT = [-0.030, -0.088, -0.188];
const SCALE = [0.458, 0.448, 0.450];
/** The same on the 0..255 scale torch-fidelity feeds: (x - MEAN_255) * INV_STD_255. */
const MEAN_255 = SHIFT.map((s) => (1 + s) * 255 / 2);
const INV_STD_255 = SCALE.map((s) => 2 / (s * 255));
/** normalize_tensor's guard against a zero feature vector. */
const NORM_EPS = 1e-10;

/**
 * LPIPS (Zhang et al. 2018) on VGG-16, as torch-fidelity's `lpips-vgg16` sample similarity computes it for
 * PPL: images on the 0..255 scale (8-bit values, or unquantised), scaled as LPIPS scales its input,
 * resized to `resize` (area averaging when both sides are larger, else bilinear without corner alignment,
 * as torch's interpolate), through torchvision's VGG-16 convolutions; at relu1_2, relu2_2, relu3_3,
 * relu4_3 and relu5_3 the features of each image are divided by their norm over channels, the squared
 * difference of the pair weighted per channel by LPIPS's learned linear layer and averaged over the map;
 * the five layers' values summed. Grey images are repeated to three channels.
 */
export class LpipsVgg16 {
  private readonly vggParams = new ParamSet();
  private readonly linParams = new ParamSet();
  private readonly blocks: Conv2d[][];
  private readonly lins: Conv2d[];
  /** On WebGPU, the distance's ~100 ops recorded once per pair shape and replayed, as feature extractors' forwards are. */
  private replay: ReplayedSteps | null = null;

  /** An unloaded network at these widths (load() fills it). */
  constructor(widthDivisor = 1) {
    this.blocks = vggConvolutions(this.vggParams, VGG16_BLOCKS, widthDivisor, 'lpips-vgg16');
    const rng = new Rng(0, 'lpips-lin');
    // LPIPS's NetLinLayer: a dropout (index 0, the identity in evaluation) and a 1x1 convolution without bias.
    this.lins = VGG16_BLOCKS.map(({ channels }, k) => new Conv2d(this.linParams, `lin${k}.model.1`, { inChannels: channels / widthDivisor, outChannels: 1, kernel: 1, padding: 0, bias: false }, rng));
    for (const set of [this.vggParams, this.linParams]) for (const [, v] of set.named()) v.trainable = false;
  }

  /**
   * The network of torchvision's VGG-16 state dict (`vggPath`: only `features.*` is read) and LPIPS's linear
   * layers (`linPath`), at the widths the VGG file has (a reduced test width too).
   */
  static load(vggPath: string, linPath: string): LpipsVgg16 {
    const vgg = readStateDict(vggPath, (name) => name.startsWith('features.'));
    const first = vgg.get('features.0.weight');
    if (!first || first.shape.length !== 4 || 64 % first.shape[0] !== 0) {
      throw new GantryError(`${vggPath} is not a VGG-16 state dict (no features.0.weight of 64 filters); give ${VGG16_HELP}`);
    }
    const lin = readStateDict(linPath, (name) => /^lin\d\.model\.\d\.weight$/.test(name));
    if (!lin.has('lin0.model.1.weight')) {
      throw new GantryError(`${linPath} holds no LPIPS linear layers (no lin0.model.1.weight); give ${LPIPS_HELP}`);
    }
    return builtFromFile(() => new LpipsVgg16(64 / first.shape[0]), (net) => {
      loadTorchWeights(net.vggParams, vgg, vggPath);
      loadTorchWeights(net.linParams, lin, linPath);
    });
  }

  /**
   * LPIPS distance [n] of image pairs a[i], b[i] ([n, h, w, 1 or 3] on the 0..255 scale, both the same
   * size), each resized to `resize` square (none: as they are).
   */
  distance(a: tf.Tensor4D, b: tf.Tensor4D, resize?: number): tf.Tensor1D {
    if (a.shape.join('x') !== b.shape.join('x')) throw new GantryError(`LPIPS compares images of one size: got ${a.shape.join('x')} and ${b.shape.join('x')}`);
    if (eagerWebGpuRequested() || !supportsRecording()) return this.eagerDistance(a, b, resize);
    this.replay ??= new ReplayedSteps(undefined, 2);
    return this.replay.run(`lpips at ${resize ?? 'their size'}`, [], [a, b], () => ({ distance: this.eagerDistance(a, b, resize) })).distance;
  }

  /** How many distances were replays (tests, benchmarks). */
  get replayed(): number {
    return this.replay?.replayed ?? 0;
  }

  private eagerDistance(a: tf.Tensor4D, b: tf.Tensor4D, resize: number | undefined): tf.Tensor1D {
    return tf.tidy(() => {
      const n = a.shape[0];
      const taps = this.features(tf.concat([this.input(a, resize), this.input(b, resize)], 0));
      let total = tf.zeros([n]) as tf.Tensor1D;
      taps.forEach((f, k) => {
        const unit = unitFeatures(f) as tf.Tensor4D;
        const [fa, fb] = tf.split(unit, [n, n], 0);
        // The 1x1 convolution and the spatial mean commute: average each channel's squared difference first.
        const meanSquared = tf.mean(tf.square(tf.sub(fa, fb)), [1, 2]) as tf.Tensor2D;
        const w = tf.reshape(this.lins[k].weight, [-1, 1]) as tf.Tensor2D;
        total = tf.add(total, tf.reshape(tf.matMul(meanSquared, w), [n]));
      });
      return total;
    });
  }

  /** Images scaled as LPIPS scales its input, then resized: torch-fidelity's order. */
  private input(images255: tf.Tensor4D, resize: number | undefined): tf.Tensor4D {
    let x: tf.Tensor4D = images255.shape[3] === 1 ? tf.tile(images255, [1, 1, 1, 3]) : images255;
    x = tf.mul(tf.sub(x, MEAN_255), INV_STD_255) as tf.Tensor4D;
    return resize === undefined ? x : resizeLikeTorch(x, resize);
  }

  /** The relu1_2 .. relu5_3 maps of VGG-16's features. */
  private features(x: tf.Tensor4D): tf.Tensor4D[] {
    const taps: tf.Tensor4D[] = [];
    this.blocks.forEach((convs, i) => {
      if (i > 0) x = tf.maxPool(x, 2, 2, 'valid');
      for (const conv of convs) x = conv.apply(x, RELU);
      taps.push(x);
    });
    return taps;
  }

  dispose(): void {
    this.replay?.dispose();
    this.vggParams.dispose();
    this.linParams.dispose();
  }
}

/**
 * Each pixel's feature vector divided by its norm over channels (+ NORM_EPS), as LPIPS's normalize_tensor.
 * Its gradient is written out so that a pixel whose features are all zero (every ReLU off) gets 0: through
 * tfjs's sqrt that is 0 / 0, NaN, which its ReLU gradients (products with 0) then spread over the image;
 * PyTorch's ReLU backward selects such entries away. With n the norm and d = n + eps:
 * d(f / d) = dy / d - f (dy . f) / (n d^2).
 */
const unitFeatures = tf.customGrad(((f: tf.Tensor, save: tf.GradSaveFunc) => {
  const norm = tf.sqrt(tf.sum(tf.square(f), 3, true));
  const denom = tf.add(norm, NORM_EPS);
  save([f, norm, denom]);
  return {
    value: tf.div(f, denom),
    gradFunc: (dy: tf.Tensor, [x, n, d]: tf.Tensor[]) => {
      const along = tf.div(tf.sum(tf.mul(dy, x), 3, true), tf.mul(n, tf.square(d)));
      return tf.sub(tf.div(dy, d), tf.mul(x, tf.where(tf.greater(n, 0), along, tf.zerosLike(along))));
    },
  };
}) as unknown as Parameters<typeof tf.customGrad>[0]);

/** LPIPS pairs one step takes at 64x64, at most (VGG-16's activations and their gradients: about 1.5 GB). */
const LPIPS_PAIRS_AT_64 = 16;

/**
 * LPIPS on VGG-16 as the measure (StyleGAN2's projector's): images smaller than 64 on a side go to LPIPS at
 * 64x64 (torch-fidelity's size for PPL), larger than 256 at 256x256 (StyleGAN2's), others as they are.
 */
export function lpipsMeasure(lpips: LpipsVgg16): ImageMeasure {
  const size = (height: number, width: number) => (Math.min(height, width) < 64 ? 64 : Math.max(height, width) > 256 ? 256 : undefined);
  const levels = (x: tf.Tensor4D) => tf.mul(tf.add(x, 1), 127.5) as tf.Tensor4D;
  return {
    name: 'lpips',
    pairs: (images, targets) => tf.tidy(() => lpips.distance(levels(images), levels(targets), size(images.shape[1], images.shape[2]))),
    pairsAtOnce: (height, width) => {
      const side = size(height, width);
      const area = side === undefined ? height * width : side * side;
      return Math.floor(LPIPS_PAIRS_AT_64 * 64 * 64 / area);
    },
  };
}

/**
 * torch-fidelity's LPIPS resize to size x size: `interpolate(mode='area')` (adaptive average pooling)
 * where both sides are larger than the size, else bilinear with half-pixel centres and no antialiasing.
 * Both are products with a matrix per axis, whose gradients tfjs gets right (its ResizeBilinear gradient
 * leaves out the half-pixel offset).
 */
function resizeLikeTorch(x: tf.Tensor4D, size: number): tf.Tensor4D {
  const [, h, w] = x.shape;
  if (h === size && w === size) return x;
  if (h > size && w > size) return areaResize(x, size, size);
  return tf.tidy(() => resizeByMatrices(x, bilinearMatrix(h, size), bilinearMatrix(w, size)));
}

/** Adaptive average pooling of [n, h, w, c] to [n, outH, outW, c]: cell i averages rows floor(i h / outH) .. ceil((i + 1) h / outH) - 1. */
export function areaResize(x: tf.Tensor4D, outH: number, outW: number): tf.Tensor4D {
  return tf.tidy(() => resizeByMatrices(x, averagingMatrix(x.shape[1], outH), averagingMatrix(x.shape[2], outW)));
}

/** [n, h, w, c] to [n, outH, outW, c] by a [outH, h] matrix over rows and a [outW, w] one over columns. */
function resizeByMatrices(x: tf.Tensor4D, rowMatrix: tf.Tensor2D, colMatrix: tf.Tensor2D): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  const [outH, outW] = [rowMatrix.shape[0], colMatrix.shape[0]];
  // Rows first: [h, n * w * c] times the row matrix; then columns the same way.
  const rows = tf.matMul(rowMatrix, tf.reshape(tf.transpose(x, [1, 0, 2, 3]), [h, n * w * c]));
  const byRow = tf.transpose(tf.reshape(rows, [outH, n, w, c]), [2, 1, 0, 3]); // [w, n, outH, c]
  const cols = tf.matMul(colMatrix, tf.reshape(byRow, [w, n * outH * c]));
  return tf.transpose(tf.reshape(cols, [outW, n, outH, c]), [1, 2, 0, 3]) as tf.Tensor4D;
}

/**
 * [out, size]: torch's bilinear weights without corner alignment. Output cell i reads the input at
 * (i + 0.5) size / out - 0.5 (below 0: at 0), between its two neighbours (the last one alone at the edge).
 */
function bilinearMatrix(size: number, out: number): tf.Tensor2D {
  const m = new Float32Array(out * size);
  for (let i = 0; i < out; i++) {
    const at = Math.max(0, ((i + 0.5) * size) / out - 0.5);
    const j = Math.floor(at);
    const next = Math.min(j + 1, size - 1);
    const t = at - j;
    m[i * size + j] += 1 - t;
    m[i * size + next] += t;
  }
  return tf.tensor2d(m, [out, size]);
}

/** [out, size]: row i holds 1 / count over the input cells adaptive average pooling gives output cell i. */
function averagingMatrix(size: number, out: number): tf.Tensor2D {
  const m = new Float32Array(out * size);
  for (let i = 0; i < out; i++) {
    const start = Math.floor((i * size) / out);
    const end = Math.ceil(((i + 1) * size) / out);
    for (let j = start; j < end; j++) m[i * size + j] = 1 / (end - start);
  }
  return tf.tensor2d(m, [out, size]);
}
