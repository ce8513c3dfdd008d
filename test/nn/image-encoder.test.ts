import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setup, tf } from '../helpers.ts';
import { Rng } from '../../src/engine/rng.ts';
import { ImageEncoder } from '../../src/nn/image-encoder.ts';
import { ParamSet } from '../../src/nn/params.ts';

await setup();

test('the image encoder halves the size down to 4x4, doubling its channels up to 8 times the first (so 256x256 is not 32 times), and reads any batch', () => {
  for (const [imageSize, widths] of [[32, [3, 6, 12]], [64, [3, 6, 12, 24]], [256, [3, 6, 12, 24, 24, 24]]] as const) {
    const params = new ParamSet();
    const encoder = new ImageEncoder(params, 'e', { imageSize, channels: 2, width: 3, outDim: 5 }, new Rng(1));
    const convs = params.named().filter(([name]) => /^e\.conv\d+\.weight$/.test(name));
    assert.deepEqual(convs.map(([, v]) => v.shape[3]), widths, `${imageSize}x${imageSize}`);
    tf.tidy(() => assert.deepEqual(encoder.apply(tf.zeros([2, imageSize, imageSize, 2])).shape, [2, 5]));
    params.dispose();
  }
});
