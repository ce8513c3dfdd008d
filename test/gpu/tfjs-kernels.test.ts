import assert from 'node:assert/strict';
import { test } from 'node:test';
import { tf } from '../../src/engine/index.ts';
import { Rng } from '../../src/engine/rng.ts';
import { gantryGpuKernels, gpuKernelCalls, withTfjsGpuKernels } from '../../src/gpu/tfjs-kernels.ts';
import { downsample, instanceMeans, instanceNorm, reflectionPad } from '../../src/nn/pix2pixhd.ts';
import { INSTANCE_MEANS, INSTANCE_NORM } from '../../src/kernels/image-ops.ts';
import { NORMAL_NOISE, normalPair } from '../../src/kernels/normal-noise.ts';
import { SEGMENT_SUM_MAX_ROWS } from '../../src/gpu/kernels/segment-sum.ts';
import { GEMM_MAX_BATCH } from '../../src/gpu/kernels/gemm.ts';
import { stepNoise } from '../../src/engine/step-noise.ts';
import { AFFINE } from '../../src/kernels/affine.ts';
import { ADAM } from '../../src/kernels/adam.ts';
import { BATCH_NORM_TRAIN, fusedBatchNormTrain } from '../../src/kernels/batch-norm.ts';
import { LEAKY_RELU_GRAD } from '../../src/kernels/activation.ts';
import { Adam } from '../../src/optim/adam.ts';
import { modulate } from '../../src/nn/dfgan-blocks.ts';
import { startWebGpuOrSkip } from './adapter.ts';

// gantry's WGSL convolutions and matrix products registered as tfjs's WebGPU kernels, against tfjs's
// own WebGPU kernels on the same inputs: forward, and both gradients through tf.grads.
const noGpu = await startWebGpuOrSkip();

const rng = new Rng(11, 'tfjs-kernels');
const randn = (shape: number[]) => tf.tensor(rng.fillNormal(new Float32Array(shape.reduce((a, b) => a * b, 1))), shape);

async function assertClose(got: tf.Tensor, want: tf.Tensor, what: string, tol = 1e-4): Promise<void> {
  assert.deepEqual(got.shape, want.shape, `${what}: shape`);
  const [g, w] = [await got.data(), await want.data()];
  let scale = 1e-3;
  for (const v of w) scale = Math.max(scale, Math.abs(v));
  for (let i = 0; i < w.length; i++) {
    if (!(Math.abs(g[i] - w[i]) <= tol * scale)) assert.fail(`${what}: element ${i} is ${g[i]}, tfjs's kernel gives ${w[i]} (scale ${scale})`);
  }
}

/** Both kernels' results of f (a list of tensors), compared one by one. */
async function compare(what: string, f: () => tf.Tensor[], calls: number, tol?: number): Promise<void> {
  const before = { ...gpuKernelCalls };
  const ours = tf.tidy(f);
  assert.equal(gpuKernelCalls.gantry - before.gantry, calls, `${what}: calls gantry's kernels answered`);
  assert.equal(gpuKernelCalls.tfjs, before.tfjs, `${what}: calls passed on to tfjs's kernels`);
  const theirs = withTfjsGpuKernels(() => tf.tidy(f));
  for (let i = 0; i < ours.length; i++) await assertClose(ours[i], theirs[i], `${what} [${i}]`, tol);
  tf.dispose([...ours, ...theirs]);
}

type Pad = number | 'same' | 'valid' | [[0, 0], [number, number], [number, number], [0, 0]];
// [batch, height, width, in, out, kernel, stride, padding]: pix2pixHD's layers (7x7 after reflection
// padding, 3x3 down, residual 3x3, D's 4x4 with padding 2), DCGAN's, odd sizes, a 1x1; Inception's 1x7
// and 7x1 and the caption encoder's 1x3 (padding of their own on each axis), unequal strides, 'same'
// with stride 2 (padding below and right only); 3x3 stride-1 ones gantry runs by Winograd.
const CONVS: [number, number, number, number, number, number | [number, number], number | [number, number], Pad][] = [
  [1, 22, 38, 9, 8, 7, 1, 'valid'],
  [2, 16, 32, 8, 16, 3, 2, 1],
  [1, 10, 18, 16, 16, 3, 1, 'valid'],
  [2, 17, 33, 6, 8, 4, 2, 2],
  [1, 9, 17, 8, 1, 4, 1, 2],
  [3, 16, 16, 3, 8, 4, 2, 1],
  [2, 4, 4, 16, 1, 4, 1, 0],
  [2, 7, 5, 5, 7, 3, 1, 'same'],
  [2, 6, 6, 12, 20, 1, 1, 0],
  [2, 17, 17, 12, 16, [1, 7], 1, [[0, 0], [0, 0], [3, 3], [0, 0]]],
  [2, 17, 17, 12, 16, [7, 1], 1, [[0, 0], [3, 3], [0, 0], [0, 0]]],
  [3, 1, 18, 8, 12, [1, 3], 1, [[0, 0], [0, 0], [1, 1], [0, 0]]],
  [2, 13, 11, 5, 6, [3, 2], [2, 3], [[0, 0], [1, 0], [0, 2], [0, 0]]],
  [2, 8, 10, 6, 9, 3, 2, 'same'],
  // 3x3 stride 1 by Winograd: forward and input gradient by F(4x4); forward by F(2x2), the filter gradient by F(4x4)
  [2, 32, 32, 64, 64, 3, 1, 1],
  [2, 16, 16, 256, 256, 3, 1, 'same'],
];

