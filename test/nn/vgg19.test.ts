import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { relError, setup, tf } from '../helpers.ts';
import { readTorchStateDict } from '../../src/io/torch.ts';
import { loadTorchWeights } from '../../src/nn/torch-weights.ts';
import { Vgg19Features } from '../../src/nn/vgg19.ts';
import { vggLoss } from '../../src/losses/pix2pixhd.ts';

await setup();
const golden = join(dirname(fileURLToPath(import.meta.url)), '..', 'golden');
const g = JSON.parse(readFileSync(join(golden, 'vgg19_golden.json'), 'utf8'));

/**
 * torchvision's VGG19 at 1/8 width with seeded weights (test/golden/make_vgg19.py), loaded from its .pth by
 * torchvision's names: the five slices pix2pixHD takes (relu1_1 .. relu5_1), its perceptual loss and the
 * loss's gradient with respect to the generated images, all against PyTorch.
 */
test('VGG19 features, pix2pixHD\'s VGG loss and its input gradient match PyTorch (torchvision parameter names)', () => {
  const vgg = new Vgg19Features(8);
  loadTorchWeights(vgg.params, readTorchStateDict(join(golden, 'vgg19_w8.pth')), 'vgg19_w8.pth');
  const before = tf.memory().numTensors;
  tf.tidy(() => {
    const x = tf.tensor4d(g.x, g.shape);
    const y = tf.tensor4d(g.y, g.shape);
    vgg.apply(x).forEach((t, i) => {
      assert.deepEqual(t.shape, g.features[i].shape, `slice ${i} shape`);
      const e = relError(t.dataSync(), g.features[i].data);
      assert.ok(e < 1e-4, `slice ${i} off by ${e}`);
    });
    const loss = vggLoss((images) => vgg.apply(images), x, y, 1);
    assert.ok(Math.abs(loss.dataSync()[0] - g.loss) < 1e-5 * g.loss, `loss ${loss.dataSync()[0]} vs ${g.loss}`);
    const grad = tf.grad((images: tf.Tensor) => vggLoss((t) => vgg.apply(t), images as tf.Tensor4D, y, 1))(x);
    const e = relError(grad.dataSync(), g.grad);
    assert.ok(e < 1e-3, `gradient off by ${e}`);
  });
  assert.equal(tf.memory().numTensors, before, 'tensors left behind');
  assert.ok(vgg.params.named().every(([, v]) => !v.trainable), 'VGG weights are fixed');
  vgg.dispose();
});

test('a VGG weight file of another width is one error naming the tensor', () => {
  const vgg = new Vgg19Features(4);
  assert.throws(() => loadTorchWeights(vgg.params, readTorchStateDict(join(golden, 'vgg19_w8.pth')), 'vgg19_w8.pth'), /vgg19_w8\.pth: features\.0\.weight is 8x3x3x3 in the file, which does not fit this network's 16x3x3x3 \(both in PyTorch's order\)/);
  vgg.dispose();
});
