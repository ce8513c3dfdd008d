import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { Rng } from '../engine/rng.ts';
import { GantryError } from '../errors.ts';
import { makeBatch } from '../data/sampler.ts';
import { hostInput } from '../engine/host-input.ts';
import type { Batch } from '../data/batch.ts';
import type { ImageDataset } from '../data/dataset.ts';
import { Conv2d, ConvTranspose2d } from '../nn/layers.ts';
import { instanceNorm } from '../nn/pix2pixhd.ts';
import { ParamSet } from '../nn/params.ts';
import { Adam } from '../optim/adam.ts';
import { segmentationScores, SegmentationTally } from './segmentation-scores.ts';
import type { ModelInfo } from './condition.ts';
import { imageSize, resolveLabels } from './pix2pixhd.ts';
import { disposeModel, type Family, type FamilyInstance, type StepContext } from './family.ts';

/**
 * A small segmentation network (a U-Net: stride-2 convolutions down, transposed convolutions up, each
 * level's features added back on the way up), trained on the real pairs of label-map data with per-pixel
 * cross-entropy. It is pix2pixHD's evaluation: generated images are segmented and compared with the maps
 * they were drawn from (`gantry eval segmentation`), as the paper scores Cityscapes with a trained
 * segmentation network. Held-out images give its own pixel accuracy and mean IoU at checkpoints.
 */
export const segmenterSchema = z
  .object({
    height: z.number().int().positive().default(64),
    /** 0 = height. */
    width: z.number().int().min(0).default(0),
    /** Label ids 0 .. labelNc - 1; 0 = the data's largest id + 1. */
    labelNc: z.number().int().min(0).default(0),
    labelNames: z.array(z.string()).default([]),
    /** Filters of the first level; each level down doubles them. */
    nf: z.number().int().positive().default(32),
    /** Stride-2 levels. */
    depth: z.number().int().min(1).max(6).default(4),
    lr: z.number().positive().default(2e-3),
    beta1: z.number().min(0).max(1).default(0.9),
    beta2: z.number().min(0).max(1).default(0.999),
    /** Fraction of the data held out (never trained on) to score the segmenter itself. */
    holdout: z.number().min(0.01).max(0.5).default(0.1),
  })
  .strict();

export type SegmenterConfig = z.infer<typeof segmenterSchema>;


export class Segmenter implements FamilyInstance {
  readonly networks: Record<string, ParamSet>;
  readonly optimizers: Record<string, Adam>;
  private readonly stem: Conv2d;
  private readonly downs: Conv2d[] = [];
  private readonly ups: ConvTranspose2d[] = [];
  private readonly head: Conv2d;

  constructor(readonly config: SegmenterConfig, seed: number) {
    const params = new ParamSet();
    const rng = new Rng(seed, 'init', 'S');
    const { nf, depth, labelNc } = config;
    // H x W x nf
    this.stem = new Conv2d(params, 'stem', { inChannels: 3, outChannels: nf, kernel: 3, padding: 1, bias: true }, rng);
    // level l: H / 2^l x W / 2^l x nf 2^l
    for (let l = 0; l < depth; l++) this.downs.push(new Conv2d(params, `down${l}`, { inChannels: nf * 2 ** l, outChannels: nf * 2 ** (l + 1), kernel: 4, stride: 2, padding: 1, bias: true }, rng));
    // back up one level at a time, to H x W x nf
    for (let l = depth; l > 0; l--) this.ups.push(new ConvTranspose2d(params, `up${l}`, { inChannels: nf * 2 ** l, outChannels: nf * 2 ** (l - 1), kernel: 4, stride: 2, padding: 1, bias: true }, rng));
    // H x W x labelNc logits
    this.head = new Conv2d(params, 'head', { inChannels: nf, outChannels: labelNc, kernel: 1, bias: true }, rng);
    this.networks = { S: params };
    this.optimizers = { S: new Adam(params.trainable(), { lr: config.lr, beta1: config.beta1, beta2: config.beta2 }) };
  }

