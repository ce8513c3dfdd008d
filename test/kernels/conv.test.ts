import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setup, tf, maxAbsDiff, maxAbs } from '../helpers.ts';
import { Rng } from '../../src/engine/rng.ts';
import { engineInfo } from '../../src/engine/index.ts';
import { withReferenceKernels } from '../../src/kernels/cpu/register.ts';
import { loadNativeAddon } from '../../src/kernels/cpu/native.ts';

await setup();

const native = () => engineInfo()?.native.loaded === true;

function rand(rng: Rng, shape: number[]): tf.Tensor {
  return tf.tensor(rng.fillNormal(new Float32Array(shape.reduce((a, b) => a * b, 1))), shape);
}

/** Compares native and tfjs's pure-JS results of f, relative to the size of the values. */
function check(what: string, f: () => tf.Tensor): void {
  const fast = tf.tidy(() => f().dataSync().slice());
  const ref = withReferenceKernels(() => tf.tidy(() => f().dataSync().slice()));
  const err = maxAbsDiff(fast, ref) / Math.max(1, maxAbs(ref));
  assert.ok(err < 1e-4, `${what}: relative error ${err}`);
}

type Pad = 'same' | 'valid' | number | [[number, number], [number, number], [number, number], [number, number]];

function randomCases(seed: number): void {
  const rng = new Rng(seed);
  for (let trial = 0; trial < 40; trial++) {
    const batch = 1 + rng.int(3);
    const h = 1 + rng.int(11);
    const w = 1 + rng.int(11);
    const cin = 1 + rng.int(13);
    const cout = 1 + rng.int(13);
    const k = 1 + rng.int(4);
    const stride = 1 + rng.int(3);
    const dilation = stride === 1 && rng.uniform() < 0.3 ? 2 : 1; // tfjs forbids stride > 1 with dilation > 1
    const pads: Pad[] = ['same', 'valid', rng.int(3), [[0, 0], [rng.int(3), rng.int(2)], [rng.int(2), rng.int(3)], [0, 0]]];
    const pad = pads[rng.int(pads.length)];
    const effK = (k - 1) * dilation + 1;
    if (pad === 'valid' && (effK > h || effK > w)) continue;
    if (typeof pad === 'number' && (effK > h + 2 * pad || effK > w + 2 * pad)) continue;
    if (Array.isArray(pad) && (effK > h + pad[1][0] + pad[1][1] || effK > w + pad[2][0] + pad[2][1])) continue;
    const desc = `b${batch} ${h}x${w}x${cin}->${cout} k${k} s${stride} d${dilation} pad ${JSON.stringify(pad)}`;
    const x = rand(rng, [batch, h, w, cin]) as tf.Tensor4D;
    const filter = rand(rng, [k, k, cin, cout]) as tf.Tensor4D;
    const y = tf.conv2d(x, filter, stride, pad, 'NHWC', dilation);
    const dy = rand(rng, y.shape) as tf.Tensor4D;
    check(`conv2d ${desc}`, () => tf.conv2d(x, filter, stride, pad, 'NHWC', dilation));
    if (dilation === 1) {
      check(`conv2dBackpropInput ${desc}`, () => tf.conv2dTranspose(dy, filter, x.shape, stride, pad as 'same'));
      check(`conv2dBackpropFilter ${desc}`, () => tf.grad((f: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(x, f as tf.Tensor4D, stride, pad), dy)))(filter));
    }
    tf.dispose([x, filter, y, dy]);
  }
}

test('native conv2d, its input and filter gradients, and transposed conv match tfjs on random cases', { skip: !native() && 'native addon not built' }, () => {
  randomCases(2024);
});

test('small maps\' filter gradients (unfolded into sgemm by default) match tfjs on the in-place tiles too', { skip: !native() && 'native addon not built' }, () => {
  const { addon } = loadNativeAddon();
  addon!.forceInPlaceFilterGrad(true);
  try {
    randomCases(2025);
  } finally {
    addon!.forceInPlaceFilterGrad(false);
  }
});

