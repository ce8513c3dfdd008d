import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { setup, testWithoutAddon, tf } from '../helpers.ts';
import { Rng } from '../../src/engine/rng.ts';
import { spawnSync } from 'node:child_process';
import { withReferenceKernels } from '../../src/kernels/cpu/register.ts';
import { engineInfo } from '../../src/engine/index.ts';

await setup();

function rand(rng: Rng, shape: number[]): tf.Tensor {
  return tf.tensor(rng.fillNormal(new Float32Array(shape.reduce((a, b) => a * b, 1))), shape);
}

/** Runs f with gantry's kernels and with tfjs's own; the results must be the same bits. */
function sameAsTfjs(what: string, f: () => tf.Tensor): void {
  const ours = tf.tidy(f);
  const theirs = withReferenceKernels(() => tf.tidy(f));
  assert.deepEqual(ours.shape, theirs.shape, `${what}: shape`);
  assert.deepEqual(ours.dataSync(), theirs.dataSync(), `${what}: values`);
  tf.dispose([ours, theirs]);
}

test('broadcasting Add / Sub / Multiply / RealDiv are bit-identical to tfjs\'s kernels', () => {
  const rng = new Rng(1);
  const pairs: [number[], number[]][] = [
    [[64, 4, 4, 128], [64, 1, 1, 128]], [[2, 3, 5, 7], [7]], [[2, 3, 5, 7], [2, 3, 5, 7]], [[3, 1, 4], [1, 5, 1]],
    [[5], []], [[], [4, 2]], [[1, 1], [3, 1]], [[2, 1, 3, 1], [1, 4, 1, 5]], [[0, 3], [3]],
    // columns as long as a row (softmax's max over classes): not the per-channel case of the native loop
    [[3, 3], [3, 1]], [[3, 1], [3, 3]], [[1, 4, 4], [1, 4, 1]], [[6, 6], [1, 6]], [[6, 6], [6, 6]],
    // DF-GAN's: per-sample modulations, word masks, the 2x2 mean pool's gradient (large enough to be split over threads)
    [[16, 8, 8, 64], [16, 1, 1, 64]], [[16, 1, 32, 24], [16, 1, 32, 1]], [[4, 8, 1, 8, 1, 16], [4, 8, 2, 8, 2, 16]],
    [[16, 1, 1, 24], [1, 4, 4, 1]], [[5, 300], [5, 1]], [[1], [3, 70, 80]],
    // ten dimensions that do not merge: past the addon's eight, the JavaScript loop
    [[2, 1, 2, 1, 2, 1, 2, 1, 2, 1], [1, 2, 1, 2, 1, 2, 1, 2, 1, 2]],
  ];
  for (const [sa, sb] of pairs) {
    const a = rand(rng, sa);
    const b = tf.tidy(() => tf.add(tf.abs(rand(rng, sb)), 0.5)); // away from 0 for RealDiv
    for (const op of [tf.add, tf.sub, tf.mul, tf.div]) sameAsTfjs(`${op.name} [${sa}] [${sb}]`, () => op(a, b));
    sameAsTfjs(`add reversed [${sb}] [${sa}]`, () => tf.add(b, a));
    tf.dispose([a, b]);
  }
  // float32 tensors that tfjs's Cast left holding a bool or int32 array (a caption's word mask)
  const x = rand(rng, [4, 1, 6, 5]);
  const ids = tf.tensor1d([3, 0, 7, 7, 0, 1, 2, 2, 0, 0, 9, 1, 5, 5, 5, 0, 0, 0, 4, 1, 1, 1, 1, 6], 'int32');
  sameAsTfjs('times a cast bool mask', () => tf.mul(x, tf.reshape(tf.cast(tf.notEqual(ids, 0), 'float32'), [4, 1, 6, 1])));
  sameAsTfjs('plus cast int32', () => tf.add(x, tf.reshape(tf.cast(ids, 'float32'), [4, 1, 6, 1])));
  sameAsTfjs('sum of cast int32', () => tf.sum(tf.cast(ids, 'float32')));
  tf.dispose([x, ids]);
});

