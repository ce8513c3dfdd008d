import * as tf from '@tensorflow/tfjs-core';
import { existsSync, statSync, openSync, readSync, closeSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { GantryError, given, trainHow } from '../errors.ts';
import { ReplayedSteps } from '../gpu/replayed-steps.ts';
import { supportsRecording } from '../gpu/step-recording.ts';
import { readStateDict, stateDictKey } from '../io/torch.ts';
import { Classifier } from '../models/classifier.ts';
import { eagerWebGpuRequested } from '../models/step-runner.ts';
import { openRun } from '../train/run.ts';
import { FEATURE_DIMS, InceptionV3, type FeatureDim } from './inception.ts';
import { VGG16_HELP, Vgg16Fc2 } from './vgg16.ts';

/**
 * A feature extractor for FID / KID / IS / precision and recall: pytorch-fid's Inception-v3 or
 * torch-fidelity's VGG-16 (weights from a file the user has), or a gantry classifier run (offline).
 * Input: images in [0, 1], NHWC.
 */
export interface FeatureExtractor {
  /** Identifies network and layer in cache keys and messages. */
  readonly id: string;
  readonly dim: number;
  /** Square size the network wants its input at, or null for "any" (Inception resizes to 299). */
  readonly inputSize: number | null;
  readonly inputChannels: number | null;
  /** Whether `extract` gives class logits too (the Inception Score needs them). */
  readonly logits: boolean;
  extract(images01: tf.Tensor4D, withLogits: boolean): { features: tf.Tensor2D; logits?: tf.Tensor2D };
  dispose(): void;
}

export const WEIGHTS_ENV = 'GANTRY_INCEPTION_WEIGHTS';
export const WEIGHTS_HELP = 'pytorch-fid\'s pt_inception-2015-12-05-6726825d.pth (from the "fid_weights" release of the pytorch-fid repository on GitHub)';

/** Where the user gave the feature network: the CLI's flags, the API's options or a config's fid section. */
export interface FeatureInputNames {
  weights: string;
  featureDim: string;
  classifier: string;
  vgg16: string;
}

/** The feature network's inputs as `gantry eval` / `compare` flags or the API's score options take them. */
export const givenFeatureNames = (): FeatureInputNames => ({ weights: given('weights'), featureDim: given('featureDim'), classifier: given('classifier'), vgg16: given('vgg16') });

/** The fields of a fid section at `at` (a run config's eval.fid, a sweep file's fid). */
export const fidSectionNames = (at: string): FeatureInputNames => ({ weights: `${at}.weights`, featureDim: `${at}.featureDim`, classifier: `${at}.features`, vgg16: `${at}.vgg16` });

/** A short content hash of a file: its size, first and last MiB. */
function fileKey(path: string): string {
  const size = statSync(path).size;
  const fd = openSync(path, 'r');
  const h = createHash('sha1').update(String(size));
  const buf = Buffer.alloc(Math.min(size, 1 << 20));
  readSync(fd, buf, 0, buf.length, 0);
  h.update(buf);
  readSync(fd, buf, 0, buf.length, Math.max(0, size - buf.length));
  h.update(buf);
  closeSync(fd);
  return h.digest('hex').slice(0, 12);
}

/**
 * On WebGPU, an extractor's forward recorded once per batch shape and replayed, as a generator's draws
 * are: an FID's thousands of images go through it a batch at a time, ~300 ops each (Inception), whose
 * host work tfjs's eager engine pays op by op. Two recordings at once: a metric's full batches and its
 * last, smaller one.
 */
function replayedOnWebGpu(extractor: FeatureExtractor): FeatureExtractor {
  const replayed: FeatureExtractor = {
    ...extractor,
    extract(images01, withLogits) {
      if (eagerWebGpuRequested() || !supportsRecording()) return extractor.extract(images01, withLogits);
      let replay = replays.get(replayed);
      if (!replay) replays.set(replayed, (replay = new ReplayedSteps(undefined, 2)));
      return replay.run(withLogits ? 'features and logits' : 'features', [], [images01], (): Record<string, tf.Tensor> => {
        const { features, logits } = extractor.extract(images01, withLogits);
        return logits ? { features, logits } : { features };
      }) as { features: tf.Tensor2D; logits?: tf.Tensor2D };
    },
    dispose() {
      replays.get(replayed)?.dispose();
      replays.delete(replayed);
      extractor.dispose();
    },
  };
  return replayed;
}

const replays = new WeakMap<FeatureExtractor, ReplayedSteps>();

/** How many of an extractor's forwards were replays (tests, benchmarks). */
export function replayedExtractions(extractor: FeatureExtractor): number {
  return replays.get(extractor)?.replayed ?? 0;
}

/**
 * GPU time of each dispatch of an extractor's replayed forwards, by kind (`gantry`'s benchmarks: where
 * Inception's time goes); it runs them once more, so call it after timing.
 */
export async function extractionProfile(extractor: FeatureExtractor): Promise<Record<string, { label: string; ns: number }[]>> {
  return (await replays.get(extractor)?.profile()) ?? {};
}

/**
 * Images a CPU forward of Inception or VGG-16 takes at once, however many a metric reads at a time
 * (pytorch-fid's 50): past ~16 images at 299x299 a forward's activations (~3 GB at 50) outgrow the recycled
 * arrays and every op pays for fresh pages, at a third of the speed. Each image's features are the same
 * bits either way.
 */
const CPU_FORWARD_CHUNK = 8;

/** `forward` of images, a CPU chunk at a time, the outputs joined: its features, and its logits when asked. */
function inCpuChunks(images01: tf.Tensor4D, withLogits: boolean, forward: (images: tf.Tensor4D) => { features: tf.Tensor2D; logits?: tf.Tensor2D }): { features: tf.Tensor2D; logits?: tf.Tensor2D } {
  const n = images01.shape[0];
  const chunk = tf.getBackend() === 'cpu' ? CPU_FORWARD_CHUNK : n;
  if (n <= chunk) return forward(images01);
  return tf.tidy(() => {
    const parts: { features: tf.Tensor2D; logits?: tf.Tensor2D }[] = [];
    for (let i = 0; i < n; i += chunk) parts.push(forward(tf.slice(images01, i, Math.min(chunk, n - i))));
    const features = tf.concat(parts.map((p) => p.features)) as tf.Tensor2D;
    return withLogits ? { features, logits: tf.concat(parts.map((p) => p.logits!)) as tf.Tensor2D } : { features };
  });
}

/** Whether an extractor's id (as statistics files record it) is Inception's, whose smaller feature layers --feature-dim chooses. */
export const isInceptionId = (id: string): boolean => id.startsWith('inception-');

export function inceptionExtractor(weights: string | undefined, dim: number, names = givenFeatureNames()): FeatureExtractor {
  const path = weights ?? process.env[WEIGHTS_ENV];
  if (!path) throw new GantryError(`Inception features need ${WEIGHTS_HELP}: give it with ${names.weights} or set ${WEIGHTS_ENV}=FILE (nothing is downloaded); for MNIST-like data, a gantry classifier run (${names.classifier}) gives the features instead`);
  if (!existsSync(path)) throw new GantryError(`Inception weights ${path} not found; get ${WEIGHTS_HELP}`);
  if (!(FEATURE_DIMS as readonly number[]).includes(dim)) throw new GantryError(`${names.featureDim} must be one of ${FEATURE_DIMS.join(', ')}, got ${dim}`);
  const stateDict = readStateDict(path);
  // The real network has 32 channels in its first conv; reduced-width test networks fewer.
  const first = stateDict.get('Conv2d_1a_3x3.conv.weight');
  const widthDivisor = first ? Math.max(1, Math.round(32 / first.shape[0])) : 1;
  const net = new InceptionV3(stateDict, path, widthDivisor);
  const d = dim as FeatureDim;
  const outDim = Math.max(1, Math.round(d / widthDivisor));
  return replayedOnWebGpu({
    id: `inception-${stateDictKey(stateDict)}-${d}`,
    dim: outDim,
    inputSize: null,
    inputChannels: null,
    logits: true,
    extract(images01, withLogits) {
      return inCpuChunks(images01, withLogits, (images) => {
        const out = net.apply(images, [d], withLogits);
        return { features: out.features[d]!, logits: out.logitsUnbiased };
      });
    },
    dispose: () => net.dispose(),
  });
}

export function classifierExtractor(runDir: string, names = givenFeatureNames()): FeatureExtractor {
  const run = openRun(runDir);
  if (!(run.model instanceof Classifier)) {
    run.model.dispose();
    throw new GantryError(`${names.classifier}: ${runDir} is a ${run.config.family} run, not a classifier; train one with ${trainHow('classifier', 'mnist', 'runs/classifier')} and name that folder`);
  }
  const model = run.model;
  return replayedOnWebGpu({
    id: `classifier-${fileKey(`${runDir}/checkpoint.safetensors`)}`,
    dim: model.config.features,
    inputSize: model.config.imageSize,
    inputChannels: model.config.channels,
    logits: true,
    extract(images01, withLogits) {
      return tf.tidy(() => {
        const out = model.apply(tf.sub(tf.mul(images01, 2), 1) as tf.Tensor4D);
        return withLogits ? out : { features: out.features };
      }) as { features: tf.Tensor2D; logits?: tf.Tensor2D };
    },
    dispose: () => model.dispose(),
  });
}

/**
 * torch-fidelity's VGG-16 features (fc2_relu, 4096-d), from torchvision's weights: its default network for
 * precision and recall. They give no class logits, so no Inception Score.
 */
export function vgg16Extractor(path: string): FeatureExtractor {
  if (!existsSync(path)) throw new GantryError(`VGG-16 weights ${path} not found; get ${VGG16_HELP}`);
  const net = Vgg16Fc2.load(path);
  return replayedOnWebGpu({
    id: `vgg16-${net.weightsKey}-fc2_relu`,
    dim: net.dim,
    inputSize: null,
    inputChannels: null,
    logits: false,
    extract: (images01, withLogits) => inCpuChunks(images01, withLogits, (images) => ({ features: net.apply(images) })),
    dispose: () => net.dispose(),
  });
}
