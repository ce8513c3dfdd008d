import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { setup, tf, withEnv } from '../helpers.ts';
import { ensureMemoryFor, memoryLeft, OutOfMemoryError } from '../../src/engine/memory.ts';
import { outputFloats } from '../../src/kernels/cpu/float-pool.ts';
import { GantryError } from '../../src/errors.ts';

await setup();

test('a request beyond GANTRY_MAX_MEMORY_MB is refused before it is made, naming the limit; small ones pass', () => {
  const rss = process.memoryUsage.rss();
  const cap = String(Math.ceil(rss / 2 ** 20) + 64); // 64 MB above what the process holds now
  withEnv({ GANTRY_MAX_MEMORY_MB: cap }, () => {
    const left = memoryLeft();
    assert.equal(left.source, `GANTRY_MAX_MEMORY_MB=${cap}`);
    assert.ok(left.bytes > 32 * 2 ** 20 && left.bytes <= 65 * 2 ** 20, `${left.bytes} bytes left`);
    ensureMemoryFor(16 * 2 ** 20);
    assert.throws(() => ensureMemoryFor(256 * 2 ** 20), (err: unknown) => {
      assert.ok(err instanceof OutOfMemoryError && err instanceof GantryError);
      assert.match(err.message, new RegExp(`^out of memory: 268 MB more would not fit in the \\d+ MB left \\(GANTRY_MAX_MEMORY_MB=${cap}\\); smaller images, batches or networks need less$`));
      return true;
    });
    // A kernel's output array is checked before it is made: no tensor, no array.
    const before = tf.memory().numTensors;
    assert.throws(() => outputFloats(tf.backend() as MathBackendCPU, 64 * 2 ** 20), OutOfMemoryError);
    assert.throws(() => tf.tidy(() => tf.add(tf.zeros([8192, 8192]), 1)), OutOfMemoryError, 'a 256 MB tensor');
    assert.equal(tf.memory().numTensors, before);
  });
  withEnv({ GANTRY_MAX_MEMORY_MB: String(Math.ceil(rss / 2 ** 20) - 8) }, () => ensureMemoryFor(2 ** 20 - 1));
});

test('without GANTRY_MAX_MEMORY_MB the machine\'s available memory is the limit', () => {
  withEnv({ GANTRY_MAX_MEMORY_MB: undefined }, () => {
    const left = memoryLeft();
    assert.equal(left.source, "this machine's free memory");
    assert.ok(left.bytes < process.availableMemory() && left.bytes > 0);
    assert.throws(() => ensureMemoryFor(process.availableMemory() * 2), /this machine's free memory/);
  });
});

test('a GANTRY_MAX_MEMORY_MB that is not a positive number is named with the fix', () => {
  for (const bad of ['8G', '-1', '0']) {
    withEnv({ GANTRY_MAX_MEMORY_MB: bad }, () => {
      assert.throws(() => ensureMemoryFor(2 ** 24), new RegExp(`^GantryError: GANTRY_MAX_MEMORY_MB is "${bad}"; give the most megabytes this process may hold`));
    });
  }
});
