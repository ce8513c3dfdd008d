import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers.ts';
import { decodeSafetensors, encodeSafetensors } from '../../src/io/safetensors.ts';
import { readSafetensors, readSafetensorsMetadata, writeSafetensors } from '../../src/io/safetensors-file.ts';
import { setIoChunkBytes } from '../../src/io/atomic.ts';

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
  // Aligned data is read as views of the bytes (no second copy of a page's weights); misaligned, as copies.
  assert.ok(Object.values(back.tensors).every((t) => t.data.buffer === bytes.buffer), 'views');
  const shifted = new Uint8Array(bytes.length + 1);
  shifted.set(bytes, 1);
  const misaligned = decodeSafetensors(shifted.subarray(1), 'test');
  assert.deepEqual(misaligned.tensors['net/G/w'], tensors['net/G/w']);
  assert.deepEqual(misaligned.tensors.idx, tensors.idx);
  assert.ok(Object.values(misaligned.tensors).every((t) => t.data.buffer !== shifted.buffer), 'copies');
  // A view of a file that starts inside a larger buffer (a Node Buffer from the pool, a download's array).
  const inside = new Uint8Array(bytes.length + 8);
  inside.set(bytes, 8);
  const offset = decodeSafetensors(inside.subarray(8), 'test');
  assert.deepEqual(offset.tensors['net/G/w'], tensors['net/G/w']);
  assert.equal(offset.tensors['net/G/w'].data.buffer, inside.buffer);
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

test('safetensors files are written and read a tensor at a time in chunks (a checkpoint passes the 2 GiB one call takes), and the metadata alone is read from the header', () => {
  const dir = tempDir();
  const path = join(dir, 'f.safetensors');
  const tensors = {
    a: { shape: [1000], data: Float32Array.from({ length: 1000 }, (_, i) => i / 7) },
    b: { shape: [3, 5], data: Int32Array.from({ length: 15 }, (_, i) => i - 9) },
  };
  const previous = setIoChunkBytes(13); // every write and read in pieces of 13 bytes
  try {
    writeSafetensors(path, tensors, { gantry: '{"step":12}' });
    assert.deepEqual(readFileSync(path), Buffer.from(encodeSafetensors(tensors, { gantry: '{"step":12}' })), 'the same bytes as the codec');
    const back = readSafetensors(path, 'ckpt F');
    assert.deepEqual(back.tensors, tensors);
    assert.deepEqual(readSafetensorsMetadata(path), { gantry: '{"step":12}' });
    // A file cut short says so, read whole or for its metadata (whose header names data past the end).
    truncateSync(path, statSync(path).size - 4);
    assert.throws(() => readSafetensors(path, 'ckpt F'), /ckpt F is truncated or corrupt \(tensor b runs past the end of the file\)/);
    assert.throws(() => readSafetensorsMetadata(path, 'ckpt F'), /ckpt F is truncated or corrupt/);
    assert.throws(() => readSafetensors(join(dir, 'none.safetensors'), 'ckpt N'), /cannot read ckpt N: no such file or folder; check the path$/);
  } finally {
    setIoChunkBytes(previous);
  }
});