test('a single image\'s input gradient, spread over threads by channel blocks, matches tfjs', { skip: !native() && 'native addon not built' }, () => {
  const rng = new Rng(31);
  for (const [cin, k, stride, pad] of [[24, 3, 1, 1], [37, 4, 2, 2], [16, 7, 1, 'valid']] as [number, number, number, Pad][]) {
    const x = rand(rng, [1, 13, 11, cin]) as tf.Tensor4D;
    const filter = rand(rng, [k, k, cin, 5]) as tf.Tensor4D;
    const y = tf.conv2d(x, filter, stride, pad);
    const dy = rand(rng, y.shape) as tf.Tensor4D;
    check(`conv2dBackpropInput b1 13x11x${cin} k${k} s${stride} pad ${pad}`, () => tf.conv2dTranspose(dy, filter, x.shape, stride, pad as 'same'));
    tf.dispose([x, filter, y, dy]);
  }
});

// Past one 256-pixel chunk of the filter gradient, 1-4 output channels (the few-channel kernels, with patch
// rows that are not a multiple of 8 floats), filters read in place (16 and 32 channels) and packed (37), a
// filter longer than one 256-row stretch (7x7x16), strides and padding.
const IMAGE_CASES: [number[], number, number, number, Pad][] = [
  [[1, 46, 40, 16], 7, 3, 1, 'valid'], [[2, 30, 26, 9], 7, 16, 1, 'valid'], [[1, 37, 41, 5], 7, 1, 1, 3],
  [[1, 33, 35, 12], 4, 16, 2, 2], [[1, 24, 20, 7], 3, 2, 1, 1], [[1, 19, 21, 10], 4, 4, 1, 2], [[1, 12, 10, 40], 3, 37, 1, 1],
  [[1, 14, 18, 16], 7, 32, 1, 3],
  // 1x1 over many pixels (DF-GAN's shortcuts): the filter gradient on the in-place tiles (sgemm on the portable kernels)
  [[3, 12, 13, 24], 1, 40, 1, 'valid'],
];

function imageCases(seed: number): void {
  const rng = new Rng(seed);
  for (const [shape, k, cout, stride, pad] of IMAGE_CASES) {
    const desc = `${shape.join('x')} k${k} -> ${cout} s${stride} pad ${pad}`;
    const x = rand(rng, shape) as tf.Tensor4D;
    const filter = rand(rng, [k, k, shape[3], cout]) as tf.Tensor4D;
    const y = tf.conv2d(x, filter, stride, pad);
    const dy = rand(rng, y.shape) as tf.Tensor4D;
    check(`conv2d ${desc}`, () => tf.conv2d(x, filter, stride, pad));
    check(`conv2dBackpropInput ${desc}`, () => tf.conv2dTranspose(dy, filter, x.shape, stride, pad as 'same'));
    check(`conv2dBackpropFilter ${desc}`, () => tf.grad((f: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(x, f as tf.Tensor4D, stride, pad), dy)))(filter));
    tf.dispose([x, filter, y, dy]);
  }
}

test('image-to-image sizes (7x7 on few channels, many pixels, strided and padded) match tfjs', { skip: !native() && 'native addon not built' }, () => {
  imageCases(77);
});

test('the portable kernels (no AVX2) of the same convolutions match tfjs too', { skip: !native() && 'native addon not built' }, () => {
  const { addon } = loadNativeAddon();
  addon!.forcePortable(true);
  try {
    imageCases(78);
  } finally {
    addon!.forcePortable(false);
  }
});

/** fn's result on the AVX2 tiles (where the CPU has AVX-512, whose tiles run by default), the default put back after. */
function onAvx2Tiles<T>(fn: () => T): T {
  const { addon } = loadNativeAddon();
  addon!.forceAvx2(true);
  try {
    return fn();
  } finally {
    addon!.forceAvx2(false);
  }
}

test('the AVX2 tiles, where the CPU has AVX-512 (whose tiles run by default), match tfjs too', { skip: !native() && 'native addon not built' }, () => {
  onAvx2Tiles(() => imageCases(79));
});

