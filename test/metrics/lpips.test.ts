import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { relError, setup, tempDir, tf } from '../helpers.ts';
import { LpipsVgg16, areaResize } from '../../src/metrics/lpips.ts';

await setup();
const golden = join(dirname(fileURLToPath(import.meta.url)), '..', 'golden');
export const VGG16_W16 = join(golden, 'vgg16_w16.pth');
export const LPIPS_W16 = join(golden, 'lpips_w16.pth');
const g = JSON.parse(readFileSync(join(golden, 'ppl_golden.json'), 'utf8'));

/** NCHW values (uint8 or float32 bytes in base64) as an NHWC tensor. */
function nhwc(base64: string, [n, c, h, w]: number[], type: 'uint8' | 'float32' = 'uint8'): tf.Tensor4D {
  const bytes = Buffer.from(base64, 'base64');
  const data = type === 'uint8' ? Float32Array.from(bytes) : new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
  return tf.tidy(() => tf.transpose(tf.tensor4d(data, [n, c, h, w]), [0, 2, 3, 1]) as tf.Tensor4D);
}

/**
 * torch-fidelity's LPIPS in PyTorch on VGG-16 at 1/16 width with seeded linear layers (test/golden/make_ppl.py):
 * 8-bit pairs at 64x64 (no resize), 28x28 grey (repeated to RGB, bilinear up), 72x72 (area, uneven cells),
 * 128x128 (area), 48x96 (bilinear: one side not above 64) and 40x40; unquantised pairs half a level apart,
 * resized and at their own 32x48.
 */
test("LPIPS matches torch-fidelity's lpips-vgg16 in PyTorch: scaling, resize both ways, taps, channel norm, linear layers", () => {
  const net = LpipsVgg16.load(VGG16_W16, LPIPS_W16);
  const tensors = tf.memory().numTensors;
  const cases: { name: string; a: tf.Tensor4D; b: tf.Tensor4D; want: number[]; resize?: number }[] = g.pairs.map((p: { shape_nchw: number[]; a: string; b: string; lpips: number[] }) => (
    { name: p.shape_nchw.join('x'), a: nhwc(p.a, p.shape_nchw), b: nhwc(p.b, p.shape_nchw), want: p.lpips, resize: 64 }));
  const f = g.floats;
  const fa = nhwc(f.a_f32, f.shape_nchw, 'float32');
  const fb = nhwc(f.b_f32, f.shape_nchw, 'float32');
  cases.push({ name: 'unquantised 64x64', a: fa, b: fb, want: f.lpips, resize: 64 });
  cases.push({ name: 'unquantised 32x48, not resized', a: tf.slice(fa, [0, 0, 0, 0], [1, 32, 48, 3]), b: tf.slice(fb, [0, 0, 0, 0], [1, 32, 48, 3]), want: g.floats_unresized.lpips });
  const before = tf.memory().numTensors;
  for (const c of cases) {
    const d = net.distance(c.a, c.b, c.resize);
    const err = relError(d.dataSync(), c.want);
    d.dispose();
    assert.ok(err < 1e-4, `${c.name}: relative error ${err} (${c.want})`);
  }
  assert.equal(tf.memory().numTensors, before);
  for (const c of cases) tf.dispose([c.a, c.b]);
  tf.dispose([fa, fb]);
  assert.equal(tf.memory().numTensors, tensors);
  net.dispose();
});

test('area resize is adaptive average pooling: integer factors are 2x2 means, uneven cells overlap', () => {
  const x = tf.tensor4d(Float32Array.from({ length: 5 * 4 }, (_, i) => i), [1, 5, 4, 1]);
  const half = areaResize(tf.slice(x, [0, 0, 0, 0], [1, 4, 4, 1]), 2, 2);
  assert.deepEqual(Array.from(half.dataSync()), [2.5, 4.5, 10.5, 12.5]);
  // 5 rows to 3: cells [0, 2), [1, 4), [3, 5); 4 columns to 3: [0, 2), [1, 3), [2, 4).
  const uneven = areaResize(x, 3, 3).dataSync();
  const mean = (rows: number[], cols: number[]) => rows.flatMap((r) => cols.map((c) => r * 4 + c)).reduce((s, v) => s + v, 0) / (rows.length * cols.length);
  const want = [[0, 1], [1, 2, 3], [3, 4]].flatMap((rows) => [[0, 1], [1, 2], [2, 3]].map((cols) => mean(rows, cols)));
  assert.ok(relError(uneven, want) < 1e-6, `${Array.from(uneven)} vs ${want}`);
  tf.dispose([x, half]);
});

test('LPIPS files that are not what they should be are refused in one line naming the file and the fix', () => {
  const dir = tempDir();
  const notVgg = join(dir, 'not-vgg.pth');
  writeFileSync(notVgg, 'not a checkpoint');
  assert.throws(() => LpipsVgg16.load(notVgg, LPIPS_W16), (e: Error) => e.message.includes(notVgg) && !e.message.includes('\n'));
  assert.throws(() => LpipsVgg16.load(LPIPS_W16, LPIPS_W16), /lpips_w16\.pth is not a VGG-16 state dict .* give torchvision's VGG-16 weights/);
  assert.throws(() => LpipsVgg16.load(VGG16_W16, VGG16_W16), /vgg16_w16\.pth holds no LPIPS linear layers .* give LPIPS's linear layers/);
  const missing = join(dir, 'missing.pth');
  assert.throws(() => LpipsVgg16.load(VGG16_W16, missing), (e: Error) => e.message.includes(missing));
});
