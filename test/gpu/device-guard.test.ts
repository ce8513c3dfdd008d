import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { SOFTWARE_ADAPTER, tf } from '../../src/engine/index.ts';
import { GantryError } from '../../src/errors.ts';
import { GpuLimitError, inPassesThatFit } from '../../src/gpu/device-guard.ts';
import { gantryCli, tempDir } from '../helpers.ts';
import { startWebGpuOrSkip } from './adapter.ts';

test('inPassesThatFit: a pass past the GPU\'s limits is split in two until it fits, and the next call starts at the size that fitted', async () => {
  const passes: [number, number][] = [];
  const fit = { most: Infinity };
  const pass = (start: number, count: number) => {
    passes.push([start, count]);
    if (count > 3) throw new GpuLimitError(`a tensor of ${count} images`, 'use fewer');
    return Array.from({ length: count }, (_, i) => start + i);
  };
  assert.deepEqual((await inPassesThatFit(10, 10, fit, pass)).flat(), [10, 11, 12, 13, 14, 15, 16, 17, 18, 19]);
  assert.deepEqual(passes, [[10, 10], [10, 5], [10, 3], [13, 3], [16, 3], [19, 1]]);
  assert.equal(fit.most, 3);
  passes.length = 0;
  await inPassesThatFit(0, 7, fit, pass);
  assert.deepEqual(passes, [[0, 3], [3, 3], [6, 1]]);
  // Other errors, and a single item that does not fit, are the caller's.
  await assert.rejects(inPassesThatFit(0, 4, { most: Infinity }, () => { throw new GantryError('a bad file'); }), /a bad file/);
  await assert.rejects(inPassesThatFit(0, 4, { most: Infinity }, () => { throw new GpuLimitError('one image', 'use a smaller one'); }), /one image; use a smaller one/);
});

// The rest needs a WebGPU adapter (the GPU machine, or Mesa 24+ lavapipe; README, "On a GPU").
const started: string[] = [];
const noGpu = await startWebGpuOrSkip((line) => started.push(line));
const device = noGpu ? null : (tf.backend() as unknown as { device: GPUDevice }).device;
const bindingLimit = device?.limits.maxStorageBufferBindingSize ?? 0;

test('WebGPU: a software adapter (lavapipe, SwiftShader) is named as one, with --device cpu as the faster choice; a GPU is not', { skip: noGpu }, () => {
  assert.match(started[0], /^gantry: WebGPU on /);
  const software = /llvmpipe|swiftshader/i.test(started[0]);
  assert.deepEqual(started.slice(1), software ? [SOFTWARE_ADAPTER] : []);
  assert.match(SOFTWARE_ADAPTER, /many times slower than --device cpu.*or use --device cpu$/);
});

test('WebGPU: an op whose output is past what the GPU binds at once is refused before it allocates, naming the shape and the fix; nothing leaks', { skip: noGpu }, async () => {
  // An input that fits, and a convolution to 8 channels whose output is twice the limit.
  const side = Math.ceil(Math.sqrt(bindingLimit / 16));
  const x = tf.ones([1, side, side, 1]) as tf.Tensor4D;
  const w = tf.ones([3, 3, 1, 8]) as tf.Tensor4D;
  const before = tf.memory() as tf.MemoryInfo & { numBytesInGPU: number };
  assert.throws(() => tf.conv2d(x, w, 1, 'same'), (err: Error) => {
    assert.ok(err instanceof GpuLimitError, String(err));
    assert.match(err.message, new RegExp(`^WebGPU: a tensor of shape \\[1, ${side}, ${side}, 8\\] needs \\d+ MiB in one binding, more than this GPU binds at once \\(${Math.floor(bindingLimit / 2 ** 20)} MiB\\); use a smaller batch or image size, or --device cpu$`));
    return true;
  });
  const after = tf.memory() as tf.MemoryInfo & { numBytesInGPU: number };
  assert.equal(after.numTensors, before.numTensors);
  assert.equal(after.numBytesInGPU, before.numBytesInGPU, 'no buffer was allocated for the output');
  // The engine goes on: the same op at a size that fits.
  const y = tf.conv2d(tf.slice(x, [0, 0, 0, 0], [1, 8, 8, 1]), w, 1, 'same');
  assert.equal((await y.data())[(1 * 8 + 1) * 8], 9, 'an inner pixel sums its 3x3 ones');
  tf.dispose([x, w, y]);
});

test('WebGPU: a buffer past the GPU\'s size limit is refused where it is made', { skip: noGpu }, () => {
  assert.throws(() => device!.createBuffer({ label: 'huge', size: device!.limits.maxBufferSize + 4, usage: 0x80 }), (err: Error) => {
    assert.ok(err instanceof GpuLimitError);
    assert.match(err.message, /^WebGPU: the buffer huge needs \d+ MiB in one buffer, more than this GPU allows \(\d+ MiB\)/);
    return true;
  });
});

test('WebGPU: an error the device reports (only logged by WebGPU) is thrown by the next read of a result, once', { skip: noGpu }, async () => {
  const x = tf.range(0, 100);
  assert.equal((await tf.sum(x).data())[0], 4950);
  // A mistake WebGPU only reports as an event: the results of work queued with it would be wrong.
  device!.createBuffer({ size: 4, usage: 0 });
  const sum = tf.sum(x);
  await assert.rejects(sum.data(), (err: Error) => {
    assert.ok(err instanceof GantryError && !(err instanceof GpuLimitError));
    assert.match(err.message, /^WebGPU: the GPU reported an error \(.*usage.*\), so the results since are not to be trusted$/i);
    return true;
  });
  // Said once; the next read is answered.
  assert.equal((await sum.data())[0], 4950);
  tf.dispose([x, sum]);
});

test('gantry train --device webgpu with a batch past what the GPU binds: one message with the fix, and no run folder left', { skip: noGpu || (bindingLimit > 2 ** 27 && `this adapter binds ${bindingLimit / 2 ** 20} MiB at once; the test needs lavapipe's 128 MiB`) }, () => {
  const out = join(tempDir(), 'run');
  // cgan's D maps a batch of 4096 to [4096, 16, 16, 64] floats: 256 MiB.
  const r = gantryCli(['train', 'cgan', '--device', 'webgpu', '--batch', '4096', '--steps', '2', '--out', out]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, new RegExp(`gantry train: cgan at 32x32, batch 4096, step 1: WebGPU: a tensor of shape \\[4096, 16, 16, 64\\] needs 256 MiB in one binding, more than this GPU binds at once \\(128 MiB\\); train with a smaller batch \\(--batch\\), image size or network \\(the model section\\), or the CPU \\(--device cpu\\); nothing was trained, so ${out} is not kept`));
  assert.ok(!existsSync(out));
});
