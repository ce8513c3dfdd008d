import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { relError, setup, tempDir, tf } from '../helpers.ts';
import { LpipsVgg16, areaResize } from '../../src/metrics/lpips.ts';
import { LPIPS_W16, VGG16_W16, checkLpipsAgainstPyTorch, checkLpipsGradientAgainstPyTorch } from '../golden/ppl-golden.ts';

await setup();

test("LPIPS matches torch-fidelity's lpips-vgg16 in PyTorch: scaling, resize both ways, taps, channel norm, linear layers", checkLpipsAgainstPyTorch);

test("LPIPS's gradient with respect to an image is PyTorch's autograd's: bilinear up, grey to RGB, area down, unresized", checkLpipsGradientAgainstPyTorch);

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
