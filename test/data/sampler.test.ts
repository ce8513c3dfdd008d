import { test } from 'node:test';
import assert from 'node:assert/strict';
import { networkValues } from '../../src/data/sampler.ts';

test('networkValues maps every 8-bit level to level / 127.5 - 1 in float32: 0 to -1, 255 to 1', () => {
  const levels = Uint8Array.from({ length: 512 }, (_, i) => (i * 37) % 256);
  const values = networkValues(levels);
  assert.equal(values.length, levels.length);
  levels.forEach((v, i) => assert.equal(values[i], Math.fround(v / 127.5 - 1), `level ${v}`));
  assert.deepEqual([...networkValues(Uint8Array.of(0, 255))], [-1, 1]);
});