test('gantry\'s convolutions as tfjs kernels: forward and both gradients as tfjs\'s WebGPU kernels give them', { skip: noGpu }, async () => {
  assert.deepEqual(gantryGpuKernels().filter((k) => !k.startsWith('Gantry')).sort(), ['BatchMatMul', 'Cast', 'Conv2D', 'Conv2DBackpropFilter', 'Conv2DBackpropInput', 'FusedConv2D', 'Mean', 'Sum', 'UnsortedSegmentSum', '_FusedMatMul']);
  for (const [n, h, w, ci, co, k, s, p] of CONVS) {
    const [kh, kw] = typeof k === 'number' ? [k, k] : k;
    const x = randn([n, h, w, ci]);
    const filter = randn([kh, kw, ci, co]);
    const y = tf.conv2d(x as tf.Tensor4D, filter as tf.Tensor4D, s, p);
    const dy = randn(y.shape);
    await compare(`conv ${JSON.stringify([n, h, w, ci, co, k, s, p])}`, () => {
      const f = (a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, s, p), dy));
      return [tf.conv2d(x as tf.Tensor4D, filter as tf.Tensor4D, s, p), ...tf.grads(f)([x, filter])];
    }, 5); // the convolution twice, both gradients, the loss's sum
    tf.dispose([x, filter, y, dy]);
  }
});

test('transposed convolutions (pix2pixHD\'s up-sampling with output padding, DCGAN\'s) as tfjs\'s WebGPU kernels give them', { skip: noGpu }, async () => {
  // [batch, in height, in width, in, out, kernel, stride, padding, out height, out width]
  const cases: [number, number, number, number, number, number, number, number | 'valid', number, number][] = [
    [2, 8, 16, 16, 8, 3, 2, 1, 16, 32],
    [2, 4, 4, 16, 8, 4, 2, 1, 8, 8],
    [2, 1, 1, 10, 16, 4, 1, 'valid', 4, 4],
    [1, 5, 7, 6, 3, 3, 2, 1, 10, 14],
  ];
  for (const [n, h, w, ci, co, k, s, p, oh, ow] of cases) {
    const x = randn([n, h, w, ci]);
    const filter = randn([k, k, co, ci]);
    const dy = randn([n, oh, ow, co]);
    await compare(`transposed ${[n, h, w, ci, co, k, s, p]}`, () => {
      const f = (a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.conv2dTranspose(a as tf.Tensor4D, b as tf.Tensor4D, [n, oh, ow, co], s, p), dy));
      return [tf.conv2dTranspose(x as tf.Tensor4D, filter as tf.Tensor4D, [n, oh, ow, co], s, p), ...tf.grads(f)([x, filter])];
    }, 5); // the convolution twice, both gradients, the loss's sum
    tf.dispose([x, filter, dy]);
  }
});

