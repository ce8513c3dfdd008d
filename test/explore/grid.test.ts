import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setup, tf } from '../helpers.ts';
import { savedLevels, toUint8Images } from '../../src/explore/grid.ts';

await setup();

test('the levels a run is scored as (savedLevels, on the device) are its saved PNGs\' levels (toUint8Images), ties and float32 rounding included', async () => {
  const values: number[] = [-1.5, -1, 1, 1.5, 0, Number.MIN_VALUE - 1];
  // Every tie k + 0.5 that float32 reaches exactly: rounded half up (tf.round would round half to even).
  const ties: number[] = [];
  for (let k = 0; k < 255; k++) {
    for (const v of [Math.fround((k + 0.5) / 127.5 - 1), Math.fround((k + 0.5) / 127.5 - 1 + 2 ** -24), Math.fround((k + 0.5) / 127.5 - 1 - 2 ** -24)]) {
      if (Math.fround(Math.fround(v + 1) * 127.5) === k + 0.5) ties.push(v);
    }
  }
  assert.ok(ties.length > 50, `${ties.length} ties`);
  // Values whose level in float64 arithmetic differs from float32's: the tensors compute in float32.
  let seed = 7;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1;
  for (let i = 0; i < 200_000; i++) values.push(Math.fround(random()));
  const all = Float32Array.from([...values, ...ties]);
  const images = tf.tensor4d(all, [1, 1, all.length, 1]);
  const saved = savedLevels(images);
  const onDevice = await saved.data();
  const inPng = await toUint8Images(images);
  tf.dispose([images, saved]);
  let differ = 0;
  for (let i = 0; i < all.length; i++) if (onDevice[i] !== inPng[i]) differ++;
  assert.equal(differ, 0, `${differ} of ${all.length} levels differ`);
  const tieLevels = Array.from(inPng.subarray(values.length));
  assert.deepEqual(tieLevels, ties.map((v) => Math.fround(Math.fround(v + 1) * 127.5) + 0.5));
  assert.deepEqual(Array.from(inPng.subarray(0, 6)), [0, 0, 255, 255, 128, 0]);
});
