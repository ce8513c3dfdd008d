import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tf } from '../../src/engine/index.ts';
import { Rng } from '../../src/engine/rng.ts';
import { hostInput } from '../../src/engine/host-input.ts';
import { Adam } from '../../src/optim/adam.ts';
import { ReplayedSteps } from '../../src/gpu/replayed-steps.ts';
import { replayedGenerations, TrainSteps } from '../../src/models/step-runner.ts';
import { vectorsToImages } from '../../src/explore/render.ts';
import { gridConditions, type ConditionRows } from '../../src/explore/conditions.ts';
import { benchFamilyGenerate, benchFamilyStep, familyModel } from '../../src/bench/family-step.ts';
import { inceptionExtractor, replayedExtractions, vgg16Extractor } from '../../src/metrics/features.ts';
import { gpuKernelCalls } from '../../src/gpu/tfjs-kernels.ts';
import type { FamilyInstance } from '../../src/models/family.ts';
import { LpipsVgg16 } from '../../src/metrics/lpips.ts';
import { LPIPS_W16, VGG16_W16, nhwc, pplGolden } from '../golden/ppl-golden.ts';
import { startWebGpuOrSkip } from './adapter.ts';
import { relError } from '../helpers.ts';
import { pairsWithFeatureMaps } from '../fixtures/pairs-with-features.ts';
import { writePicturePairs } from '../fixtures/picture-pairs.ts';

// Replayed steps against the same steps run eagerly on tfjs's WebGPU kernels: the replay dispatches the
// very kernels the eager step did, on the same data, so losses and weights must agree bit for bit.
const noGpu = await startWebGpuOrSkip();

const root = join(fileURLToPath(import.meta.url), '..', '..', '..');

/** Bytes tfjs's WebGPU buffer manager has allocated (free ones it keeps included); throws where tfjs names it otherwise. */
function gpuBytesAllocated(): number {
  const bytes = (tf.memory() as { numBytesAllocatedInGPU?: number }).numBytesAllocatedInGPU;
  if (typeof bytes !== 'number') throw new Error(`tf.memory() has no numBytesAllocatedInGPU: ${Object.keys(tf.memory()).join(', ')}`);
  return bytes;
}

/** A linear model fit to noisy targets by Adam: the smallest step with host inputs and assigned variables. */
function linearModel(name: string) {
  const w = tf.variable(tf.tensor2d(new Rng(9, 'w').fillNormal(new Float32Array(8 * 4)), [8, 4]), true, `${name}.w`);
  const b = tf.variable(tf.zeros([4]), true, `${name}.b`);
  const adam = new Adam([w, b], { lr: 0.01, beta1: 0.5, beta2: 0.999 });
  return { w, b, adam, dispose: () => {
    tf.dispose([w, b]);
    adam.dispose();
  } };
}

interface LinearRun {
  losses: number[];
  weights: Float32Array;
  adamStep: number;
  replayed: number;
  refusals: Record<string, string>;
  tensors: number[];
  gpuBytes: number[];
}

/**
 * `steps` steps of the linear model, eager or through ReplayedSteps; `drawOutside` draws the noise with
 * tf.tensor (not a host input), `read` reads a value on the host inside the step, `between` runs after
 * each step (outside it).
 */
async function linearRun(name: string, replay: boolean, steps: number, o: { drawOutside?: boolean; read?: boolean; between?: (m: ReturnType<typeof linearModel>, step: number) => void } = {}): Promise<LinearRun> {
  const m = linearModel(name);
  const replayer = new ReplayedSteps();
  const out: LinearRun = { losses: [], weights: new Float32Array(), adamStep: 0, replayed: 0, refusals: {}, tensors: [], gpuBytes: [] };
  for (let step = 0; step < steps; step++) {
    const ctx = { step, rng: new Rng(3, 'step', step) };
    const batch = { x: tf.tensor2d(new Rng(4, 'x', step).fillNormal(new Float32Array(16 * 8)), [16, 8]) };
    const body = () => {
      const noise = o.drawOutside ? tf.tensor2d(ctx.rng.fillNormal(new Float32Array(16 * 4)), [16, 4]) : hostInput(ctx, (c) => c.rng.fillNormal(new Float32Array(16 * 4)), [16, 4]);
      if (o.read) noise.dataSync();
      const { value, grads } = tf.variableGrads(() => tf.mean(tf.square(tf.sub(tf.add(tf.matMul(batch.x, m.w), m.b), noise))) as tf.Scalar, [m.w, m.b]);
      m.adam.apply(grads);
      tf.dispose([noise, ...Object.values(grads)]);
      return { loss: value };
    };
    const losses = replay ? replayer.run('step', [batch, ctx], [batch.x], body) : body();
    out.losses.push((await losses.loss.data())[0]);
    tf.dispose([batch.x, losses.loss]);
    o.between?.(m, step);
    out.tensors.push(tf.memory().numTensors);
    out.gpuBytes.push(gpuBytesAllocated());
  }
  out.weights = (await m.w.data()) as Float32Array;
  out.adamStep = m.adam.step;
  out.replayed = replayer.replayed;
  out.refusals = replayer.refusals();
  replayer.dispose();
  m.dispose();
  return out;
}