test('the AVX-512 filter-gradient tiles (32 or 64 output channels at once) give the AVX2 tiles\' sums bit for bit', { skip: !native() ? 'native addon not built' : !loadNativeAddon().addon!.info().avx512 && 'this CPU has no AVX-512' }, () => {
  const rng = new Rng(80);
  // More than 256 output pixels (the in-place tiles); 32, 48 (a 32-wide and a 16-wide tile), 64, 70 (64 and 16),
  // 96 (64 and 32), 112 (64, 32 and 16) and 8 output channels
  const cases: [number[], number, number, number, number][] = [
    [[4, 9, 9, 16], 3, 32, 1, 1], [[2, 12, 10, 7], 3, 48, 1, 1], [[16, 16, 16, 8], 4, 64, 2, 1], [[3, 11, 13, 5], 2, 70, 1, 0], [[2, 15, 15, 9], 3, 8, 1, 1],
    [[4, 10, 10, 20], 1, 64, 1, 0], [[2, 12, 12, 6], 3, 96, 1, 1], [[3, 10, 10, 12], 3, 112, 1, 1],
  ];
  for (const [shape, k, cout, stride, pad] of cases) {
    const x = rand(rng, shape) as tf.Tensor4D;
    const filter = rand(rng, [k, k, shape[3], cout]) as tf.Tensor4D;
    const dy = tf.tidy(() => rand(rng, tf.conv2d(x, filter, stride, pad).shape)) as tf.Tensor4D;
    const grad = () => tf.tidy(() => tf.grad((f: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(x, f as tf.Tensor4D, stride, pad), dy)))(filter).dataSync().slice());
    assert.deepEqual(grad(), onAvx2Tiles(grad), `${shape} k${k} -> ${cout}`);
    tf.dispose([x, filter, dy]);
  }
});

test('the AVX-512 forward tiles (6 pixels x 32, 48 or 64 channels, 12 x 16) give the AVX2 tiles\' convolutions and input gradients bit for bit', { skip: !native() ? 'native addon not built' : !loadNativeAddon().addon!.info().avx512 && 'this CPU has no AVX-512' }, () => {
  const rng = new Rng(81);
  // Output channels 32 to 512, in tasks of one to four panels: four where that leaves enough tasks (70: four
  // and one, the last panel part zeros; 112: four and three; 512 on a small map, its filter read in place),
  // three (48 over eight blocks of tiles), else two (48 on a small map: two and one; 96), 16 (one panel: the
  // 12 x 16 tiles); filters read in place (small maps) and packed once; patches of 27 to 640 rows (one stretch,
  // and several), strided (the input gradient's phases) and padded; pixel counts not multiples of 6.
  const cases: [number[], number, number, number, number][] = [
    [[2, 9, 9, 3], 3, 32, 1, 1], [[2, 12, 10, 7], 3, 48, 1, 1], [[4, 8, 8, 40], 4, 64, 2, 1], [[3, 11, 13, 20], 3, 70, 1, 0],
    [[2, 7, 7, 64], 3, 16, 1, 1], [[1, 6, 6, 80], 3, 96, 1, 1], [[2, 17, 15, 24], 3, 48, 1, 1], [[1, 20, 22, 40], 3, 64, 1, 1],
    [[2, 14, 14, 16], 3, 112, 1, 1], [[3, 16, 16, 8], 3, 112, 1, 1], [[2, 9, 9, 64], 3, 48, 1, 1], [[2, 16, 16, 72], 3, 32, 1, 1],
    [[3, 16, 16, 64], 3, 48, 1, 1], [[1, 6, 6, 16], 3, 512, 1, 1],
  ];
  for (const [shape, k, cout, stride, pad] of cases) {
    const x = rand(rng, shape) as tf.Tensor4D;
    const filter = rand(rng, [k, k, shape[3], cout]) as tf.Tensor4D;
    const dy = tf.tidy(() => rand(rng, tf.conv2d(x, filter, stride, pad).shape)) as tf.Tensor4D;
    const run = () => tf.tidy(() => [
      tf.conv2d(x, filter, stride, pad).dataSync().slice(),
      tf.grad((v: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(v as tf.Tensor4D, filter, stride, pad), dy)))(x).dataSync().slice(),
    ]);
    const wide = run();
    const narrow = onAvx2Tiles(run);
    assert.deepEqual(wide[0], narrow[0], `forward ${shape} k${k} -> ${cout}`);
    assert.deepEqual(wide[1], narrow[1], `input gradient ${shape} k${k} -> ${cout}`);
    tf.dispose([x, filter, dy]);
  }
});