test('matrix products (either side transposed; batched, one side\'s matrix shared) as tfjs\'s WebGPU kernels give them, gradients included; batches past the grid\'s z in several dispatches; over K = 0', { skip: noGpu }, async () => {
  for (const [m, k, n] of [[8, 100, 256], [64, 48, 3], [5, 7, 9], [1, 512, 1]]) {
    const a = randn([m, k]);
    const b = randn([k, n]);
    await compare(`matmul ${m}x${k}x${n}`, () => [
      tf.matMul(a, b), tf.matMul(tf.transpose(a), b, true, false), tf.matMul(a, tf.transpose(b), false, true), tf.matMul(tf.transpose(a), tf.transpose(b), true, true),
    ], 4);
    tf.dispose([a, b]);
  }
  // [batch shape of a, of b, m, k, n]: cgan's projection (thin), 64- and 128-wide tiles, two batch axes, a shared side.
  const batched: [number[], number[], number, number, number][] = [
    [[4], [4], 16, 256, 1], [[3], [3], 4, 5, 6], [[8], [8], 70, 33, 130], [[2], [2], 130, 512, 129], [[2, 3], [2, 3], 5, 7, 9], [[3], [], 4, 5, 6], [[1], [5], 9, 17, 33], [[2, 3], [1], 6, 4, 10],
  ];
  for (const [batchA, batchB, m, k, n] of batched) {
    const a = randn([...batchA, m, k]);
    const b = randn([...batchB, k, n]);
    const transposed = (t: tf.Tensor) => tf.transpose(t, [...t.shape.keys()].map((i, _, all) => (i < all.length - 2 ? i : 2 * all.length - 3 - i)));
    const what = `matmul [${batchA}] x [${batchB}] ${m}x${k}x${n}`;
    await compare(what, () => [tf.matMul(a, b), tf.matMul(transposed(a), b, true, false), tf.matMul(a, transposed(b), false, true), tf.matMul(transposed(a), transposed(b), true, true)], 4);
    // Gradients, both batched products (tfjs's gradient of a shared side does not sum it over the batch: not asked).
    if (batchA.join() === batchB.join()) {
      const w = randn(tf.tidy(() => tf.matMul(a, b)).shape);
      await compare(`${what} gradients`, () => tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(tf.matMul(x, y), w)))([a, b]), 4); // the product, its two gradients, the loss's sum
      w.dispose();
    }
    tf.dispose([a, b]);
  }
  // More products than a grid's z holds (tfjs's kernel refuses them): several dispatches, against a float64 loop.
  const count = GEMM_MAX_BATCH + 2;
  const [av, bv] = [rng.fillNormal(new Float32Array(count * 2)), rng.fillNormal(new Float32Array(count * 2))];
  const before = gpuKernelCalls.gantry;
  const many = tf.tidy(() => tf.matMul(tf.tensor3d(av, [count, 1, 2]), tf.tensor3d(bv, [count, 2, 1])));
  assert.equal(gpuKernelCalls.gantry, before + 1);
  const got = await many.data();
  for (let z = 0; z < count; z++) {
    const want = av[2 * z] * bv[2 * z] + av[2 * z + 1] * bv[2 * z + 1];
    if (!(Math.abs(got[z] - want) <= 1e-5 * (1 + Math.abs(want)))) assert.fail(`product ${z} of ${count}: ${got[z]}, float64 ${want}`);
  }
  many.dispose();
  // Over K = 0 (empty operands, which tfjs's kernel cannot bind): zeros, then the bias and activation.
  const [empty, emptyT, bias] = [tf.zeros([4, 0]), tf.zeros([0, 3]), tf.tensor1d([1, -2, 3])];
  const products = [tf.matMul(empty, emptyT), tf.fused.matMul({ a: empty, b: emptyT, bias, activation: 'relu' }), tf.matMul(tf.zeros([2, 2, 0]), tf.zeros([2, 0, 2]))];
  assert.deepEqual(Array.from(await products[0].data()), Array(12).fill(0));
  assert.deepEqual(Array.from(await products[1].data()), [1, 0, 3, 1, 0, 3, 1, 0, 3, 1, 0, 3]);
  assert.deepEqual(Array.from(await products[2].data()), Array(8).fill(0));
  tf.dispose([empty, emptyT, bias, ...products]);
});

test('fused convolutions and matrix products (bias and activation in the store; layers\' forward, training and sampling) as tfjs\'s fused WebGPU kernels give them', { skip: noGpu }, async () => {
  const activations = ['linear', 'relu', 'relu6', 'leakyrelu', 'elu', 'sigmoid'] as const;
  // conv: 3 * x so that relu6's clamp is reached; D's 4x4 / 2, a split-K 3x3 over many channels, a 3x3 by
  // Winograd's F(4x4) (the bias and activation in its output's transform), a thin 7x7 to RGB
  for (const [n, h, w, ci, co, k, s, p] of [[2, 17, 33, 6, 8, 4, 2, 2], [2, 8, 8, 64, 128, 3, 1, 1], [2, 32, 32, 64, 72, 3, 1, 1], [1, 22, 38, 9, 3, 7, 1, 'valid']] as [number, number, number, number, number, number, number, number | 'valid'][]) {
    const x = tf.tidy(() => tf.mul(randn([n, h, w, ci]), 3));
    const filter = randn([k, k, ci, co]);
    const bias = randn([co]);
    for (const activation of activations) {
      // An error is relative to the sums' size (~70 here), which relu6 and the sigmoid clamp the scale below:
      // F(4x4)'s float32 error (a few 1e-6 of the sums, tested against float64 in kernels.test.ts) passes
      // 1e-4 of a clamped output.
      const clamped = (activation === 'relu6' || activation === 'sigmoid') && k === 3 && s === 1 && ci >= 64 ? 1e-3 : undefined;
      await compare(`fused conv ${[n, h, w, ci, co, k, s, p]} ${activation}`, () => [tf.fused.conv2d({ x: x as tf.Tensor4D, filter: filter as tf.Tensor4D, strides: s, pad: p, bias, activation, leakyreluAlpha: 0.3 })], 1, clamped);
    }
    const dy = randn(tf.tidy(() => tf.conv2d(x as tf.Tensor4D, filter as tf.Tensor4D, s, p)).shape);
    // Under gradients tfjs fuses only the bias; its gradient is the bias's leading-axes sum.
    await compare(`fused conv ${[n, h, w, ci, co, k, s, p]} gradients`, () => {
      const f = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => tf.sum(tf.mul(tf.fused.conv2d({ x: a as tf.Tensor4D, filter: b as tf.Tensor4D, strides: s, pad: p, bias: c }), dy));
      return tf.grads(f)([x, filter, bias]);
    }, 5); // the fused convolution, both gradients, the bias's sum, the loss's sum
    tf.dispose([x, filter, bias, dy]);
  }
  for (const [m, k, n, tA, tB] of [[16, 256, 256, false, false], [16, 100, 3, false, true], [5, 7, 9, true, false]] as [number, number, number, boolean, boolean][]) {
    const a = tf.tidy(() => tf.mul(randn(tA ? [k, m] : [m, k]), 3));
    const b = randn(tB ? [n, k] : [k, n]);
    const bias = randn([n]);
    for (const activation of activations) {
      await compare(`fused matmul ${[m, k, n, tA, tB]} ${activation}`, () => [tf.fused.matMul({ a, b, transposeA: tA, transposeB: tB, bias, activation, leakyreluAlpha: 0.3 })], 1);
    }
    tf.dispose([a, b, bias]);
  }
  // PReLU and a scalar bias are tfjs's kernels'.
  const x = randn([1, 6, 6, 4]);
  const filter = randn([3, 3, 4, 5]);
  const before = { ...gpuKernelCalls };
  const outs = [
    tf.fused.conv2d({ x: x as tf.Tensor4D, filter: filter as tf.Tensor4D, strides: 1, pad: 'same', activation: 'prelu', preluActivationWeights: tf.scalar(0.1) }),
    tf.fused.conv2d({ x: x as tf.Tensor4D, filter: filter as tf.Tensor4D, strides: 1, pad: 'same', bias: tf.scalar(0.5) }),
  ];
  assert.deepEqual(gpuKernelCalls, { gantry: before.gantry, tfjs: before.tfjs + 2 }, 'PReLU and a scalar bias go to tfjs\'s kernel');
  tf.dispose([x, filter, ...outs]);
});

