import assert from 'node:assert/strict';
import { test } from 'node:test';
import { tf } from '../../src/engine/index.ts';
import { Rng } from '../../src/engine/rng.ts';
import { Dcgan, dcganSchema } from '../../src/models/dcgan.ts';
import { NO_CONDITION } from '../../src/models/condition.ts';
import { gantryCli, maxAbsDiff, tempDir } from '../helpers.ts';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { train } from '../../src/train/trainer.ts';
import { validateRunConfig } from '../../src/train/run-config.ts';
import { readMetrics } from '../../src/train/metrics.ts';
import { readSafetensors } from '../../src/io/safetensors-file.ts';
import { checkDcganStepsAgainstPyTorch } from '../golden/dcgan-golden.ts';
import { checkPix2PixHDStepsAgainstPyTorch } from '../golden/pix2pixhd-step-golden.ts';
import { checkDfganStepsAgainstPyTorch } from '../golden/dfgan-step-golden.ts';
import { checkGanClsStepsAgainstPyTorch } from '../golden/gan-cls-step-golden.ts';
import { AUTO_ENCODER_GOLDENS, checkAutoEncoderStepsAgainstPyTorch } from '../golden/vae-step-golden.ts';
import { CONDITIONAL_GOLDENS, checkConditionalStepsAgainstPyTorch } from '../golden/conditional-step-golden.ts';
import { UNET_GOLDENS, checkUnetStepsAgainstPyTorch } from '../golden/unet-step-golden.ts';
import { checkLpipsAgainstPyTorch, checkLpipsGradientAgainstPyTorch, checkPplAgainstPyTorch, goldenGenerator, LPIPS_W16, VGG16_W16 } from '../golden/ppl-golden.ts';
import { projectImages, PROJECTION_DEFAULTS, SQUARED_ERROR } from '../../src/explore/project.ts';
import { RepeatedStep } from '../../src/models/step-runner.ts';
import { LpipsVgg16, lpipsMeasure } from '../../src/metrics/lpips.ts';
import { vectorsToImages } from '../../src/explore/render.ts';
import { latentForSeed } from '../../src/explore/latent.ts';
import { NONE } from '../../src/explore/conditions.ts';
import { startWebGpuOrSkip } from './adapter.ts';

// WebGPU needs a GPU adapter (Dawn on Vulkan/Metal/D3D12). CI and the CPU machines have none: these
// tests are skipped there, with the reason shown, and run on the GPU machine, or on Mesa 24+ lavapipe (README, "On a GPU").
const noGpu = await startWebGpuOrSkip((line) => console.log(line));

test('WebGPU: DCGAN training steps match PyTorch (losses, weights, running statistics)', { skip: noGpu }, () => checkDcganStepsAgainstPyTorch());

test('WebGPU: DCGAN with spectral normalisation in D matches PyTorch (losses, weights, u)', { skip: noGpu }, () => checkDcganStepsAgainstPyTorch({ spectralNorm: true }));
test('WebGPU: DCGAN with R1 matches PyTorch (losses, weights)', { skip: noGpu }, () => checkDcganStepsAgainstPyTorch({ r1: true }));
test('WebGPU: DCGAN with a lazy R1 matches PyTorch (losses, the penalty on its steps, weights)', { skip: noGpu }, () => checkDcganStepsAgainstPyTorch({ lazyR1: true }));
test('WebGPU: DCGAN with WGAN-GP matches PyTorch (losses, the penalty, weights)', { skip: noGpu }, () => checkDcganStepsAgainstPyTorch({ wganGp: true }));
test('WebGPU: DCGAN with WGAN-GP and a layer-normed critic matches PyTorch', { skip: noGpu }, () => checkDcganStepsAgainstPyTorch({ wganGp: true, layerNorm: true }));

// gantry's WGSL kernels under DF-GAN's step: the Affine, MA-GP's double backward (AvgPoolGrad's gradient among its ops).
test('WebGPU: DF-GAN training steps match its authors\' code in PyTorch (hinge with mismatched pairs, MA-GP)', { skip: noGpu }, checkDfganStepsAgainstPyTorch);

