import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { Rng } from '../engine/rng.ts';
import { makeBatch } from '../data/sampler.ts';
import type { ImageDataset } from '../data/dataset.ts';
import { Conv2d, leaky, Linear, RELU } from '../nn/layers.ts';
import { ParamSet } from '../nn/params.ts';
import { Adam } from '../optim/adam.ts';
import type { Batch } from '../data/batch.ts';
import { requireClasses, type ModelInfo } from './condition.ts';
import { disposeModel, type Family, type FamilyInstance, type StepContext } from './family.ts';

/**
 * A small convnet classifier, trained on labelled data (e.g. the embedded MNIST digits). Its
 * penultimate layer is an offline feature space for FID / KID and its softmax an offline IS, for data
 * where downloading Inception weights is not an option (`gantry eval ... --features RUN_DIR`).
 */
export const classifierSchema = z
  .object({
    imageSize: z.number().int().min(8).max(128).default(32),
    channels: z.number().int().min(0).max(4).default(0),
    numClasses: z.number().int().min(0).default(0),
    width: z.number().int().positive().default(64),
    features: z.number().int().positive().default(256),
    lr: z.number().positive().default(1e-3),
    /** The learning rate halves every lrHalfLife steps (0: constant). */
    lrHalfLife: z.number().int().min(0).default(800),
    /** Dropout on the penultimate features while training. */
    dropout: z.number().min(0).max(0.9).default(0.3),
    /** Training images are shifted by up to this many pixels (random per image): cheap augmentation. */
    shift: z.number().int().min(0).max(8).default(2),
    /** Fraction of the data held out (never trained on) to measure accuracy. */
    holdout: z.number().min(0.01).max(0.5).default(0.1),
  })
  .strict();

export type ClassifierConfig = z.infer<typeof classifierSchema>;

export class Classifier implements FamilyInstance {
  readonly params = new ParamSet();
  readonly networks: Record<string, ParamSet>;
  readonly optimizers: Record<string, Adam>;
  private readonly conv1: Conv2d;
  private readonly conv2: Conv2d;
  private readonly fc1: Linear;
  private readonly fc2: Linear;

  constructor(readonly config: ClassifierConfig, seed: number) {
    const rng = new Rng(seed, 'init', 'C');
    const w = config.width;
    const s = Math.floor((Math.floor((config.imageSize - 2) / 2) + 1 - 2) / 2) + 1;
    // Strided convolutions rather than max pooling: tfjs's pure-JS MaxPoolGrad would take most of a step.
    // No conv biases: their gradient is a slow tfjs reduction; the dense layers keep theirs.
    this.conv1 = new Conv2d(this.params, 'conv1', { inChannels: config.channels, outChannels: w, kernel: 4, stride: 2, padding: 1 }, rng);
    this.conv2 = new Conv2d(this.params, 'conv2', { inChannels: w, outChannels: 2 * w, kernel: 4, stride: 2, padding: 1 }, rng);
    this.fc1 = new Linear(this.params, 'fc1', { inFeatures: 2 * w * s * s, outFeatures: config.features }, rng);
    this.fc2 = new Linear(this.params, 'fc2', { inFeatures: config.features, outFeatures: config.numClasses }, rng);
    this.networks = { C: this.params };
    this.optimizers = { C: new Adam(this.params.trainable(), { lr: config.lr, beta1: 0.9, beta2: 0.999 }) };
  }

  /** images in [-1, 1] -> penultimate features [n, features] and logits [n, classes]. */
  apply(images: tf.Tensor4D, dropoutSeed?: number): { features: tf.Tensor2D; logits: tf.Tensor2D } {
    let h = this.conv1.apply(images, leaky(0.1)); // size/2 x size/2 x w
    h = this.conv2.apply(h, leaky(0.1)); // size/4 x size/4 x 2w
    const flat = tf.reshape(h, [images.shape[0], -1]) as tf.Tensor2D;
    const features = this.fc1.apply(flat, RELU); // penultimate: [n, features]
    const dropped = dropoutSeed !== undefined && this.config.dropout > 0 ? (tf.dropout(features, this.config.dropout, undefined, dropoutSeed) as tf.Tensor2D) : features;
    return { features, logits: this.fc2.apply(dropped) };
  }