test('Sum and Mean over any block of neighbouring axes (bias gradients, losses\' and rows\' totals, feature maps\' pixels) as gantry\'s reduction, as tfjs\'s kernels give them; axes apart and integers stay tfjs\'s', { skip: noGpu }, async () => {
  // Leading: conv and linear bias gradients (DF-GAN's, pix2pixHD's), whole-tensor totals, more than 64 columns,
  // keepDims. Trailing: per-row totals of 1 to 5000 values (one lane width per power of two up to 64; long rows
  // split into slices). Middle: a feature map's pixels per image and channel, as D's pooled features take them.
  const cases: [number[], number[] | null, boolean][] = [
    [[16, 32, 32, 64], [0, 1, 2], false], [[1, 64, 128, 16], [0, 1, 2], false], [[16, 256], [0], false], [[16, 4096], [0], true],
    [[16, 16, 16, 64], null, false], [[16], null, false], [[3, 7, 70], [0, 1], true], [[2, 5, 3, 1], [0, 1, 2, 3], true],
    [[4, 16], [1], false], [[4, 256], [1], true], [[3, 5000], [1], false], [[7, 1], [1], false], [[2, 3, 33], [2], true], [[5, 9, 3], [1, 2], false],
    [[4, 4, 4, 256], [1, 2], false], [[2, 33, 17, 3], [1, 2], true], [[3, 6, 70], [1], false], [[2, 300, 5], [1], false],
  ];
  for (const [shape, axes, keepDims] of cases) {
    const x = tf.tidy(() => tf.add(randn(shape), 0.3));
    await compare(`sum [${shape}] ${axes} ${keepDims}`, () => [tf.sum(x, axes ?? undefined, keepDims)], 1);
    await compare(`mean [${shape}] ${axes} ${keepDims}`, () => [tf.mean(x, axes ?? undefined, keepDims)], 1);
    // Against a float64 loop too: out[o, i] = sum over r of x[o, r, i].
    if (axes) {
      const [first, last] = [axes[0], axes[axes.length - 1]];
      const [outer, reduce, inner] = [shape.slice(0, first), shape.slice(first, last + 1), shape.slice(last + 1)].map((d) => d.reduce((a, b) => a * b, 1));
      const [v, got] = [await x.data(), await tf.tidy(() => tf.sum(x, axes)).data()];
      for (let o = 0; o < outer; o++) {
        for (let i = 0; i < inner; i++) {
          let want = 0;
          for (let r = 0; r < reduce; r++) want += v[(o * reduce + r) * inner + i];
          assert.ok(Math.abs(got[o * inner + i] - want) <= 1e-5 * Math.max(1, Math.abs(want)) * Math.sqrt(reduce), `sum [${shape}] ${axes}: out ${o},${i} is ${got[o * inner + i]}, float64 ${want}`);
        }
      }
    }
    x.dispose();
  }
  // Axes apart, and integers, are tfjs's kernel's.
  const before = { ...gpuKernelCalls };
  const x = randn([4, 5, 6]);
  const counts = tf.tensor1d([1, 2, 3], 'int32');
  const outs = [tf.sum(x, [0, 2]), tf.mean(x, [0, 2]), tf.sum(counts)];
  assert.equal(gpuKernelCalls.tfjs - before.tfjs, 3, 'passed on to tfjs\'s kernels');
  assert.equal(gpuKernelCalls.gantry, before.gantry);
  assert.deepEqual(await outs[2].data(), new Int32Array([6]));
  tf.dispose([x, counts, ...outs]);
});