test('the AVX-512 SGEMM tiles (two 16-column panels at once) give the AVX2 kernel\'s results bit for bit', { skip: !native() ? 'native addon not built' : !loadNativeAddon().addon!.info().avx512 && 'this CPU has no AVX-512' }, () => {
  const { addon } = loadNativeAddon();
  const rng = new Rng(81);
  // Edges in every direction, several K blocks (256 deep), both transposes, beta 0 and not
  const shapes = [[6, 32, 7], [13, 48, 300], [97, 33, 513], [200, 96, 64], [5, 70, 1], [64, 4000, 40], [1, 64, 257]];
  for (const [M, N, K] of shapes) {
    for (const [ta, tb, beta] of [[false, false, 0], [true, false, 0], [false, true, 0.5], [true, true, 1]] as const) {
      const A = rng.fillNormal(new Float32Array(M * K));
      const B = rng.fillNormal(new Float32Array(K * N));
      const C0 = rng.fillNormal(new Float32Array(M * N));
      const run = () => {
        const C = C0.slice();
        addon!.sgemm(ta, tb, M, N, K, 1.25, A, ta ? M : K, B, tb ? K : N, beta, C, N);
        return C;
      };
      assert.deepEqual(run(), onAvx2Tiles(run), `${M}x${N}x${K} transA ${ta} transB ${tb} beta ${beta}`);
    }
  }
});

test('fused conv2d and matmul with a bias per channel or one for all, and each activation, match tfjs', { skip: !native() && 'native addon not built' }, () => {
  const rng = new Rng(7);
  const x = rand(rng, [2, 9, 7, 5]) as tf.Tensor4D;
  const filter = rand(rng, [3, 3, 5, 6]) as tf.Tensor4D;
  const [a, b] = [rand(rng, [7, 5]) as tf.Tensor2D, rand(rng, [5, 6]) as tf.Tensor2D];
  const biases = [rand(rng, [6]), tf.scalar(0.3), tf.tensor1d([-0.4])];
  for (const bias of biases) {
    for (const activation of ['linear', 'relu', 'leakyrelu', 'relu6', 'elu', 'sigmoid'] as const) {
      check(`fused conv2d ${activation}, bias [${bias.shape}]`, () => tf.fused.conv2d({ x, filter, strides: 2, pad: 'same', bias, activation, leakyreluAlpha: 0.1 }));
      check(`fused matmul ${activation}, bias [${bias.shape}]`, () => tf.fused.matMul({ a, b, bias, activation, leakyreluAlpha: 0.1 }));
    }
  }
  tf.dispose([x, filter, a, b, ...biases]);
});

test('batched and fused matmul (transposes, broadcast batch) match tfjs', { skip: !native() && 'native addon not built' }, () => {
  const rng = new Rng(9);
  for (let trial = 0; trial < 30; trial++) {
    const m = 1 + rng.int(40), n = 1 + rng.int(40), k = 1 + rng.int(70);
    const ta = rng.uniform() < 0.5, tb = rng.uniform() < 0.5;
    const batchA = trial % 3 === 0 ? [3] : trial % 3 === 1 ? [2, 1] : [];
    const batchB = trial % 3 === 0 ? [1] : trial % 3 === 1 ? [2, 4] : [];
    const a = rand(rng, [...batchA, ...(ta ? [k, m] : [m, k])]);
    const b = rand(rng, [...batchB, ...(tb ? [n, k] : [k, n])]);
    // tfjs's own cpu kernel broadcasts batch dims as `index % batchSize`, which is wrong for shapes like
    // [2,1] x [2,4]; so the reference multiplies explicitly broadcast copies (equal batch shapes).
    const outBatch = tf.backend_util.assertAndGetBroadcastShape(batchA, batchB);
    const fast = tf.tidy(() => tf.matMul(a, b, ta, tb).dataSync().slice());
    const ref = withReferenceKernels(() => tf.tidy(() => tf.matMul(
      tf.broadcastTo(a, [...outBatch, ...a.shape.slice(-2)]), tf.broadcastTo(b, [...outBatch, ...b.shape.slice(-2)]), ta, tb).dataSync().slice()));
    const err = maxAbsDiff(fast, ref) / Math.max(1, maxAbs(ref));
    assert.ok(err < 1e-4, `matmul ${m}x${k}x${n} ta=${ta} tb=${tb} batch ${batchA}/${batchB}: relative error ${err}`);
    if (batchA.length === 0) {
      const bias = rand(rng, [n]);
      check(`fused matmul ${m}x${k}x${n}`, () => tf.fused.matMul({ a: a as tf.Tensor2D, b: b as tf.Tensor2D, transposeA: ta, transposeB: tb, bias, activation: 'relu' }));
      bias.dispose();
    }
    tf.dispose([a, b]);
  }
});