test('Sum and Mean over any axes (keepDims or not) are bit-identical to tfjs\'s kernels; int32 sums still work', () => {
  const rng = new Rng(2);
  const cases: [number[], number | number[] | undefined][] = [
    [[64, 16, 16, 32], [0, 1, 2]], [[4, 5, 6, 7], [1, 2]], [[4, 5, 6, 7], 3], [[4, 5, 6, 7], [0, 3]], [[4, 5, 6, 7], undefined],
    [[9], 0], [[3, 1, 2], [1]], [[2, 3], -1], [[1000, 3], 0],
    // a 2x2 mean pool as a reshape; reduced and kept axes alternating; size-1 axes between; one kept axis after many rows
    [[16, 8, 2, 8, 2, 64], [2, 4]], [[2, 3, 4, 5, 6], [0, 2, 4]], [[8, 1, 5, 1, 3], [1, 2]], [[1, 1], [0, 1]], [[70000, 3], 0], [[3, 70000], 1],
    [[2, 2, 2, 2, 2, 2, 2, 2, 2, 2], [0, 2, 4, 6, 8]],
  ];
  for (const [shape, axis] of cases) {
    const x = rand(rng, shape);
    for (const keep of [false, true]) {
      sameAsTfjs(`sum [${shape}] axis ${axis} keepDims ${keep}`, () => tf.sum(x, axis, keep));
      sameAsTfjs(`mean [${shape}] axis ${axis} keepDims ${keep}`, () => tf.mean(x, axis, keep));
    }
    x.dispose();
  }
  const ints = tf.tensor2d([[1, 2, 3], [4, 5, 6]], [2, 3], 'int32');
  assert.deepEqual(Array.from(tf.sum(ints, 0).dataSync()), [5, 7, 9]);
  ints.dispose();
});

test('MaxPoolGrad (any window, stride, padding) and UnsortedSegmentSum (gather\'s gradient) match tfjs\'s kernels', () => {
  const rng = new Rng(3);
  const pools: [number[], [number, number], [number, number], 'valid' | 'same'][] = [
    [[4, 1, 9, 6], [1, 9], [1, 9], 'valid'], [[2, 7, 7, 3], [3, 3], [2, 2], 'same'], [[2, 8, 8, 5], [2, 2], [2, 2], 'valid'],
    [[1, 5, 6, 2], [3, 2], [1, 1], 'valid'], [[3, 35, 35, 4], [3, 3], [2, 2], 'valid'],
    // windows that do not overlap, some cut by the padding; ties (ReLU's zeros) go to the first in scan order
    [[2, 7, 9, 20], [2, 2], [2, 2], 'same'], [[1, 10, 11, 64], [3, 3], [3, 3], 'same'], [[2, 16, 16, 64], [2, 2], [2, 2], 'valid'],
  ];
  for (const [shape, filter, stride, pad] of pools) {
    const x = shape[3] >= 20 ? tf.tidy(() => tf.relu(rand(rng, shape))) : rand(rng, shape);
    const w = tf.tidy(() => rand(rng, tf.maxPool(x as tf.Tensor4D, filter, stride, pad).shape));
    // the gradient of sum(w * maxPool(x)) with respect to x is MaxPoolGrad(w)
    sameAsTfjs(`maxPool grad [${shape}] ${filter} ${stride} ${pad}`, () => tf.grad((t: tf.Tensor) => tf.sum(tf.mul(w, tf.maxPool(t as tf.Tensor4D, filter, stride, pad))))(x));
    tf.dispose([x, w]);
  }
  const table = rand(rng, [11, 6]);
  const ids = tf.tensor1d([0, 3, 3, 10, 7, 3, 0, 1], 'int32');
  const w = rand(rng, [8, 6]);
  sameAsTfjs('gather grad', () => tf.grad((t: tf.Tensor) => tf.sum(tf.mul(w, tf.gather(t, ids))))(table));
  sameAsTfjs('unsortedSegmentSum 3-d', () => tf.unsortedSegmentSum(rand(new Rng(4), [8, 2, 3]), ids, 12));
  tf.dispose([table, ids, w]);
});

test('AvgPoolGrad of tiling windows (DF-GAN\'s 2x2 pools; inputs not a multiple of the window) is tfjs\'s bits; other geometries are tfjs\'s kernel', () => {
  const rng = new Rng(9);
  const pools: [number[], number, number, 'valid' | 'same'][] = [
    [[16, 32, 32, 64], 2, 2, 'valid'], [[2, 5, 7, 3], 2, 2, 'valid'], [[1, 9, 9, 4], 3, 3, 'valid'],
    [[2, 7, 9, 5], 3, 2, 'valid'], [[2, 7, 9, 5], 2, 2, 'same'],
  ];
  for (const [shape, filter, stride, pad] of pools) {
    const x = rand(rng, shape);
    const w = tf.tidy(() => rand(rng, tf.avgPool(x as tf.Tensor4D, filter, stride, pad).shape));
    sameAsTfjs(`avgPool grad [${shape}] ${filter} ${stride} ${pad}`, () => tf.grad((t: tf.Tensor) => tf.sum(tf.mul(w, tf.avgPool(t as tf.Tensor4D, filter, stride, pad))))(x));
    tf.dispose([x, w]);
  }
});