test('WebGPU: GAN-CLS / GAN-INT training steps match the paper\'s step in PyTorch', { skip: noGpu }, () => checkGanClsStepsAgainstPyTorch('paper'));
test('WebGPU: GAN-CLS / GAN-INT training steps match the authors\' code in PyTorch', { skip: noGpu }, () => checkGanClsStepsAgainstPyTorch('authors'));

test('WebGPU: the VAE\'s, VAE-GAN\'s and Larsen et al.\'s VAE/GAN\'s training steps match PyTorch\'s', { skip: noGpu }, async () => {
  for (const name of Object.keys(AUTO_ENCODER_GOLDENS)) await checkAutoEncoderStepsAgainstPyTorch(name);
});

test('WebGPU: the class-conditional GANs\' training steps (cgan\'s projection discriminator, AC-GAN\'s classifier) match PyTorch\'s', { skip: noGpu }, async () => {
  for (const name of Object.keys(CONDITIONAL_GOLDENS)) await checkConditionalStepsAgainstPyTorch(name);
});

test('WebGPU: the U-Net VAE-GAN\'s training steps (modulated skips, and noise in their place) match PyTorch\'s', { skip: noGpu }, async () => {
  for (const name of UNET_GOLDENS) await checkUnetStepsAgainstPyTorch(name);
});

// gantry's WGSL kernels under pix2pixHD's step: instance norm, reflection padding, the pooling without padded pixels, E's instance means.
test('WebGPU: pix2pixHD training steps match NVIDIA\'s code in PyTorch (global G with E and the VGG loss; the local enhancer across the switch; E pooling per label; loaded feature maps)', { skip: noGpu }, async () => {
  await checkPix2PixHDStepsAgainstPyTorch('global');
  await checkPix2PixHDStepsAgainstPyTorch('local');
  await checkPix2PixHDStepsAgainstPyTorch('labelfeat');
  await checkPix2PixHDStepsAgainstPyTorch('loadfeat');
});

/** One training step of a small DCGAN with tfjs's eager kernels or gantry's replayed ones. */
async function oneStep(imageSize: 32 | 64 | 128, eager: boolean, width: number = imageSize) {
  const model = new Dcgan(dcganSchema.parse({ imageSize, imageWidth: width === imageSize ? 0 : width, channels: 3, ngf: 8, ndf: 8 }), 3, { replayedGpuStep: !eager });
  const rng = new Rng(5, 'replay');
  const images = tf.tensor4d(rng.fillNormal(new Float32Array(4 * imageSize * width * 3)), [4, imageSize, width, 3]);
  const l = model.trainStep({ images }, { step: 0, rng: rng.derive(0) });
  const losses = [(await l.lossD.data())[0], (await l.lossG.data())[0]];
  tf.dispose([images, l.lossD, l.lossG]);
  model.syncVariables();
  const tensors = await Promise.all(Object.values(model.networks).flatMap((p) => p.named().map(([, v]) => v.data())));
  return { model, losses, tensors };
}

/** Images of fixed latent vectors: through the model's generate (replayed on WebGPU), or tfjs's eager G. */
async function sample(model: Dcgan, eager: boolean): Promise<Float32Array> {
  const z = tf.tensor2d(new Rng(9).fillNormal(new Float32Array(6 * 100)), [6, 100]);
  model.syncVariables();
  const images = eager ? tf.tidy(() => model.G.apply(z, false)) : model.generate(z, NO_CONDITION);
  const out = (await images.data()) as Float32Array;
  tf.dispose([z, images]);
  return out;
}

test("WebGPU: LPIPS matches torch-fidelity's in PyTorch (both resizes, the taps, the channel norm)", { skip: noGpu }, checkLpipsAgainstPyTorch);
test("WebGPU: a DCGAN generator's PPL matches torch-fidelity's in PyTorch (unquantised and 8-bit)", { skip: noGpu }, checkPplAgainstPyTorch);

test("WebGPU: LPIPS's gradient matches PyTorch's autograd's", { skip: noGpu }, checkLpipsGradientAgainstPyTorch);

