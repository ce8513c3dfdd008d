import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { setup, tf } from '../helpers.ts';
import { outputFloats, peakPooledHeldBytes, pooledFreeBytes } from '../../src/kernels/cpu/float-pool.ts';

await setup();
const backend = () => tf.backend() as MathBackendCPU;
const values = (t: tf.Tensor) => backend().data.get(t.dataId).values as Float32Array;

test('kernel outputs are recycled once their last tensor is gone, and come back zeroed', () => {
  const x = tf.range(0, 1000, 1, 'float32');
  const y = tf.add(x, x);
  const first = values(y).buffer;
  y.dispose();
  assert.ok(pooledFreeBytes() >= 4000, 'the disposed output is free');
  const z = tf.mul(x, x);
  assert.equal(values(z).buffer, first, 'the next output of that size reuses the array');
  assert.equal(values(z)[3], 9, 'written over (read here without dataSync, which would keep the array from the pool)');
  tf.dispose([x, z]);
  const again = outputFloats(backend(), 1000);
  assert.equal(again.buffer, first, 'z\'s array, back in the pool');
  assert.ok(again.every((v) => v === 0), 'and zeroed');
});

test('arrays handed out by dataSync / data, views of them and arrays of several tensors are never recycled under their holders', async () => {
  const x = tf.range(0, 512, 1, 'float32');
  // Read values stay as they were read, after their tensor is gone and more outputs are made.
  const y = tf.add(x, 1);
  const read = y.dataSync();
  const asyncRead = await tf.mul(x, 2).data();
  y.dispose();
  const later = Array.from({ length: 4 }, () => tf.sub(x, 7));
  assert.equal(read[10], 11);
  assert.equal(asyncRead[10], 20);
  // A contiguous slice is a view of its source's array: the source's disposal must not free it.
  const source = tf.add(x, 100);
  const view = tf.slice(source, [256], [128]);
  assert.equal((values(view).buffer), values(source).buffer, 'tfjs slices contiguously as a view');
  source.dispose();
  const more = Array.from({ length: 4 }, () => tf.add(x, x));
  assert.equal(view.dataSync()[0], 356, 'the view keeps its values');
  // A tensor sharing its data (reshape, clone, a variable) keeps the array until the last one goes.
  const shared = tf.add(x, 3);
  const reshaped = tf.reshape(shared, [16, 32]);
  const kept = values(shared);
  shared.dispose();
  const others = Array.from({ length: 4 }, () => tf.add(x, x));
  assert.equal(reshaped.dataSync()[5], 8);
  assert.equal(values(reshaped), kept);
  tf.dispose([x, view, reshaped, ...later, ...more, ...others]);
});

test('a training loop\'s tensor count and free pool stay flat', () => {
  const w = tf.variable(tf.randomNormal([64, 64]));
  const x = tf.randomNormal([32, 64]);
  const opt = tf.train.adam(1e-3);
  const step = () => tf.tidy(() => opt.minimize(() => tf.mean(tf.square(tf.matMul(x, w))), true)!.dataSync()[0]);
  const losses = [step(), step()];
  const [tensors, free] = [tf.memory().numTensors, pooledFreeBytes()];
  for (let i = 0; i < 20; i++) losses.push(step());
  assert.equal(tf.memory().numTensors, tensors);
  assert.equal(pooledFreeBytes(), free);
  assert.ok(losses[losses.length - 1] < losses[0], 'and it still learns');
  tf.dispose([w, x]);
  opt.dispose();
});

test('the pool keeps what a step held at once (so a second step allocates nothing), and no more', () => {
  const x = tf.randomNormal([1 << 20]); // 4 MB
  // A "step" holding twelve 4 MB outputs at once (48 MB, above the old fixed 256 MB bound's share of such steps).
  const step = () => {
    const outs = Array.from({ length: 12 }, (_, i) => tf.mul(x, i + 1));
    const buffers = outs.map((t) => values(t).buffer);
    tf.dispose(outs);
    return buffers;
  };
  step();
  assert.ok(peakPooledHeldBytes() >= 48 * 2 ** 20);
  assert.ok(pooledFreeBytes() <= peakPooledHeldBytes(), 'free arrays never exceed the peak held at once');
  const first = new Set(step());
  const second = step();
  assert.ok(second.every((b) => first.has(b)), 'the second step reuses the first\'s arrays');
  x.dispose();
});
