import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeSafetensors, encodeSafetensors } from '../../src/io/safetensors.ts';

test('safetensors round trip: header layout, alignment, dtypes and metadata', () => {
  const tensors = {
    'net/G/w': { shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, -6.5]) },
    'idx': { shape: [4], data: Int32Array.from([7, -1, 0, 2 ** 30]) },
  };
  const bytes = encodeSafetensors(tensors, { gantry: '{"step":3}' });
  const headerLen = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  assert.equal((8 + headerLen) % 8, 0, 'data starts 8-byte aligned');
  const header = JSON.parse(Buffer.from(bytes.subarray(8, 8 + headerLen)).toString());
  assert.deepEqual(header['net/G/w'], { dtype: 'F32', shape: [2, 3], data_offsets: [0, 24] });
  assert.deepEqual(header.idx, { dtype: 'I32', shape: [4], data_offsets: [24, 40] });
  const back = decodeSafetensors(bytes, 'test');
  assert.deepEqual(back.tensors['net/G/w'], tensors['net/G/w']);
  assert.deepEqual(back.tensors.idx, tensors.idx);
  assert.deepEqual(back.metadata, { gantry: '{"step":3}' });
});

test('truncated or corrupt safetensors name the file and the problem', () => {
  const bytes = encodeSafetensors({ a: { shape: [100], data: new Float32Array(100) } });
  assert.throws(() => decodeSafetensors(bytes.subarray(0, 5), 'ckpt X'), /ckpt X is truncated or corrupt \(shorter than its 8-byte header/);
  assert.throws(() => decodeSafetensors(bytes.subarray(0, bytes.length - 4), 'ckpt X'), /tensor a runs past the end of the file/);
  const garbled = bytes.slice();
  garbled[8] = 0x78; // 'x' where the header's opening brace was
  assert.throws(() => decodeSafetensors(garbled, 'ckpt X'), /header is not JSON/);
  const huge = bytes.slice();
  new DataView(huge.buffer).setBigUint64(0, 10n ** 9n, true);
  assert.throws(() => decodeSafetensors(huge, 'ckpt X'), /runs past the end of the file/);
});