test('a replayed step gives the eager step\'s losses and weights bit for bit, advances Adam, and holds memory flat', { skip: noGpu }, async () => {
  const eager = await linearRun('eager', false, 10);
  const replayed = await linearRun('replayed', true, 10);
  assert.equal(replayed.replayed, 7, 'steps 0-2 run eagerly (warm-up, two recordings), 3-9 replay');
  assert.deepEqual(replayed.refusals, {});
  assert.deepEqual(replayed.losses, eager.losses);
  assert.deepEqual(replayed.weights, eager.weights);
  assert.equal(replayed.adamStep, 10, 'the host inputs advance Adam\'s step count on replays too');
  assert.equal(new Set(replayed.tensors.slice(3)).size, 1, `tensor count ${replayed.tensors}`);
  assert.ok(replayed.gpuBytes[3] > 0 && new Set(replayed.gpuBytes.slice(3)).size === 1, `GPU bytes allocated ${replayed.gpuBytes}`);
});

test('recordings held are bounded: past maxRecordings the least recently used kind is forgotten, and recorded again when it comes back', { skip: noGpu }, async () => {
  const w = tf.variable(tf.tensor2d(new Rng(5, 'w').fillNormal(new Float32Array(8 * 4)), [8, 4]), false, 'bounded.w');
  const replayer = new ReplayedSteps(undefined, 2);
  const draw = async (n: number, call: number) => {
    const x = tf.tensor2d(new Rng(n, 'x', call).fillNormal(new Float32Array(n * 8)), [n, 8]);
    const { y } = replayer.run('draw', [], [x], () => ({ y: tf.tanh(tf.matMul(x, w)) }));
    const eager = tf.tidy(() => tf.tanh(tf.matMul(x, w)));
    assert.deepEqual(await y.data(), await eager.data(), `batch ${n}, call ${call}`);
    tf.dispose([x, y, eager]);
  };
  const held = () => Object.keys(replayer.dispatches()).map((k) => Number(/\((\d+)x8/.exec(k)![1])).sort();
  for (let call = 0; call < 4; call++) await draw(1, call);
  for (let call = 0; call < 4; call++) await draw(2, call);
  assert.deepEqual(held(), [1, 2]);
  for (let call = 0; call < 4; call++) await draw(3, call);
  assert.deepEqual(held(), [2, 3], 'batch 1, the least recently used, was forgotten');
  for (let call = 0; call < 2; call++) await draw(2, call);
  const bytes = gpuBytesAllocated();
  assert.ok(bytes > 0);
  for (let call = 0; call < 4; call++) await draw(1, call);
  assert.deepEqual(held(), [1, 2], 'batch 1 recorded again; batch 3 (now the least recent) forgotten');
  assert.equal(replayer.replayed, 4 * 1 + 2, 'one replay of each of the four recordings made, two more of batch 2');
  for (let round = 0; round < 3; round++) for (const n of [1, 2, 3]) for (let call = 0; call < 4; call++) await draw(n, call);
  assert.ok(held().length <= 2);
  assert.ok(gpuBytesAllocated() <= bytes * 1.5, 'GPU memory stays bounded as kinds come and go');
  replayer.dispose();
  w.dispose();
});

test('a step that draws host data outside its host inputs, or reads the device, stays eager (and right)', { skip: noGpu }, async () => {
  const eager = await linearRun('eager-outside', false, 6, { drawOutside: true });
  const outside = await linearRun('outside', true, 6, { drawOutside: true });
  assert.equal(outside.replayed, 0);
  assert.match(Object.values(outside.refusals)[0], /two recordings differ \(constant/);
  assert.deepEqual(outside.losses, eager.losses, 'a refused kind runs its steps as written');
  const reading = await linearRun('reading', true, 6, { read: true });
  assert.equal(reading.replayed, 0);
  assert.match(Object.values(reading.refusals)[0], /reads device data on the host/);
});

test('a variable assigned outside the step: the replay copies its new value in and stays exact, without recording the step again', { skip: noGpu }, async () => {
  // At step 5 the weights are halved outside the step, as a checkpoint restore or an optimizer reset would.
  const between = (m: ReturnType<typeof linearModel>, step: number) => {
    if (step === 5) m.w.assign(tf.tidy(() => tf.mul(m.w, 0.5)));
  };
  const eager = await linearRun('eager-assigned', false, 10, { between });
  const replayed = await linearRun('assigned', true, 10, { between });
  assert.deepEqual(replayed.losses, eager.losses);
  assert.deepEqual(replayed.weights, eager.weights);
  assert.equal(replayed.replayed, 7, 'steps 3-9 replay, step 6 from the halved weights');
  // The assign outside holds the halved weights in a buffer of their own, which the replays then write.
  assert.ok(new Set(replayed.gpuBytes.slice(6)).size === 1, `GPU bytes allocated ${replayed.gpuBytes}`);
});

/** Every family's train step, small, on real data; the text families pre-train their caption encoder for 2 steps first. */
const FAMILIES: [string, string, Record<string, unknown>][] = [
  ['dcgan', 'mnist', { imageSize: 32, ngf: 8, ndf: 8 }],
  ['cgan', 'mnist', { imageSize: 32, ngf: 8, ndf: 8 }],
  ['acgan', 'mnist', { imageSize: 32, ngf: 8, ndf: 8 }],
  ['acgan', 'mnist', { imageSize: 32, ngf: 8, ndf: 8, augment: ['color', 'translation', 'cutout'] }],
  ['cgan', 'mnist', { imageSize: 32, ngf: 8, ndf: 8, spectralNorm: true }],
  ['acgan', 'mnist', { imageSize: 32, ngf: 8, ndf: 8, r1: 10 }],
  ['dcgan', 'mnist', { imageSize: 32, ngf: 8, ndf: 8, r1: 10, r1Every: 3 }],
  ['dcgan', 'mnist', { imageSize: 32, ngf: 8, ndf: 8, loss: 'wgan-gp' }],
  ['cgan', 'mnist', { imageSize: 32, ngf: 8, ndf: 8, loss: 'wgan-gp' }],
  ['acgan', 'mnist', { imageSize: 32, ngf: 8, ndf: 8, loss: 'wgan-gp', dNorm: 'layer' }],
  ['vae', 'mnist', { imageSize: 32, width: 8, latent: 8 }],
  ['vae-gan', 'mnist', { imageSize: 32, width: 8, latent: 8, ndf: 8 }],
  ['vae-gan', 'mnist', { imageSize: 32, width: 8, latent: 8, ndf: 8, similarity: 'discriminator' }],
  ['unet-vae-gan', 'mnist', { imageSize: 32, width: 8, latent: 8, ndf: 8 }],
  ['gan-cls', 'shapes', { imageSize: 32, ngf: 8, ndf: 8, textSteps: 2, interpolation: true, styleEncoder: true }],
  ['gan-cls', `captions:${join(root, 'test', 'fixtures', 'captions')}`, { imageSize: 32, ngf: 8, ndf: 8, textSteps: 2, captionsPerImage: 3 }],
  ['dfgan', 'shapes', { imageSize: 32, ngf: 8, ndf: 8, textSteps: 2 }],
  ['pix2pixhd', `pairs:${join(root, 'test', 'fixtures', 'pairs')}`, { height: 32, width: 64, featNum: 3, nDownE: 2, ngf: 8, nDown: 2, nBlocks: 1, ndf: 8 }],
  ['pix2pixhd', `pairs:${pairsWithFeatureMaps(2)}`, { height: 32, width: 64, featNum: 3, loadFeatures: true, ngf: 8, nDown: 2, nBlocks: 1, ndf: 8 }],
  ['pix2pixhd', `pairs:${writePicturePairs({ train: 8, test: 0, size: 32 })}`, { height: 32, pictures: true, ngf: 8, nDown: 2, nBlocks: 1, ndf: 8 }],
  ['segmenter', 'shapes', { height: 32, nf: 8, depth: 2 }],
];

async function familySteps(family: string, data: string, config: Record<string, unknown>, replay: boolean, steps: number, updateG?: (step: number) => boolean) {
  // DCGAN has its own hand-built WebGPU step; this checks the generic recording on its eager step.
  process.env.GANTRY_WEBGPU_EAGER = '1';
  const { model, batchAt } = familyModel(family, data, config, 4);
  delete process.env.GANTRY_WEBGPU_EAGER;
  const runner = new TrainSteps(model, { replay });
  const losses: Record<string, number>[] = [];
  const gpuBytes: number[] = [];
  const passedOn = gpuKernelCalls.tfjs;
  for (let step = 0; step < steps; step++) {
    const batch = batchAt(step);
    const l = runner.run(batch, { step, rng: new Rng(1, 'step', step), updateG: updateG?.(step) });
    losses.push(Object.fromEntries(await Promise.all(Object.entries(l).map(async ([k, t]) => [k, (await t.data())[0]] as const))));
    tf.dispose([batch.images, batch.labels ?? [], ...Object.values(l)]);
    gpuBytes.push(gpuBytesAllocated());
  }
  const weights = await Promise.all(Object.values(model.networks).flatMap((p) => p.named().map(async ([k, v]) => [k, await v.data()] as const)));
  const result = { losses, weights, replayed: runner.replayed, refusals: runner.refusals(), optimizerSteps: Object.values(model.optimizers).map((o) => o.step), passedOn: gpuKernelCalls.tfjs - passedOn, gpuBytes };
  runner.dispose();
  model.dispose();
  return result;
}

for (const [family, data, config] of FAMILIES) {
  test(`${family}${config.similarity ? ` (similarity ${config.similarity})` : ''}${config.loadFeatures ? ' (loadFeatures)' : ''}${config.pictures ? ' (pictures)' : ''}${config.captionsPerImage ? ' (captionsPerImage)' : ''}${config.augment ? ' (augment)' : ''}${config.spectralNorm ? ' (spectralNorm)' : ''}${config.r1 ? ` (r1${config.r1Every ? ` every ${config.r1Every}` : ''})` : ''}${config.loss ? ` (${config.loss})` : ''}${config.dNorm ? ` (dNorm ${config.dNorm})` : ''}: replayed train steps match the eager ones bit for bit; every convolution, product and sum on gantry's kernels; GPU memory flat`, { skip: noGpu }, async () => {
    const text = family === 'gan-cls' || family === 'dfgan';
    // A lazy R1 every 3 steps: steps 0, 3, 6, 9 take the penalty's update, a kind of their own: warmed up (0),
    // recorded twice (3, 6), replayed (9). The others warm up (1), record twice (2, 4) and replay (5, 7, 8, 10,
    // 11), each kind reading the weights the other's steps left on buffers of their own.
    const lazy = Boolean(config.r1Every);
    const steps = lazy ? 12 : text ? 8 : 6;
    const before = tf.memory().numTensors;
    const eager = await familySteps(family, data, config, false, steps);
    const replayed = await familySteps(family, data, config, true, steps);
    assert.deepEqual(replayed.refusals, {});
    assert.equal(eager.passedOn, 0, `${family}: calls passed on to tfjs's kernels (gpuKernelCalls)`);
    assert.equal(replayed.replayed, lazy ? 6 : 3, `${family}: steps replayed`);
    assert.ok(replayed.gpuBytes[0] > 0 && new Set(replayed.gpuBytes.slice(-3)).size === 1, `${family}: GPU bytes allocated after each step ${replayed.gpuBytes}`);
    assert.deepEqual(replayed.losses, eager.losses);
    for (const [i, [name, w]] of eager.weights.entries()) assert.deepEqual(replayed.weights[i][1], w, `${family}: ${name} differs`);
    assert.deepEqual(replayed.optimizerSteps, eager.optimizerSteps);
    assert.equal(tf.memory().numTensors, before, 'no tensor left behind');
  });
}

test('D-only steps between full ones (train.dSteps 2): both kinds replay, each reading the weights the other left, bit for bit as eager', { skip: noGpu }, async () => {
  const before = tf.memory().numTensors;
  // Even steps update G and D, odd ones D only: each kind warms up, records twice and then replays (steps 6-9).
  const updateG = (step: number) => step % 2 === 0;
  const config = { imageSize: 32, ngf: 8, ndf: 8 };
  const eager = await familySteps('acgan', 'mnist', config, false, 10, updateG);
  const replayed = await familySteps('acgan', 'mnist', config, true, 10, updateG);
  assert.deepEqual(replayed.refusals, {});
  assert.equal(replayed.replayed, 4);
  assert.deepEqual(replayed.losses, eager.losses);
  for (const [i, [name, w]] of eager.weights.entries()) assert.deepEqual(replayed.weights[i][1], w, `${name} differs`);
  assert.deepEqual(replayed.optimizerSteps, eager.optimizerSteps);
  assert.ok(new Set(replayed.gpuBytes.slice(-4)).size === 1, `GPU bytes allocated after each step ${replayed.gpuBytes}`);
  assert.equal(tf.memory().numTensors, before, 'no tensor left behind');
});

test('training on replayed steps: losses, checkpoints and resume as on the eager kernels (a checkpoint read between replays included, the weights\' average updated inside the replayed step and swapped in for sample grids); DCGAN takes the recorded step where its hand-built one cannot serve (an average, augmentation, spectral normalisation, R1, the hinge loss, WGAN-GP, a D without batch norm)', { skip: noGpu }, async () => {
  const { train } = await import('../../src/train/trainer.ts');
  const { validateRunConfig } = await import('../../src/train/run-config.ts');
  const { readMetrics } = await import('../../src/train/metrics.ts');
  const { readSafetensors } = await import('../../src/io/safetensors-file.ts');
  const { tempDir } = await import('../helpers.ts');
  const config = validateRunConfig({
    family: 'vae-gan', seed: 3, data: 'mnist', model: { imageSize: 32, width: 8, latent: 8, ndf: 8, klWarmup: 6 },
    train: { steps: 10, batch: 8, logEvery: 1, sampleEvery: 4, checkpointEvery: 3, samples: 4, ema: 0.9 },
  }, 'test config');
  const root = tempDir();
  const before = tf.memory().numTensors;
  const lines: string[] = [];
  await train({ outDir: join(root, 'replayed'), config, log: (l) => lines.push(l) });
  assert.equal(tf.memory().numTensors, before, 'tensors left behind');
  assert.ok(!lines.some((l) => l.includes('not replayed')), lines.join('\n'));
  process.env.GANTRY_WEBGPU_EAGER = '1';
  try {
    await train({ outDir: join(root, 'eager'), config, quiet: true });
  } finally {
    delete process.env.GANTRY_WEBGPU_EAGER;
  }
  // Stopped at step 5, resumed from its checkpoint at step 3: each part warms up and records again.
  await train({ outDir: join(root, 'split'), config, quiet: true, stopAtStep: 5 });
  await train({ outDir: join(root, 'split'), resume: true, quiet: true });
  const rows = (dir: string) => readMetrics(join(root, dir)).map(({ imagesPerSec: _r, seconds: _s, ...losses }) => losses);
  assert.equal(rows('replayed').length, 10);
  assert.deepEqual(rows('replayed'), rows('eager'));
  assert.deepEqual(rows('split'), rows('eager'));
  const want = readSafetensors(join(root, 'eager', 'checkpoint.safetensors')).tensors;
  assert.ok(Object.keys(want).some((k) => k.startsWith('ema/')), 'the average is in the checkpoint');
  // DCGAN's hand-built step keeps its weights to itself: a run that averages them takes the recorded one.
  const { buildModel } = await import('../../src/train/run.ts');
  const dcgan = validateRunConfig({ family: 'dcgan', model: { imageSize: 32, ngf: 8, ndf: 8, channels: 1 } }, 'test config');
  for (const weightsAveraged of [false, true]) {
    const model = buildModel(dcgan, { weightsAveraged });
    assert.equal(model.replaysItself, !weightsAveraged);
    model.dispose();
  }
  // Nor does it augment what D sees (model.augment).
  const augmented = buildModel(validateRunConfig({ family: 'dcgan', model: { ...dcgan.model, augment: ['cutout'] } }, 'test config'));
  assert.equal(augmented.replaysItself, false);
  augmented.dispose();
  // Nor does it normalise D's weights by their spectral norm (model.spectralNorm).
  const normalised = buildModel(validateRunConfig({ family: 'dcgan', model: { ...dcgan.model, spectralNorm: true } }, 'test config'));
  assert.equal(normalised.replaysItself, false);
  normalised.dispose();
  // Nor does it differentiate D twice (model.r1), take the hinge or WGAN-GP's loss, or another normalisation of D than batch norm.
  for (const other of [{ r1: 10 }, { loss: 'hinge' }, { loss: 'wgan-gp' }, { dNorm: 'none' }, { dNorm: 'layer' }]) {
    const model = buildModel(validateRunConfig({ family: 'dcgan', model: { ...dcgan.model, ...other } }, 'test config'));
    assert.equal(model.replaysItself, false, JSON.stringify(other));
    model.dispose();
  }
  for (const dir of ['replayed', 'split']) {
    const got = readSafetensors(join(root, dir, 'checkpoint.safetensors')).tensors;
    for (const k of Object.keys(want)) assert.deepEqual(got[k].data, want[k].data, `${dir}: tensor ${k} differs`);
  }
});

/**
 * Every weight and batch-norm statistic of a model moved off its initial value by seeded noise (running
 * variances kept positive): what a few training steps would do, without compiling a training step.
 */
async function moveOffInitialWeights(model: FamilyInstance, seed: number): Promise<void> {
  for (const [network, params] of Object.entries(model.networks)) {
    for (const [name, v] of params.named()) {
      if (v.dtype !== 'float32') continue;
      const values = (await v.data()) as Float32Array;
      const noise = new Rng(seed, network, name).fillNormal(new Float32Array(values.length));
      const rms = Math.sqrt(values.reduce((a, x) => a + x * x, 0) / values.length);
      const moved = name.endsWith('running_var')
        ? values.map((x, i) => x * Math.exp(0.2 * noise[i]))
        : values.map((x, i) => x + 0.1 * Math.max(rms, 0.05) * noise[i]);
      const t = tf.tensor(moved, v.shape);
      v.assign(t);
      t.dispose();
    }
  }
}

test('every generator: replayed draws give the eager images bit for bit, on gantry\'s kernels alone', { skip: noGpu }, async () => {
  // The segmenter draws no images; pix2pixhd is drawn once, without features (its loadFeatures entry would draw the same way).
  for (const [family, data, config] of FAMILIES.filter(([f, , c]) => f !== 'segmenter' && !c.loadFeatures && !c.captionsPerImage && !c.augment && !c.spectralNorm && !c.r1 && !c.loss)) {
    const { model, info, batchAt } = familyModel(family, data, family === 'pix2pixhd' ? { ...config, featNum: 0 } : config, 4);
    const run = { info, model };
    await moveOffInitialWeights(model, 1);
    // The batch of the families' train steps above, whose convolutions' kernels lavapipe has compiled by now.
    const n = 4;
    let conditions: ConditionRows;
    if (family !== 'pix2pixhd') conditions = await gridConditions(run, n);
    else {
      const maps = batchAt(9);
      const [, h, w] = maps.images.shape;
      const take = (ids: Int32Array | undefined) => (ids ? Int32Array.from({ length: n * h * w }, (_, i) => ids[i % ids.length]) : null);
      conditions = { kind: 'labelMap', maps: { n, height: h, width: w, labels: take(maps.labelMaps)!, instances: take(maps.instanceMaps) } };
      tf.dispose([maps.images, maps.labels ?? []]);
    }
    for (let call = 0; call < 6; call++) {
      const vectors = Array.from({ length: n }, (_, i) => new Rng(call, 'z', i).fillNormal(new Float32Array(run.info.latentDim)));
      const replayed = vectorsToImages(run, vectors, conditions);
      process.env.GANTRY_WEBGPU_EAGER = '1';
      const passedOn = gpuKernelCalls.tfjs;
      const eager = vectorsToImages(run, vectors, conditions);
      delete process.env.GANTRY_WEBGPU_EAGER;
      assert.equal(gpuKernelCalls.tfjs, passedOn, `${family}: calls of its generator passed on to tfjs's kernels`);
      assert.deepEqual(await replayed.data(), await eager.data(), `${family}: images of call ${call}`);
      tf.dispose([replayed, eager]);
    }
    // dcgan draws on its own replayed generator when it has one; built here with GANTRY_WEBGPU_EAGER unset, it does.
    assert.equal(replayedGenerations(model), model.replaysItself ? 0 : 3, `${family}: replayed draws`);
    model.dispose();
  }
});

test('FID\'s Inception on WebGPU: replayed forwards give the eager features and logits bit for bit, those PyTorch\'s, every convolution gantry\'s; tensors flat', { skip: noGpu }, async () => {
  const before = tf.memory().numTensors;
  // pytorch-fid's layout at 1/8 width with seeded weights (test/golden/make_inception.py); inputs resized to 299 inside.
  const extractor = inceptionExtractor(join(root, 'test', 'golden', 'inception_w8.pth'), 2048);
  // Per kind (features; features and logits): an eager warm-up, two recordings, then a replay.
  for (const [i, withLogits] of [false, false, false, false, true, true, true, true].entries()) {
    const images = tf.tensor4d(Float32Array.from({ length: 24 * 24 * 3 }, (_, k) => (Math.sin(i * 7.1 + k * 0.37) + 1) / 2), [1, 24, 24, 3]);
    const replaysBefore = replayedExtractions(extractor);
    const out = extractor.extract(images, withLogits);
    assert.equal(out.logits === undefined, !withLogits);
    if (i % 4 === 3) {
      assert.equal(replayedExtractions(extractor), replaysBefore + 1, `call ${i} is a replay`);
      process.env.GANTRY_WEBGPU_EAGER = '1';
      const eager = extractor.extract(images, withLogits);
      delete process.env.GANTRY_WEBGPU_EAGER;
      assert.deepEqual(await out.features.data(), await eager.features.data(), `features of call ${i}`);
      if (withLogits) assert.deepEqual(await out.logits!.data(), await eager.logits!.data(), `logits of call ${i}`);
      tf.dispose([eager.features, eager.logits ?? []]);
    }
    tf.dispose([images, out.features, out.logits ?? []]);
  }
  assert.equal(replayedExtractions(extractor), 2);
  // Against PyTorch's features (test/metrics/inception.test.ts's golden): every convolution, the 1x7, 7x1,
  // 1x3 and 3x1 ones included, on gantry's kernels.
  const g = JSON.parse(readFileSync(join(root, 'test', 'golden', 'inception_golden.json'), 'utf8')) as { images: { shape_chw: number[]; data: number[]; f2048: number[] }[] };
  for (const img of g.images) {
    const [c, h, w] = img.shape_chw;
    const x = tf.tidy(() => tf.div(tf.expandDims(tf.transpose(tf.tensor3d(img.data, [c, h, w]), [1, 2, 0]), 0), 255) as tf.Tensor4D);
    const calls = { ...gpuKernelCalls };
    process.env.GANTRY_WEBGPU_EAGER = '1';
    const { features } = extractor.extract(x, false);
    delete process.env.GANTRY_WEBGPU_EAGER;
    assert.equal(gpuKernelCalls.tfjs, calls.tfjs, 'no convolution or product left to tfjs\'s kernels');
    const got = await features.data();
    const scale = Math.max(...img.f2048.map(Math.abs));
    const err = Math.max(...img.f2048.map((v, k) => Math.abs(got[k] - v)));
    assert.ok(err / scale < 1e-4, `image ${c}x${h}x${w}: features' relative error ${err / scale}`);
    tf.dispose([x, features]);
  }
  extractor.dispose();
  assert.equal(tf.memory().numTensors, before, 'no tensor left behind');
});

test("precision and recall's VGG-16 on WebGPU: a replayed forward gives the eager features bit for bit, those PyTorch's; tensors flat", { skip: noGpu }, async () => {
  const before = tf.memory().numTensors;
  // torch-fidelity's pipeline at 1/16 width with seeded weights (test/golden/make_vgg16.py), resized to 224 inside.
  const extractor = vgg16Extractor(join(root, 'test', 'golden', 'vgg16_w16.pth'));
  const g = JSON.parse(readFileSync(join(root, 'test', 'golden', 'vgg16_golden.json'), 'utf8')) as { images: { shape_chw: number[]; data_base64: string; fc2_relu: number[] }[] };
  for (const img of g.images) {
    const [c, h, w] = img.shape_chw;
    const bytes = Float32Array.from(Buffer.from(img.data_base64, 'base64'));
    const x = tf.tidy(() => tf.div(tf.expandDims(tf.transpose(tf.tensor3d(bytes, [c, h, w]), [1, 2, 0]), 0), 255) as tf.Tensor4D);
    // An eager warm-up and two recordings of this shape, then a replay.
    for (let i = 0; i < 3; i++) tf.dispose(extractor.extract(x, false).features);
    const replays = replayedExtractions(extractor);
    const { features } = extractor.extract(x, false);
    assert.equal(replayedExtractions(extractor), replays + 1, `image ${c}x${h}x${w}: a replay`);
    process.env.GANTRY_WEBGPU_EAGER = '1';
    const eager = extractor.extract(x, false).features;
    delete process.env.GANTRY_WEBGPU_EAGER;
    const got = await features.data();
    assert.deepEqual(got, await eager.data(), `image ${c}x${h}x${w}: replayed = eager`);
    const err = relError(got, img.fc2_relu);
    assert.ok(err < 1e-4, `image ${c}x${h}x${w}: relative error ${err}`);
    tf.dispose([x, features, eager]);
  }
  extractor.dispose();
  assert.equal(tf.memory().numTensors, before, 'no tensor left behind');
});

test("PPL's LPIPS on WebGPU: a replayed distance gives the eager one bit for bit, and PyTorch's; tensors flat", { skip: noGpu }, async () => {
  const before = tf.memory().numTensors;
  const net = LpipsVgg16.load(VGG16_W16, LPIPS_W16);
  // make_ppl.py's pairs: 64x64 (no resize) and 72x72 (area averaging to 64).
  for (const p of pplGolden.pairs.filter((q: { shape_nchw: number[] }) => q.shape_nchw[3] === 64 || q.shape_nchw[3] === 72)) {
    const a = nhwc(p.a, p.shape_nchw);
    const b = nhwc(p.b, p.shape_nchw);
    // An eager warm-up and two recordings of this shape, then a replay.
    for (let i = 0; i < 3; i++) net.distance(a, b, 64).dispose();
    const replays = net.replayed;
    const d = net.distance(a, b, 64);
    assert.equal(net.replayed, replays + 1, `${p.shape_nchw.join('x')}: a replay`);
    process.env.GANTRY_WEBGPU_EAGER = '1';
    const eager = net.distance(a, b, 64);
    delete process.env.GANTRY_WEBGPU_EAGER;
    const got = await d.data();
    assert.deepEqual(got, await eager.data(), `${p.shape_nchw.join('x')}: replayed = eager`);
    assert.ok(relError(got, p.lpips) < 1e-4, `${p.shape_nchw.join('x')}: ${Array.from(got)} vs PyTorch's ${p.lpips}`);
    tf.dispose([a, b, d, eager]);
  }
  net.dispose();
  assert.equal(tf.memory().numTensors, before, 'no tensor left behind');
});

test('a replayed step\'s GPU time by kernel (gantry bench --profile): every dispatch timed, labelled by its kernel; the VAE\'s batch norms are gantry\'s; a generator\'s draws too; steps\' passes on a timeline (--timeline)', { skip: noGpu }, async () => {
  const r = await benchFamilyStep({ family: 'vae', data: 'mnist', model: { imageSize: 32, width: 8, latent: 8 }, batch: 4, steps: 2, warmup: 3, profile: true, timeline: true });
  // Two more steps with their passes timed (only a replay has them): the GPU's work inside each step's span, the span inside its wall time.
  const t = r.timeline!;
  assert.equal(t.steps, 2);
  assert.ok(t.in_passes_ms > 0 && t.in_passes_ms <= t.gpu_span_ms + 1e-3 && t.gpu_span_ms <= t.wall_ms + 1, JSON.stringify(t));
  assert.ok(t.gpu_idle_before_ms !== null && t.gpu_idle_before_ms >= 0, JSON.stringify(t));
  const [[kind, dispatches]] = Object.entries(r.dispatches);
  const p = r.profile![kind];
  assert.equal(p.kernels.reduce((n, k) => n + k.dispatches, 0), dispatches, 'every dispatch of the replayed step, once');
  assert.ok(p.gpu_ms > 0 && p.kernels.every((k) => k.label && k.ms >= 0));
  assert.ok(p.kernels.every((k, i) => i === 0 || k.ms <= p.kernels[i - 1].ms), 'most time first');
  const labels = p.kernels.map((k) => k.label);
  for (const label of ['batch-norm.merge', 'batch-norm-grad.merge', 'Conv2D.fwd']) assert.ok(labels.some((l) => l.startsWith(label)), `${label} among ${labels.join(', ')}`);
  // Each dispatch under its own label, not that of whoever first made its pipeline (DCGAN's hand-built layers, when the generators' test ran before).
  assert.ok(!labels.some((l) => /\.main\.\d/.test(l)), `another network's layer labels among ${labels.join(', ')}`);
  // A generator's draws (gantry bench --generate --profile), 4 images at a time: one recording, G's transposed convolutions in it.
  const g = await benchFamilyGenerate({ family: 'vae', data: 'mnist', model: { imageSize: 32, width: 8, latent: 8 }, batch: 8, steps: 1, warmup: 3, drawChunk: 4, profile: true });
  const draws = Object.values(g.profile!);
  assert.equal(draws.length, 1, 'one batch shape recorded');
  assert.ok(draws[0].gpu_ms > 0 && draws[0].kernels.some((k) => k.label.startsWith('Conv2DBackpropInput.dgrad')), draws[0].kernels.map((k) => k.label).join(', '));
});