// pix2pixHD's per-image ops: gantry's WGSL kernels against the same ops written with tfjs's ops (what
// withTfjsGpuKernels runs), values and gradients; odd sizes, more than 64 channels (two channel groups of
// the reductions), maps large enough to be split into slices, padding up to the map's size less one.
test('pix2pixHD\'s reflection padding, 3x3 / 2 average pooling and instance norm in WGSL, gradients included, as the tfjs-op forms give them', { skip: noGpu }, async () => {
  const ops: [string, (x: tf.Tensor4D) => tf.Tensor4D][] = [
    ['reflection pad 3', (x) => reflectionPad(x, 3)],
    ['reflection pad 1', (x) => reflectionPad(x, 1)],
    ['3x3 / 2 average pooling', downsample],
    ['instance norm', (x) => instanceNorm(x)],
  ];
  // The reference is the tfjs-op forms: withTfjsGpuKernels takes gantry's image-op kernels away.
  assert.ok(gantryGpuKernels().includes(INSTANCE_NORM) && tf.getKernel(INSTANCE_NORM, 'webgpu'));
  assert.equal(withTfjsGpuKernels(() => tf.getKernel(INSTANCE_NORM, 'webgpu')), undefined);
  for (const shape of [[2, 7, 9, 5], [1, 8, 6, 16], [1, 33, 20, 12], [2, 4, 5, 3], [1, 40, 70, 70]] as [number, number, number, number][]) {
    const x = randn(shape) as tf.Tensor4D;
    for (const [name, op] of ops) {
      const y = op(x);
      const weights = randn(y.shape);
      y.dispose();
      // Each op and its gradient are one call of a gantry kernel apiece, and so is the loss's sum.
      await compare(`${name} ${shape}`, () => [op(x), tf.grad((t: tf.Tensor) => tf.sum(tf.mul(op(t as tf.Tensor4D), weights)))(x)], 4);
      weights.dispose();
    }
    x.dispose();
  }
  // Padding 3 of a map 4 high: every row has readers on both sides.
  const x = randn([1, 4, 4, 2]) as tf.Tensor4D;
  await compare('reflection pad 3 of 4x4', () => [tf.grad((t: tf.Tensor) => tf.sum(tf.mul(reflectionPad(t as tf.Tensor4D, 3), tf.reshape(tf.range(0, 200), [1, 10, 10, 2]))))(x)], 3);
  x.dispose();
});

test('pix2pixHD\'s instance means in WGSL, gradient included, as the segment sums give them, the same bits every run', { skip: noGpu }, async () => {
  assert.ok(gantryGpuKernels().includes(INSTANCE_MEANS) && tf.getKernel(INSTANCE_MEANS, 'webgpu'));
  assert.equal(withTfjsGpuKernels(() => tf.getKernel(INSTANCE_MEANS, 'webgpu')), undefined);
  // [n, h, w, c, distinct ids an image]: the encoder's 3 features, one, more instances than the 64
  // workgroups striped over them, every pixel its own instance, ids up to 65535 shared between images.
  for (const [n, h, w, c, k] of [[2, 7, 9, 3, 5], [1, 8, 6, 1, 2], [2, 20, 30, 3, 150], [1, 5, 4, 2, 20], [3, 16, 16, 4, 65536]]) {
    const x = randn([n, h, w, c]) as tf.Tensor4D;
    const idOf = (i: number) => (k === 65536 ? (i * 7919) % 65536 : Math.floor(((i % (h * w)) / (h * w)) * k) * Math.floor(65535 / k));
    const ids = tf.tensor3d(Int32Array.from({ length: n * h * w }, (_, i) => idOf(i)), [n, h, w], 'int32');
    const weights = randn([n, h, w, c]);
    const both = () => [instanceMeans(x, ids), tf.grad((t: tf.Tensor) => tf.sum(tf.mul(instanceMeans(t as tf.Tensor4D, ids), weights)))(x)];
    await compare(`instance means ${[n, h, w, c]}, ${k} ids`, both, 4);
    const [first, again] = [tf.tidy(both), tf.tidy(both)];
    for (let i = 0; i < 2; i++) assert.deepEqual(await again[i].data(), await first[i].data(), 'the same bits twice');
    tf.dispose([x, ids, weights, ...first, ...again]);
  }
});