  /** Per-pixel class logits [n, H, W, labelNc] of images in [-1, 1]. */
  logits(images: tf.Tensor4D): tf.Tensor4D {
    let h = tf.relu(instanceNorm(this.stem.apply(images)));
    const skips: tf.Tensor4D[] = [];
    for (const d of this.downs) {
      skips.push(h);
      h = tf.relu(instanceNorm(d.apply(h)));
    }
    for (const u of this.ups) h = tf.relu(instanceNorm(tf.add(u.apply(h), skips.pop()!) as tf.Tensor4D));
    return this.head.apply(h);
  }

  /** Label ids [n, H, W] of images in [-1, 1]. */
  segment(images: tf.Tensor4D): tf.Tensor3D {
    return tf.tidy(() => tf.argMax(this.logits(images), 3) as tf.Tensor3D);
  }

  trainStep(batch: Batch, _ctx: StepContext): Record<string, tf.Scalar> {
    if (!batch.labelMaps) throw new GantryError('the segmenter trains on label maps; train it on pairs:DIR or shapes data');
    const [n, h, w] = batch.images.shape;
    const target = tf.tidy(() => tf.oneHot(hostInput(batch, (b) => b.labelMaps!, [n, h, w], 'int32') as tf.Tensor3D, this.config.labelNc));
    const { value, grads } = tf.variableGrads(() => tf.losses.softmaxCrossEntropy(target, this.logits(batch.images)) as tf.Scalar, this.networks.S.trainable());
    this.optimizers.S.apply(grads);
    tf.dispose([...Object.values(grads), target]);
    return { lossS: value };
  }

  /** Pixel accuracy and mean IoU on held-out images. */
  async evaluate(data: ImageDataset): Promise<Record<string, number>> {
    const tally = new SegmentationTally(this.config.labelNc);
    for (let start = 0; start < data.n; start += 16) {
      const idx = Array.from({ length: Math.min(16, data.n - start) }, (_, i) => start + i);
      const batch = makeBatch(data, idx);
      const pred = this.segment(batch.images);
      tally.add(await pred.data() as Int32Array, batch.labelMaps!);
      tf.dispose([pred, batch.images, batch.labels ?? []]);
    }
    const { pixelAccuracy, meanIoU } = segmentationScores(tally);
    return { testPixelAccuracy: pixelAccuracy, testMeanIoU: meanIoU };
  }

  dispose(): void {
    disposeModel(this);
  }
}

export function describeSegmenter(config: SegmenterConfig): ModelInfo {
  return { family: 'segmenter', ...imageSize(config), channels: 3, latentDim: 0, conditioning: { kind: 'none' }, holdout: config.holdout };
}

export const segmenterFamily: Family<SegmenterConfig> = {
  name: 'segmenter',
  description: 'a small U-Net segmenter trained on label-map pairs; scores pix2pixhd runs (eval segmentation)',
  schema: segmenterSchema,
  resumable: ['lr', 'beta1', 'beta2'],
  resolve(config, data) {
    const maps = data.labelMaps;
    if (!maps) throw new GantryError('segmenter learns label maps from images; train it on label-map data: pairs:DIR or shapes');
    if (maps.pictures) throw new GantryError('segmenter learns label maps from images, and this data\'s inputs are pictures (train_A/ + train_B/), with no label ids; train it on label maps (train_label/ + train_img/, or the Cityscapes layout)');
    const { height, width } = imageSize(config);
    const unit = 2 ** config.depth;
    if (height % unit || width % unit) throw new GantryError(`segmenter: model.height ${height} and model.width ${width} must be multiples of ${unit} (2^depth)`);
    return { ...config, width, ...resolveLabels(config, maps) };
  },
  describe: describeSegmenter,
  create: (config, seed) => new Segmenter(config, seed),
};
