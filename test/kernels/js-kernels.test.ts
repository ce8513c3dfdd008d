import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setup, testWithoutAddon, tf } from '../helpers.ts';
import { Rng } from '../../src/engine/rng.ts';
import { spawnSync } from 'node:child_process';
import { withReferenceKernels } from '../../src/kernels/cpu/register.ts';

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
  ];
  for (const [sa, sb] of pairs) {
    const a = rand(rng, sa);
    const b = tf.tidy(() => tf.add(tf.abs(rand(rng, sb)), 0.5)); // away from 0 for RealDiv
    for (const op of [tf.add, tf.sub, tf.mul, tf.div]) sameAsTfjs(`${op.name} [${sa}] [${sb}]`, () => op(a, b));
    sameAsTfjs(`add reversed [${sb}] [${sa}]`, () => tf.add(b, a));
    tf.dispose([a, b]);
  }
});

test('Sum and Mean over any axes (keepDims or not) are bit-identical to tfjs\'s kernels; int32 sums still work', () => {
  const rng = new Rng(2);
  const cases: [number[], number | number[] | undefined][] = [
    [[64, 16, 16, 32], [0, 1, 2]], [[4, 5, 6, 7], [1, 2]], [[4, 5, 6, 7], 3], [[4, 5, 6, 7], [0, 3]], [[4, 5, 6, 7], undefined],
    [[9], 0], [[3, 1, 2], [1]], [[2, 3], -1], [[1000, 3], 0],
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

test('concat and split along the last axis (narrow and wide rows) are tfjs\'s values', () => {
  const rng = new Rng(6);
  const a = rand(rng, [2, 5, 7, 9]);
  const b = rand(rng, [2, 5, 7, 3]);
  const c = rand(rng, [2, 5, 7, 40]);
  sameAsTfjs('concat 9 | 3', () => tf.concat([a, b], 3));
  sameAsTfjs('concat 3 | 40 | 9', () => tf.concat([b, c, a], -1));
  const x = tf.concat([a, c, b], 3);
  for (const [k, part] of tf.split(x, [9, 40, 3], 3).entries()) sameAsTfjs(`split part ${k}`, () => tf.mul(part, 1));
  tf.dispose([a, b, c, x]);
});

test('without the native addon the JavaScript kernels are still registered', () => {
  const script = "import { initEngine } from './src/engine/index.ts'; const i = await initEngine({ log: () => {} }); console.log(JSON.stringify(i.native));";
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { env: { ...process.env, GANTRY_NATIVE: '0' }, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const native = JSON.parse(r.stdout.trim().split('\n').pop()!);
  assert.equal(native.loaded, false);
  for (const name of ['Add', 'Sum', 'MaxPoolGrad', 'UnsortedSegmentSum', 'Concat']) assert.ok(native.kernels.includes(name), `${name} not registered: ${native.kernels}`);
  assert.ok(!native.kernels.includes('Conv2D'), 'a native kernel was registered without the addon');
});

testWithoutAddon(import.meta.url);