test('UnsortedSegmentSum (a gather\'s gradient: word-embedding tables) in WGSL without float atomics: as a float64 loop gives it, ids out of range dropped, the same bits every run', { skip: noGpu }, async () => {
  // [rows, row shape, segments]: one workgroup of rows; many rows, each segment met often; more segments
  // than the layout's 256 threads; a row of several axes.
  for (const [rows, rowShape, segments] of [[40, [3], 5], [700, [9], 12], [333, [4], 1000], [300, [2, 3], 40]] as [number, number[], number][]) {
    const x = randn([rows, ...rowShape]);
    const width = rowShape.reduce((a, b) => a * b, 1);
    // Mostly in range, a few negative and a few past the last segment.
    const idValues = Int32Array.from({ length: rows }, (_, r) => (r % 17 === 5 ? -1 - (r % 3) : r % 23 === 7 ? segments + (r % 4) : Math.floor(rng.uniform() * segments)));
    const ids = tf.tensor1d(idValues, 'int32');
    const xs = await x.data();
    const want = new Float64Array(segments * width);
    idValues.forEach((s, r) => {
      if (s < 0 || s >= segments) return;
      for (let k = 0; k < width; k++) want[s * width + k] += xs[r * width + k];
    });
    const before = { ...gpuKernelCalls };
    const [first, again] = [tf.unsortedSegmentSum(x, ids, segments), tf.unsortedSegmentSum(x, ids, segments)];
    assert.deepEqual(gpuKernelCalls, { gantry: before.gantry + 2, tfjs: before.tfjs }, 'gantry\'s kernel');
    assert.deepEqual(first.shape, [segments, ...rowShape]);
    const got = await first.data();
    for (let i = 0; i < want.length; i++) assert.ok(Math.abs(got[i] - want[i]) <= 1e-5 * Math.max(1, Math.abs(want[i])), `[${rows}, ${rowShape}] -> ${segments}: element ${i} is ${got[i]}, want ${want[i]}`);
    assert.deepEqual(await again.data(), got, 'the same bits twice');
    tf.dispose([x, ids, first, again]);
  }
  // The gradient of an embedding lookup, as tfjs's kernel gives it.
  const table = randn([30, 8]);
  const ids = tf.tensor1d(Int32Array.from({ length: 400 }, () => Math.floor(rng.uniform() * 30)), 'int32');
  const weights = randn([400, 8]);
  await compare('embedding gradient', () => [tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.gather(t, ids), weights)))(table)], 2); // the segment sum, the loss's sum
  // Past SEGMENT_SUM_MAX_ROWS rows: tfjs's kernel.
  const many = tf.ones([SEGMENT_SUM_MAX_ROWS + 1, 1]);
  const manyIds = tf.zeros([SEGMENT_SUM_MAX_ROWS + 1], 'int32') as tf.Tensor1D;
  const before = { ...gpuKernelCalls };
  const total = tf.unsortedSegmentSum(many, manyIds, 2);
  assert.equal(gpuKernelCalls.tfjs, before.tfjs + 1);
  assert.deepEqual(Array.from(await total.data()), [SEGMENT_SUM_MAX_ROWS + 1, 0]);
  tf.dispose([table, ids, weights, many, manyIds, total]);
});

test('normal noise drawn on the GPU: the generator\'s values (its float64 form within float32 rounding), mean 0, variance 1, another seed uncorrelated, the same seed the same bits', { skip: noGpu }, async () => {
  assert.ok(gantryGpuKernels().includes(NORMAL_NOISE));
  const draw = async (words: number[], shape: number[]) => {
    const seed = tf.tensor1d(Int32Array.from(words), 'int32');
    const y = tf.engine().runKernel(NORMAL_NOISE, { seed }, { shape }) as tf.Tensor;
    assert.deepEqual(y.shape, shape);
    const values = (await y.data()) as Float32Array;
    tf.dispose([seed, y]);
    return values;
  };
  const words = [0x12345678, -5, 77, 0x7fffffff];
  for (const shape of [[1], [7], [3, 5, 2], [64, 33]]) {
    const y = await draw(words, shape);
    for (let i = 0; i < y.length; i++) {
      const want = normalPair(words, i >> 1)[i & 1];
      assert.ok(Math.abs(y[i] - want) <= 1e-4 * Math.max(1, Math.abs(want)), `[${shape}] value ${i}: ${y[i]}, the generator gives ${want}`);
    }
  }
  const n = 1 << 20;
  const [a, again, b] = [await draw(words, [n]), await draw(words, [n]), await draw([words[0] ^ 1, ...words.slice(1)], [n])];
  assert.deepEqual(again, a, 'the same seed, the same bits');
  let [mean, square, cross] = [0, 0, 0];
  for (let i = 0; i < n; i++) [mean, square, cross] = [mean + a[i], square + a[i] * a[i], cross + a[i] * b[i]];
  // Standard errors over 2^20 values: 0.001 for the mean and the correlation, 0.0014 for the variance.
  assert.ok(Math.abs(mean / n) < 0.005, `mean ${mean / n}`);
  assert.ok(Math.abs(square / n - 1) < 0.007, `variance ${square / n}`);
  assert.ok(Math.abs(cross / n) < 0.005, `correlation with a seed one bit away ${cross / n}`);
  assert.ok(a.every((v) => Number.isFinite(v) && Math.abs(v) < 6));
});

