import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import jpeg from 'jpeg-js';
import { readImageFile } from '../../src/io/image.ts';
import type { RawImage } from '../../src/io/pixels.ts';

const golden = join(dirname(fileURLToPath(import.meta.url)), '..', 'golden', 'jpeg');

/** The largest and the mean difference of the RGB levels of two RGBA images of one size. */
function levels(a: RawImage, b: RawImage): { max: number; mean: number } {
  assert.deepEqual([a.width, a.height], [b.width, b.height]);
  let max = 0;
  let sum = 0;
  let n = 0;
  for (let i = 0; i < a.data.length; i++) {
    if (i % 4 === 3) continue;
    const d = Math.abs(a.data[i] - b.data[i]);
    max = Math.max(max, d);
    sum += d;
    n++;
  }
  return { max, mean: sum / n };
}

test('JPEGs decode as PIL (libjpeg) decodes them: subsampled chroma through its triangle filter, its colour conversion, an Adobe RGB one unconverted; within its IDCT\'s one level (make_jpeg.py)', () => {
  for (const name of ['smooth420', 'noise420', 'smooth422', 'smooth444', 'progressive420', 'grey', 'adobe-rgb']) {
    const pil = readImageFile(join(golden, `${name}.png`));
    const ours = levels(readImageFile(join(golden, `${name}.jpg`)), pil);
    // jpeg-js's IDCT is off libjpeg's by one level on a few samples, which the colour conversion scales by up to 1.77 per chroma.
    assert.ok(ours.max <= 3 && ours.mean < 0.25, `${name}: ${JSON.stringify(ours)}`);
    if (name.endsWith('420') || name.endsWith('422')) {
      // jpeg-js alone repeats the chroma samples and truncates its colour conversion.
      const plain = jpeg.decode(readFileSync(join(golden, `${name}.jpg`)), { useTArray: true, formatAsRGBA: true });
      const before = levels({ width: plain.width, height: plain.height, channels: 4, data: plain.data }, pil);
      assert.ok(before.mean > 5 * ours.mean && before.max > ours.max, `${name}: jpeg-js alone ${JSON.stringify(before)}, gantry ${JSON.stringify(ours)}`);
    }
  }
});