test('WebGPU: projecting into a DCGAN whose draws are hand-built lowers the squared error and LPIPS (through tfjs\'s ops, which have gradients)', { skip: noGpu }, async () => {
  const model = goldenGenerator();
  assert.ok(model.replayedGpuStep, 'the hand-built GPU generator is the one under test');
  const run = { info: model.info, model };
  const targets = vectorsToImages(run, [latentForSeed(1000, model.info.latentDim)], NONE);
  const lpips = LpipsVgg16.load(VGG16_W16, LPIPS_W16);
  for (const measure of [SQUARED_ERROR, lpipsMeasure(lpips)]) {
    const [p] = await projectImages(run, targets, [{ name: '', condition: NONE }], { ...PROJECTION_DEFAULTS, steps: 12, pool: 16 }, { measure });
    assert.ok(p.distance < p.startDistance / 2, `${measure.name}: ${p.startDistance} -> ${p.distance}`);
  }
  tf.dispose(targets);
  lpips.dispose();
  model.dispose();
});

test('WebGPU: projection\'s step is recorded and replayed, and finds what the eager step finds (squared error and LPIPS)', { skip: noGpu }, async () => {
  const model = goldenGenerator();
  const run = { info: model.info, model };
  const targets = vectorsToImages(run, [latentForSeed(1000, model.info.latentDim), latentForSeed(1001, model.info.latentDim)], NONE);
  const lpips = LpipsVgg16.load(VGG16_W16, LPIPS_W16);
  const settings = { ...PROJECTION_DEFAULTS, steps: 8, starts: 2, pool: 4 };
  for (const measure of [SQUARED_ERROR, lpipsMeasure(lpips)]) {
    process.env.GANTRY_WEBGPU_EAGER = '1';
    const eager = await projectImages(run, targets, [{ name: '', condition: NONE }], settings, { measure });
    delete process.env.GANTRY_WEBGPU_EAGER;
    const before = RepeatedStep.replayedInAll;
    const tensors = tf.memory().numTensors;
    const replayed = await projectImages(run, targets, [{ name: '', condition: NONE }], settings, { measure });
    // The first step eager, two recorded, the other five replayed.
    assert.equal(RepeatedStep.replayedInAll - before, 5, `${measure.name}: steps replayed`);
    assert.equal(tf.memory().numTensors, tensors, `${measure.name}: no tensor left behind`);
    for (const [i, p] of replayed.entries()) {
      assert.ok(p.distance < p.startDistance, `${measure.name}: ${p.startDistance} -> ${p.distance}`);
      // The recorded kernels are the eager step's own: the same numbers.
      assert.ok(Math.abs(p.distance - eager[i].distance) <= 1e-6 * eager[i].distance, `${measure.name} image ${i}: replayed ${p.distance}, eager ${eager[i].distance}`);
      assert.ok(p.latent.every((v, k) => Math.abs(v - eager[i].latent[k]) < 1e-5), `${measure.name} image ${i}: the vectors differ`);
    }
  }
  tf.dispose(targets);
  lpips.dispose();
  model.dispose();
});

test('WebGPU: the replayed DCGAN step and generator match tfjs\'s eager kernels (32, 64 and 128 pixels; 32x64, whose first and last layers have 4x8 filters)', { skip: noGpu }, async () => {
  const lr = 2e-4;
  for (const [size, width] of [[32, 32], [64, 64], [128, 128], [32, 64]] as const) {
    const eager = await oneStep(size, true, width);
    const replayed = await oneStep(size, false, width);
    assert.ok(Math.abs(eager.losses[0] - replayed.losses[0]) < 1e-5, `${size}x${width} lossD: eager ${eager.losses[0]}, replayed ${replayed.losses[0]}`);
    assert.ok(Math.abs(eager.losses[1] - replayed.losses[1]) < 1e-3, `${size}x${width} lossG: eager ${eager.losses[1]}, replayed ${replayed.losses[1]}`);
    // Adam's first update is lr * sign(gradient): where a gradient is zero up to rounding (dead ReLUs,
    // tiny batch), the two may step +lr and -lr. Everything else must agree to rounding.
    let flipped = 0;
    let total = 0;
    for (const [i, w] of eager.tensors.entries()) {
      for (let j = 0; j < w.length; j++) {
        const d = Math.abs(w[j] - replayed.tensors[i][j]);
        assert.ok(d < 2 * lr + 1e-5, `${size}x${width} tensor ${i}[${j}] differs by ${d}`);
        if (d > 2e-5) flipped++;
      }
      total += w.length;
    }
    assert.ok(flipped < 0.01 * total, `${size}x${width}: ${flipped} of ${total} numbers differ after one step`);
    // The generator alone: same weights, eager tfjs against the replayed program.
    const a = await sample(replayed.model, true);
    const b = await sample(replayed.model, false);
    assert.ok(maxAbsDiff(a, b) < 1e-4, `${size}x${width} samples differ by ${maxAbsDiff(a, b)}`);
    eager.model.dispose();
    replayed.model.dispose();
  }
});