test('a step\'s noise (stepNoise) is drawn on the GPU from four words of its stream; a stream that is not a seeded Rng (a test\'s recorded noise) is the host\'s', { skip: noGpu }, async () => {
  const ctx = { step: 3, rng: new Rng(5, 'step', 3) };
  const before = gpuKernelCalls.gantry;
  const onGpu = stepNoise(ctx, (c) => c.rng.derive('skips', 'd', 0), [2, 4, 4, 3]);
  assert.equal(gpuKernelCalls.gantry - before, 1, 'one call of the noise kernel');
  // The stream as the step derived it: its first four words are the seed.
  const stream = new Rng(5, 'step', 3).derive('skips', 'd', 0);
  const want = Array.from({ length: 4 }, () => stream.nextU32());
  const values = await onGpu.data();
  for (let i = 0; i < values.length; i++) assert.ok(Math.abs(values[i] - normalPair(want, i >> 1)[i & 1]) < 1e-4, `value ${i}`);
  const recorded = new Float32Array(96).map((_, i) => i / 96);
  const fake = { step: 3, rng: { derive: () => ({ fillNormal: (out: Float32Array) => (out.set(recorded), out) }) } as unknown as Rng };
  const onHost = stepNoise(fake, (c) => c.rng.derive('skips', 'd', 0), [2, 4, 4, 3]);
  assert.deepEqual(await onHost.data(), recorded);
  tf.dispose([onGpu, onHost]);
});

test('DF-GAN\'s Affine in WGSL, its gradients by x, gamma and beta included, as the broadcasting ops give them', { skip: noGpu }, async () => {
  assert.ok(gantryGpuKernels().includes(AFFINE) && tf.getKernel(AFFINE, 'webgpu'));
  assert.equal(withTfjsGpuKernels(() => tf.getKernel(AFFINE, 'webgpu')), undefined);
  // DF-GAN's maps (4x4 to 32x32, 64-256 channels), odd sizes, more channels than one 64-wide workgroup.
  for (const [n, h, w, c] of [[16, 4, 4, 256], [16, 32, 32, 64], [2, 7, 9, 5], [3, 11, 6, 70]]) {
    const x = randn([n, h, w, c]) as tf.Tensor4D;
    const gamma = randn([n, c]) as tf.Tensor2D;
    const beta = randn([n, c]) as tf.Tensor2D;
    const weights = randn([n, h, w, c]);
    // The forward (twice: alone and under tf.grads), the gradient and the loss's sum are one call of a gantry kernel each.
    await compare(`affine [${n},${h},${w},${c}]`, () => [
      modulate(x, gamma, beta),
      ...tf.grads((a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(modulate(a as tf.Tensor4D, g as tf.Tensor2D, b as tf.Tensor2D), weights)))([x, gamma, beta]),
    ], 4);
    tf.dispose([x, gamma, beta, weights]);
  }
});

/**
 * Training-mode batch norm as BatchNorm2d runs it (src/nn/layers.ts): gantry's kernel where registered, else
 * tfjs's ops; y, the batch's mean and variance and the running estimates after it (momentum 0.1).
 */
function batchNorm(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, running: { mean: tf.Tensor; variance: tf.Tensor }): tf.Tensor[] {
  const fused = fusedBatchNormTrain(x, gamma, beta, running, 1e-5, 0.1);
  if (fused) return [fused.y, fused.mean, fused.variance, fused.runningMean, fused.runningVar];
  const { mean, variance } = tf.moments(x, [0, 1, 2]);
  const n = x.size / x.shape[3]!;
  return [
    tf.add(tf.mul(tf.sub(x, mean), tf.mul(gamma, tf.rsqrt(tf.add(variance, 1e-5)))), beta), mean, variance,
    tf.add(tf.mul(running.mean, 0.9), tf.mul(mean, 0.1)), tf.add(tf.mul(running.variance, 0.9), tf.mul(tf.mul(variance, n / Math.max(n - 1, 1)), 0.1)),
  ];
}

test('training-mode batch norm in WGSL: output, batch statistics, running estimates and the gradients by x, gamma and beta as tfjs\'s ops give them', { skip: noGpu }, async () => {
  assert.ok(gantryGpuKernels().includes(BATCH_NORM_TRAIN) && tf.getKernel(BATCH_NORM_TRAIN, 'webgpu'));
  assert.equal(withTfjsGpuKernels(() => tf.getKernel(BATCH_NORM_TRAIN, 'webgpu')), undefined);
  // DCGAN's and the VAEs' maps (batch 16, 4x4 to 16x16, 32-256 channels), more channels than one 64-wide
  // workgroup, enough rows for many slices, one row, one channel; inputs off-centre (mean 0.7, sd 2).
  for (const shape of [[16, 4, 4, 256], [16, 16, 16, 32], [3, 11, 6, 70], [64, 8, 8, 3], [1, 1, 1, 5], [2, 5, 3, 1]]) {
    const c = shape[3];
    const x = tf.tidy(() => tf.add(tf.mul(randn(shape), 2), 0.7));
    const gamma = tf.tidy(() => tf.add(tf.mul(randn([c]), 0.3), 1));
    const beta = randn([c]);
    const weights = randn(shape);
    const running = { mean: randn([c]), variance: tf.tidy(() => tf.abs(tf.add(randn([c]), 1))) };
    // The forward (twice: alone and under tf.grads), the gradient and the loss's sum are one call of a gantry kernel each.
    await compare(`batch norm [${shape}]`, () => [
      ...batchNorm(x, gamma, beta, running),
      ...tf.grads((a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(batchNorm(a, g, b, running)[0], weights)))([x, gamma, beta]),
    ], 4);
    tf.dispose([x, gamma, beta, weights, running.mean, running.variance]);
  }
});