  /**
   * Runs as written on WebGPU too: its shifts are cut on the host from the batch's pixels and its dropout
   * masks come from a seed drawn each step, neither of which a recorded step could redraw.
   */
  stepKey(): null {
    return null;
  }

  trainStep(batch: Batch, ctx: StepContext): Record<string, tf.Scalar> {
    if (!batch.labels) throw new Error('the classifier needs labelled data');
    const labels = batch.labels;
    const images = randomShift(batch.images, this.config.shift, ctx.rng);
    const { lr, lrHalfLife } = this.config;
    this.optimizers.C.options.lr = lrHalfLife ? lr * 0.5 ** (ctx.step / lrHalfLife) : lr;
    const dropoutSeed = ctx.rng.nextU32();
    const { value, grads } = tf.variableGrads(() => {
      const { logits } = this.apply(images, dropoutSeed);
      return tf.losses.softmaxCrossEntropy(tf.oneHot(labels, this.config.numClasses), logits) as tf.Scalar;
    }, this.params.trainable());
    this.optimizers.C.apply(grads);
    tf.dispose([...Object.values(grads), images]);
    return { lossC: value };
  }

  /** Accuracy on a dataset (the held-out part), in batches. */
  async evaluate(data: ImageDataset): Promise<Record<string, number>> {
    let correct = 0;
    for (let start = 0; start < data.n; start += 256) {
      const idx = Array.from({ length: Math.min(256, data.n - start) }, (_, i) => start + i);
      const batch = makeBatch(data, idx);
      const pred = tf.tidy(() => tf.argMax(this.apply(batch.images).logits, 1));
      const p = await pred.data();
      idx.forEach((j, i) => (correct += p[i] === data.labels![j] ? 1 : 0));
      tf.dispose([pred, batch.images, batch.labels ?? []]);
    }
    return { testAccuracy: correct / data.n };
  }

  dispose(): void {
    disposeModel(this);
  }
}

/** Each image moved by a random (dy, dx) in [-max, max], filling with the background value -1. */
function randomShift(images: tf.Tensor4D, max: number, rng: Rng): tf.Tensor4D {
  const [n, h, w, c] = images.shape;
  const src = images.dataSync();
  const out = new Float32Array(src.length).fill(-1);
  for (let i = 0; i < n; i++) {
    const dy = rng.int(2 * max + 1) - max;
    const dx = rng.int(2 * max + 1) - max;
    for (let y = Math.max(0, dy); y < Math.min(h, h + dy); y++) {
      const from = ((i * h + (y - dy)) * w + Math.max(0, -dx)) * c;
      const to = ((i * h + y) * w + Math.max(0, dx)) * c;
      out.set(src.subarray(from, from + (w - Math.abs(dx)) * c), to);
    }
  }
  return tf.tensor4d(out, [n, h, w, c]);
}

export const classifierFamily: Family<ClassifierConfig> = {
  name: 'classifier',
  description: 'a small convnet classifier; its features score MNIST-like runs offline (eval --features)',
  schema: classifierSchema,
  resumable: ['lr', 'lrHalfLife'],
  resolve(config, data) {
    requireClasses('classifier', data);
    return { ...config, channels: config.channels || data.channels, numClasses: data.numClasses };
  },
  describe: (config): ModelInfo => ({
    family: 'classifier', height: config.imageSize, width: config.imageSize, channels: config.channels,
    latentDim: 0, conditioning: { kind: 'none' }, holdout: config.holdout,
  }),
  create: (config, seed) => new Classifier(config, seed),
};
