import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setup, tf } from '../helpers.ts';
import { Rng } from '../../src/engine/rng.ts';
import type { TorchTensor } from '../../src/io/torch.ts';
import { ParamSet } from '../../src/nn/params.ts';
import { loadTorchWeights } from '../../src/nn/torch-weights.ts';

await setup();

/**
 * loadTorchWeights' own layout loop against tfjs's transpose: a conv weight [out, in, kh, kw] (and a
 * transposed conv's [in, out, kh, kw]) as [kh, kw, in, out], a linear weight transposed, vectors as they
 * are; a tensor of the wrong shape is one error and leaves no tensor behind.
 */
test('PyTorch weights in gantry\'s layout: 4-D axes (2, 3, 1, 0), matrices transposed, vectors as they are, as tfjs transposes them', () => {
  const rng = new Rng(3, 'torch-weights');
  const torch = (shape: number[]): TorchTensor => ({ shape, data: rng.fillNormal(new Float32Array(shape.reduce((a, b) => a * b, 1))) });
  // Small shapes, and ones of several of the layout loop's 32 x 32 tiles with partial tiles at the edges.
  const state = new Map([
    ['conv.weight', torch([5, 3, 3, 2])], ['fc.weight', torch([4, 7])], ['fc.bias', torch([4])], ['one.weight', torch([6, 2, 1, 1])],
    ['big.weight', torch([70, 45, 3, 3])], ['wide.weight', torch([40, 97])],
  ]);
  const params = new ParamSet();
  params.add('conv.weight', tf.zeros([3, 2, 3, 5]));
  params.add('fc.weight', tf.zeros([7, 4]));
  params.add('fc.bias', tf.zeros([4]));
  params.add('one.weight', tf.zeros([1, 1, 2, 6]));
  params.add('big.weight', tf.zeros([3, 3, 45, 70]));
  params.add('wide.weight', tf.zeros([97, 40]));
  const before = tf.memory().numTensors;
  const reference = (name: string, perm?: number[]) => tf.tidy(() => tf.transpose(tf.tensor(state.get(name)!.data, state.get(name)!.shape), perm).dataSync());
  const want = {
    conv: reference('conv.weight', [2, 3, 1, 0]), one: reference('one.weight', [2, 3, 1, 0]), fc: reference('fc.weight'), bias: state.get('fc.bias')!.data.slice(),
    big: reference('big.weight', [2, 3, 1, 0]), wide: reference('wide.weight'),
  };
  loadTorchWeights(params, state, 'test.pth');
  assert.equal(tf.memory().numTensors, before);
  assert.deepEqual(params.get('conv.weight').dataSync(), want.conv);
  assert.deepEqual(params.get('one.weight').dataSync(), want.one);
  assert.deepEqual(params.get('fc.weight').dataSync(), want.fc);
  assert.deepEqual(params.get('fc.bias').dataSync(), want.bias);
  assert.deepEqual(params.get('big.weight').dataSync(), want.big);
  assert.deepEqual(params.get('wide.weight').dataSync(), want.wide);
  // Each tensor's values are taken out of the state dict as they load, so a large file is not held twice.
  assert.ok([...state.values()].every((t) => t.data.length === 0), 'the state dict gave up its arrays');
  assert.throws(() => loadTorchWeights(params, state, 'test.pth'), /^GantryError: test\.pth: conv\.weight was loaded into a network already/);
  state.set('conv.weight', torch([5, 3, 3, 2]));
  state.set('fc.weight', torch([7, 4]));
  assert.throws(() => loadTorchWeights(params, state, 'test.pth'), /^GantryError: test\.pth: fc\.weight is 7x4 in the file, which does not fit this network's 4x7 \(both in PyTorch's order\)/);
  params.dispose();
});