test('Adam\'s update as one WGSL kernel per parameter gives the tfjs ops\' parameters and moments, step after step', { skip: noGpu }, async () => {
  assert.ok(gantryGpuKernels().includes(ADAM));
  const shapes = [[3, 3, 16, 32], [32], [70, 5], [1]];
  const start = shapes.map((s) => randn(s));
  const grads = [0, 1, 2].map(() => shapes.map((s) => tf.mul(randn(s), 0.1)));
  const run = (native: boolean) => {
    const params = start.map((t, i) => tf.variable(t.clone(), true, `adam-${native}-${i}`));
    const opt = new Adam(params, { lr: 2e-3, beta1: 0.5, beta2: 0.999, native });
    const before = gpuKernelCalls.gantry;
    for (const g of grads) opt.apply(Object.fromEntries(params.map((p, i) => [p.name, g[i]])));
    const calls = gpuKernelCalls.gantry - before;
    return { params, opt, calls };
  };
  const ours = run(true);
  const theirs = run(false);
  assert.equal(ours.calls, 3 * shapes.length, 'one kernel call per parameter and step');
  assert.equal(theirs.calls, 0);
  for (let i = 0; i < shapes.length; i++) {
    await assertClose(ours.params[i], theirs.params[i], `parameter ${i}`, 1e-6);
    await assertClose(ours.opt.m[i], theirs.opt.m[i], `first moment ${i}`, 1e-6);
    await assertClose(ours.opt.v[i], theirs.opt.v[i], `second moment ${i}`, 1e-6);
  }
  assert.equal(ours.opt.step, 3);
  for (const r of [ours, theirs]) {
    tf.dispose(r.params);
    r.opt.dispose();
  }
  tf.dispose([...start, ...grads.flat()]);
});

test('ReLU\'s, LeakyReLU\'s and |x|\'s gradients as one WGSL kernel, and their second derivatives (gradient penalties), as tfjs\'s ops give them', { skip: noGpu }, async () => {
  assert.ok(gantryGpuKernels().includes(LEAKY_RELU_GRAD));
  assert.equal(withTfjsGpuKernels(() => tf.getKernel(LEAKY_RELU_GRAD, 'webgpu')), undefined);
  const x = randn([3, 9, 7, 5]);
  const w = randn([3, 9, 7, 5]);
  for (const [name, f] of [['leaky', (t: tf.Tensor) => tf.leakyRelu(t, 0.2)], ['relu', tf.relu], ['abs', tf.abs]] as [string, (t: tf.Tensor) => tf.Tensor][]) {
    const first = (t: tf.Tensor) => tf.grad((u: tf.Tensor) => tf.sum(tf.mul(f(u), w)))(t);
    await compare(`${name} gradient`, () => [first(x)], 2); // with the loss's sum
    // A penalty on the first gradient, as R1 and MA-GP take one: sum(first(t)^2 * w), differentiated by t
    // (zero almost everywhere for these piecewise-linear functions) and by v through the kernel's own gradient.
    await compare(`${name} second derivative`, () => tf.grads((t: tf.Tensor, v: tf.Tensor) => tf.sum(tf.mul(tf.square(tf.grad((u: tf.Tensor) => tf.sum(tf.mul(f(u), v)))(t)), w)))([x, w]), 4); // with both sums
  }
  tf.dispose([x, w]);
});

test('int32 and bool tensors cast to float32 hold their values on the GPU, where tfjs\'s Cast relabels their integer words as floats', { skip: noGpu }, async () => {
  // Computed on the GPU (not values still on the host, which tfjs converts as it uploads them), then read by
  // a float32 kernel: a one-hot of classes (cgan's class weights) and a comparison (the caption encoder's word mask).
  const ids = Int32Array.from({ length: 64 }, (_, i) => (i * 7) % 5);
  const labels = tf.tensor1d(ids, 'int32');
  const oneHot = tf.oneHot(labels, 5);
  const counts = await tf.sum(tf.cast(oneHot, 'float32'), 0).data();
  assert.deepEqual(Array.from(counts), [0, 1, 2, 3, 4].map((k) => ids.filter((v) => v === k).length));
  const x = randn([4096]);
  const positive = await tf.sum(tf.cast(tf.greater(x, 0), 'float32')).data();
  const want = Array.from(await x.data()).filter((v) => v > 0).length;
  assert.equal(positive[0], want);
  // A float32 cast (tfjs's own kernel) is untouched.
  assert.deepEqual(Array.from(await tf.cast(tf.tensor1d([1.5, -2.5]), 'int32').data()), [1, -2]);
  tf.dispose([labels, oneHot, x]);
});