test('ResizeNearestNeighbor and its gradient (up, down, uneven; corners aligned or not; half-pixel centres) are tfjs\'s bits, image by image', () => {
  const rng = new Rng(7);
  const cases: [number[], [number, number], boolean, boolean][] = [
    [[16, 8, 8, 64], [16, 16], false, false], [[2, 5, 7, 3], [7, 5], false, false], [[2, 5, 7, 3], [7, 5], true, false],
    [[2, 9, 6, 4], [4, 13], false, true], [[1, 4, 4, 2], [1, 9], true, false], [[3, 6, 6, 5], [3, 3], false, false],
  ];
  for (const [shape, size, alignCorners, halfPixelCenters] of cases) {
    const x = rand(rng, shape) as tf.Tensor4D;
    const w = rand(rng, [shape[0], size[0], size[1], shape[3]]) as tf.Tensor4D;
    const what = `[${shape}] -> ${size} alignCorners ${alignCorners} halfPixelCenters ${halfPixelCenters}`;
    const resize = (t: tf.Tensor4D) => tf.image.resizeNearestNeighbor(t, size, alignCorners, halfPixelCenters);
    const grad = (t: tf.Tensor4D, dy: tf.Tensor4D) => tf.grad((u: tf.Tensor) => tf.sum(tf.mul(dy, resize(u as tf.Tensor4D))))(t);
    sameAsTfjs(`resize ${what}`, () => resize(x));
    // tfjs's cpu gradient is right for one image only (it reads image b's terms at b times the input's batch
    // stride), so the reference is tfjs's gradient of each image alone.
    const ours = grad(x, w);
    const theirs = withReferenceKernels(() => tf.tidy(() => tf.concat(tf.split<tf.Tensor4D>(x, shape[0]).map((xi, i) => grad(xi, tf.slice(w, i, 1) as tf.Tensor4D)))));
    assert.deepEqual(ours.dataSync(), theirs.dataSync(), `resize grad ${what}`);
    tf.dispose([x, w, ours, theirs]);
  }
  // 2x up-sampling's gradient is each 2x2 block of dy summed: an independent check of a batch
  const dy = rand(rng, [3, 8, 10, 4]) as tf.Tensor4D;
  const blocks = tf.tidy(() => tf.sum(tf.reshape(dy, [3, 4, 2, 5, 2, 4]), [2, 4]));
  const g = tf.grad((u: tf.Tensor) => tf.sum(tf.mul(dy, tf.image.resizeNearestNeighbor(u as tf.Tensor4D, [8, 10]))))(tf.zeros([3, 4, 5, 4]));
  const diff = Math.max(...Array.from(g.dataSync(), (v, i) => Math.abs(v - blocks.dataSync()[i])));
  assert.ok(diff < 1e-6, `2x gradient vs block sums: ${diff}`);
  tf.dispose([dy, blocks, g]);
});

test('concat along any axis and split along the last (narrow and wide rows, empty parts) are tfjs\'s values', () => {
  const rng = new Rng(6);
  const a = rand(rng, [2, 5, 7, 9]);
  const b = rand(rng, [2, 5, 7, 3]);
  const c = rand(rng, [2, 5, 7, 40]);
  sameAsTfjs('concat 9 | 3', () => tf.concat([a, b], 3));
  sameAsTfjs('concat 3 | 40 | 9', () => tf.concat([b, c, a], -1));
  const x = tf.concat([a, c, b], 3);
  for (const [k, part] of tf.split(x, [9, 40, 3], 3).entries()) sameAsTfjs(`split part ${k}`, () => tf.mul(part, 1));
  for (const axis of [0, 1, 2]) {
    const shape = (d: number) => a.shape.map((s, j) => (j === axis ? d : s));
    const [p, q, empty] = [rand(rng, shape(2)), rand(rng, shape(5)), rand(rng, shape(0))];
    sameAsTfjs(`concat axis ${axis}`, () => tf.concat([p, empty, q, p], axis));
    tf.dispose([p, q, empty]);
  }
  const [v, u] = [rand(rng, [5]), rand(rng, [3])];
  sameAsTfjs('concat of vectors', () => tf.concat([v, v, u]));
  // DF-GAN's mismatched pairs: the batch rolled by one, and its gradient (a pad of each slice)
  const f = rand(rng, [16, 4, 4, 32]);
  const roll = (t: tf.Tensor) => tf.concat([tf.slice(t, [1, 0, 0, 0], [15, -1, -1, -1]), tf.slice(t, [0, 0, 0, 0], [1, -1, -1, -1])], 0);
  sameAsTfjs('rolled batch', () => roll(f));
  const w = rand(rng, [16, 4, 4, 32]);
  sameAsTfjs('rolled batch\'s gradient', () => tf.grad((t: tf.Tensor) => tf.sum(tf.mul(w, roll(t))))(f));
  tf.dispose([a, b, c, x, v, u, f, w]);
});