test('a large GEMM matches tfjs (exercises cache blocking past KC, MC and NR edges)', { skip: !native() && 'native addon not built' }, () => {
  const rng = new Rng(3);
  const a = rand(rng, [301, 517]);
  const b = rand(rng, [517, 263]);
  check('matmul 301x517x263', () => tf.matMul(a, b));
  check('matmul^T 301x517x263', () => tf.matMul(tf.transpose(b), tf.transpose(a), false, false));
  tf.dispose([a, b]);
});

test('cases the native kernels do not cover (NCHW, int32) fall back to tfjs and still agree', { skip: !native() && 'native addon not built' }, () => {
  const rng = new Rng(12);
  const x = rand(rng, [2, 3, 6, 5]) as tf.Tensor4D; // NCHW: 3 channels of 6x5
  const filter = rand(rng, [3, 3, 3, 4]) as tf.Tensor4D;
  const nchw = tf.tidy(() => tf.transpose(tf.conv2d(x, filter, 1, 'same', 'NCHW'), [0, 2, 3, 1]).dataSync().slice());
  const nhwc = tf.tidy(() => tf.conv2d(tf.transpose(x, [0, 2, 3, 1]) as tf.Tensor4D, filter, 1, 'same').dataSync().slice());
  assert.ok(maxAbsDiff(nchw, nhwc) < 1e-4);
  const a = tf.tensor2d([1, 2, 3, 4], [2, 2], 'int32');
  assert.deepEqual(Array.from(tf.matMul(a, a).dataSync()), [7, 10, 15, 22]);
  tf.dispose([x, filter, a]);
});

test('native max and average pooling match tfjs (same / valid / numeric padding, strides 1-3)', { skip: !native() && 'native addon not built' }, () => {
  const rng = new Rng(21);
  for (let trial = 0; trial < 30; trial++) {
    const h = 2 + rng.int(12), w = 2 + rng.int(12), c = 1 + rng.int(9), k = 1 + rng.int(4), s = 1 + rng.int(3);
    const pads: ('same' | 'valid' | number)[] = ['same', 'valid', rng.int(2)];
    const pad = pads[rng.int(3)];
    if (pad === 'valid' && (k > h || k > w)) continue;
    if (typeof pad === 'number' && (pad >= k || k > h + 2 * pad || k > w + 2 * pad)) continue;
    const x = rand(rng, [1 + rng.int(2), h, w, c]) as tf.Tensor4D;
    check(`maxPool ${h}x${w}x${c} k${k} s${s} ${pad}`, () => tf.maxPool(x, k, s, pad));
    check(`avgPool ${h}x${w}x${c} k${k} s${s} ${pad}`, () => tf.avgPool(x, k, s, pad));
    x.dispose();
  }
});

test('concat along the last axis (fast path) and other axes (tfjs) agree with tfjs', { skip: !native() && 'native addon not built' }, () => {
  const rng = new Rng(31);
  const a = rand(rng, [2, 3, 4, 5]);
  const b = rand(rng, [2, 3, 4, 2]);
  const c = rand(rng, [2, 3, 4, 7]);
  check('concat axis 3', () => tf.concat([a, b, c], 3));
  check('concat axis -1', () => tf.concat([a, c], -1));
  check('concat axis 1', () => tf.concat([a, a], 1));
  check('concat 2-d', () => tf.concat([tf.reshape(a, [24, 5]), tf.reshape(b, [24, 2])], 1));
  tf.dispose([a, b, c]);
});

test('split along the last axis (fast path) and other axes agree with tfjs, gradients of concat too', { skip: !native() && 'native addon not built' }, () => {
  const rng = new Rng(32);
  const x = rand(rng, [2, 3, 4, 9]);
  check('split 3 ways', () => tf.concat(tf.split(x, 3, 3).map((t, i) => tf.mul(t, i + 1)), 0));
  check('split sizes', () => tf.concat(tf.split(x, [2, -1, 4], -1).map((t) => tf.sum(t, -1)), 0));
  check('split axis 1', () => tf.split(x, [1, 2], 1)[1]);
  const y = rand(rng, [2, 3, 4, 5]);
  check('concat gradient', () => tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tf.concat([a, y], 3), tf.concat([y, a], 3))))(tf.slice(x, [0, 0, 0, 0], [2, 3, 4, 5])));
  tf.dispose([x, y]);
});