test('WebGPU: training on the replayed step checkpoints, samples and resumes exactly', { skip: noGpu }, async () => {
  const config = validateRunConfig({
    family: 'dcgan', seed: 3, data: 'mnist', model: { ngf: 8, ndf: 8 },
    train: { steps: 6, batch: 8, logEvery: 1, sampleEvery: 3, checkpointEvery: 2, samples: 4 },
  }, 'test config');
  const root = tempDir();
  const before = tf.memory().numTensors;
  await train({ outDir: join(root, 'straight'), config, quiet: true });
  assert.equal(tf.memory().numTensors, before, 'tensors left behind by a WebGPU run');
  await train({ outDir: join(root, 'split'), config, quiet: true, stopAtStep: 3 });
  await train({ outDir: join(root, 'split'), resume: true, quiet: true });
  const rows = (dir: string) => readMetrics(join(root, dir)).map((r) => [r.step, r.lossD, r.lossG]);
  assert.deepEqual(rows('split'), rows('straight'));
  assert.equal(rows('straight').length, 6);
  assert.deepEqual(readdirSync(join(root, 'split', 'samples')).sort(), ['step-000000.png', 'step-000003.png', 'step-000006.png']);
  const a = readSafetensors(join(root, 'straight', 'checkpoint.safetensors')).tensors;
  const b = readSafetensors(join(root, 'split', 'checkpoint.safetensors')).tensors;
  for (const k of Object.keys(a)) assert.deepEqual(a[k].data, b[k].data, `tensor ${k} differs after resume`);
});

test('WebGPU: pix2pixhd (instance maps, the feature encoder, two scales of D) trains as on the CPU, its steps replayed from the fourth, and translates', { skip: noGpu }, async () => {
  const { writeFileSync } = await import('node:fs');
  const { fileURLToPath } = await import('node:url');
  const root = join(fileURLToPath(import.meta.url), '..', '..', '..');
  const pairs = join(root, 'test', 'fixtures', 'pairs');
  const dir = tempDir();
  const config = join(dir, 'config.json');
  writeFileSync(config, JSON.stringify({ model: { height: 32, width: 64, featNum: 3, nDownE: 2, ngf: 8, nDown: 2, nBlocks: 1, ndf: 8 }, train: { batch: 2, logEvery: 1 } }));
  const gantry = (...args: string[]) => {
    const r = gantryCli(args);
    assert.equal(r.code, 0, r.stderr);
  };
  const losses: Record<string, number[][]> = {};
  for (const device of ['cpu', 'webgpu']) {
    gantry('train', 'pix2pixhd', '--data', `pairs:${pairs}`, '--config', config, '--steps', '5', '--out', join(dir, device), '--device', device, '--quiet');
    losses[device] = readMetrics(join(dir, device)).map((m) => [m.lossD as number, m.lossG as number]);
  }
  losses.cpu.forEach((row, i) => row.forEach((v, k) => assert.ok(Math.abs(losses.webgpu[i][k] - v) < 0.01 * Math.abs(v), `step ${i + 1} loss ${k}: webgpu ${losses.webgpu[i][k]} cpu ${v}`)));
  gantry('translate', '--run', join(dir, 'webgpu'), '--labels', join(pairs, 'test_label'), '--instances', join(pairs, 'test_inst'), '--out', join(dir, 'images'), '--styles', '2', '--device', 'webgpu', '--quiet');
  assert.deepEqual(readdirSync(join(dir, 'images')).sort(), ['scene_000.png', 'scene_001.png']);
});