test('PadV2 (any axes, any constant) and Slice (contiguous or not) are tfjs\'s values', () => {
  const rng = new Rng(10);
  const pads: [number[], [number, number][], number][] = [
    [[15, 4, 4, 8], [[0, 1], [0, 0], [0, 0], [0, 0]], 0], [[2, 5, 7, 3], [[0, 0], [1, 2], [3, 0], [0, 0]], 0],
    [[2, 5, 7, 3], [[0, 0], [0, 0], [0, 0], [2, 1]], 0], [[2, 5, 7, 3], [[1, 1], [1, 1], [1, 1], [1, 1]], -1.5],
    [[2, 5, 7, 3], [[0, 0], [0, 0], [0, 0], [0, 0]], 0], [[6], [[2, 3]], 0.25], [[2, 3, 1, 2, 4], [[0, 0], [1, 0], [0, 2], [0, 0], [0, 0]], 0],
    [[3, 0, 2], [[1, 0], [0, 1], [0, 0]], 7], [[1, 40, 40], [[0, 0], [2, 2], [5, 6]], 0],
  ];
  for (const [shape, paddings, value] of pads) {
    const x = rand(rng, shape);
    sameAsTfjs(`pad [${shape}] ${JSON.stringify(paddings)} ${value}`, () => tf.pad(x, paddings, value));
    tf.dispose(x);
  }
  // pix2pixHD's instance boundaries: a cast bool mask holds a Uint8Array under the float32 dtype
  const ids = tf.tensor2d([[1, 1, 2], [3, 3, 3]], [2, 3], 'int32');
  sameAsTfjs('pad of a cast mask', () => tf.pad(tf.cast(tf.notEqual(tf.slice(ids, [0, 1], [2, 2]), tf.slice(ids, [0, 0], [2, 2])), 'float32'), [[1, 0], [0, 1]]));
  ids.dispose();
  const slices: [number[], number[], number[]][] = [
    [[16, 4, 4, 8], [1, 0, 0, 0], [15, -1, -1, -1]], [[2, 5, 7, 3], [0, 1, 2, 0], [2, 3, 4, 3]], [[2, 5, 7, 3], [1, 0, 0, 1], [1, -1, -1, 2]],
    [[2, 5, 7, 3], [0, 0, 0, 0], [-1, -1, -1, -1]], [[9], [2], [5]], [[2, 3, 4, 5, 6], [1, 1, 0, 2, 3], [1, 2, 4, 3, 3]], [[4, 6], [1, 2], [0, 3]],
  ];
  for (const [shape, begin, size] of slices) {
    const x = rand(rng, shape);
    sameAsTfjs(`slice [${shape}] from ${begin} size ${size}`, () => tf.mul(tf.slice(x, begin, size), 1));
    tf.dispose(x);
  }
});

test('GatherV2 of float32 rows along any axis is tfjs\'s values, out-of-range indices its error; integer tables and batched gathers are tfjs\'s kernel', () => {
  const rng = new Rng(11);
  const table = rand(rng, [19, 64]);
  const ids = tf.tensor2d([[3, 0, 18], [7, 7, 1]], [2, 3], 'int32');
  sameAsTfjs('rows', () => tf.gather(table, ids));
  const x = rand(rng, [3, 5, 4, 2]);
  for (const axis of [0, 1, 2, 3, -1]) sameAsTfjs(`axis ${axis}`, () => tf.gather(x, tf.tensor1d([1, 0, 1, 1], 'int32'), axis));
  sameAsTfjs('no indices', () => tf.gather(x, tf.tensor1d([], 'int32'), 1));
  const ints = tf.tensor2d([[1, 2], [3, 4], [5, 6]], [3, 2], 'int32');
  sameAsTfjs('int32 table', () => tf.cast(tf.gather(ints, tf.tensor1d([2, 0], 'int32')), 'float32'));
  const batched = rand(rng, [2, 4, 3]);
  sameAsTfjs('batchDims 1', () => tf.gather(batched, tf.tensor2d([[0, 3], [2, 2]], [2, 2], 'int32'), 1, 1));
  assert.throws(() => tf.gather(table, tf.tensor1d([2, 19], 'int32')), /GatherV2: the index value 19 is not in \[0, 18\]/);
  assert.throws(() => tf.gather(table, tf.tensor1d([-1], 'int32')), /GatherV2: the index value -1 is not in \[0, 18\]/);
  tf.dispose([table, ids, x, ints, batched]);
});

test('Sigmoid, Exp, Sqrt, Square and Abs (and Tanh without the addon) are tfjs\'s bits (large, tiny, signed zeros, infinities, NaN); int32 inputs are tfjs\'s kernels', () => {
  const rng = new Rng(13);
  const values = rng.fillNormal(new Float32Array(4 * 8 * 8 * 3)).map((v) => 4 * v);
  values.set([0, -0, 1e-30, -1e-30, 50, -50, 100, -100, Infinity, -Infinity, NaN], 100);
  const x = tf.tensor4d(values, [4, 8, 8, 3]);
  const ops: [string, (t: tf.Tensor) => tf.Tensor][] = [['sigmoid', tf.sigmoid], ['exp', tf.exp], ['sqrt', (t) => tf.sqrt(tf.abs(t))], ['square', tf.square], ['abs', tf.abs]];
  // With the addon, tanh is its vectorised polynomial, checked in ulps in fused.test.ts.
  if (!engineInfo()?.native.loaded) ops.push(['tanh', tf.tanh]);
  for (const [name, op] of ops) sameAsTfjs(name, () => op(x));
  const ints = tf.tensor1d([-3, 0, 4], 'int32');
  sameAsTfjs('int32 abs and square', () => tf.cast(tf.concat([tf.abs(ints), tf.square(ints)]), 'float32'));
  tf.dispose([x, ints]);
});

test('Fill, ZerosLike, OnesLike and OneHot are tfjs\'s values, in recycled arrays', () => {
  const rng = new Rng(12);
  const x = rand(rng, [16, 8, 8, 4]);
  sameAsTfjs('zeros', () => tf.zeros([3, 70, 5]));
  sameAsTfjs('fill', () => tf.fill([4, 9], -2.5));
  sameAsTfjs('zerosLike', () => tf.zerosLike(x));
  sameAsTfjs('onesLike', () => tf.onesLike(x));
  sameAsTfjs('int32 zeros', () => tf.cast(tf.zeros([5], 'int32'), 'float32'));
  const labels = tf.tensor3d([0, 3, 2, 9, -1, 1], [1, 2, 3], 'int32');
  sameAsTfjs('oneHot', () => tf.oneHot(labels, 4));
  sameAsTfjs('oneHot on/off', () => tf.oneHot(labels, 5, 2, -1));
  // A disposed output's array serves the next one of that size, zeroed or filled again.
  const backend = tf.backend() as MathBackendCPU;
  const values = (t: tf.Tensor) => backend.data.get(t.dataId).values as Float32Array;
  const first = tf.onesLike(x);
  const array = values(first).buffer;
  first.dispose();
  const second = tf.zerosLike(x);
  assert.equal(values(second).buffer, array, 'the ones\' array, recycled');
  assert.ok(values(second).every((v) => v === 0), 'and zeroed');
  tf.dispose([x, labels, second]);
});

test('without the native addon the JavaScript kernels are still registered', () => {
  const script = "import { initEngine } from './src/engine/index.ts'; const i = await initEngine({ log: () => {} }); console.log(JSON.stringify(i.native));";
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { env: { ...process.env, GANTRY_NATIVE: '0' }, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const native = JSON.parse(r.stdout.trim().split('\n').pop()!);
  assert.equal(native.loaded, false);
  for (const name of ['Add', 'Sum', 'MaxPoolGrad', 'UnsortedSegmentSum', 'Concat', 'PadV2', 'Fill']) assert.ok(native.kernels.includes(name), `${name} not registered: ${native.kernels}`);
  assert.ok(!native.kernels.includes('Conv2D'), 'a native kernel was registered without the addon');
});

testWithoutAddon(import.meta.url);
