import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { setup } from '../helpers.ts';
import { Rng } from '../../src/engine/rng.ts';
import { ParamSet } from '../../src/nn/params.ts';
import { SpectralNorm } from '../../src/nn/spectral-norm.ts';

await setup();
const golden = JSON.parse(readFileSync(join(dirname(fileURLToPath(import.meta.url)), '..', 'golden', 'spectral_norm.json'), 'utf8'));

interface Case { name: string; shape: number[]; weight: number[]; u0: number[]; c: number[]; passes: { normalized: number[]; u: number[]; grad: number[] }[]; sigmaMax: number }

/** PyTorch's layout to gantry's: conv [out, in, kh, kw] -> [kh, kw, in, out]; linear [out, in] -> [in, out]. */
function toGantry(values: number[], shape: number[]): tf.Tensor {
  const t = tf.tensor(values, shape);
  return shape.length === 4 ? tf.transpose(t, [2, 3, 1, 0]) : tf.transpose(t);
}

function maxRelative(a: tf.Tensor, b: tf.Tensor): number {
  const x = a.dataSync(), y = b.dataSync();
  let scale = 0, worst = 0;
  for (let i = 0; i < y.length; i++) scale = Math.max(scale, Math.abs(y[i]));
  for (let i = 0; i < y.length; i++) worst = Math.max(worst, Math.abs(x[i] - y[i]) / scale);
  return worst;
}

for (const c of golden.cases as Case[]) {
  test(`spectral norm as torch.nn.utils.spectral_norm: ${c.name}: the normalised weight, u and the weight's gradient over two passes`, () => {
    const params = new ParamSet();
    const weight = params.add('layer.weight', toGantry(c.weight, c.shape));
    const sn = new SpectralNorm(params, 'layer', weight, new Rng(0, 'test'));
    sn.u.assign(tf.tensor1d(c.u0));
    const cT = toGantry(c.c, c.shape);
    for (const [i, pass] of c.passes.entries()) {
      let normalized: tf.Tensor | null = null;
      const { grads } = tf.variableGrads(() => {
        const w = sn.apply();
        normalized = tf.keep(w);
        return tf.sum(tf.mul(w, cT));
      }, [weight]);
      assert.ok(maxRelative(normalized!, toGantry(pass.normalized, c.shape)) < 1e-5, `pass ${i}: normalised weight`);
      assert.ok(maxRelative(sn.u, tf.tensor1d(pass.u)) < 1e-5, `pass ${i}: u`);
      assert.ok(maxRelative(grads[weight.name], toGantry(pass.grad, c.shape)) < 1e-5, `pass ${i}: gradient`);
      tf.dispose([normalized!, grads[weight.name]]);
    }
    // More passes: the estimate reaches the largest singular value, and the normalised weight's is 1.
    let sigma = 0;
    for (let i = 0; i < 60; i++) {
      sigma = tf.tidy(() => {
        const w = sn.apply();
        return tf.max(tf.div(weight, w)).dataSync()[0];
      });
    }
    assert.ok(Math.abs(sigma - c.sigmaMax) / c.sigmaMax < 1e-5, `sigma ${sigma} vs SVD ${c.sigmaMax}`);
    params.dispose();
    cT.dispose();
  });
}

test('spectral norm: u is a buffer drawn N(0, 1) and normalised, kept as <layer>.weight_u; a pass leaves no tensor behind', () => {
  const params = new ParamSet();
  const weight = params.add('conv.weight', tf.randomNormal([4, 4, 3, 8], 0, 1, 'float32', 1));
  const sn = new SpectralNorm(params, 'conv', weight, new Rng(3, 'test'));
  assert.deepEqual(params.trainableNames(), ['conv.weight']);
  assert.deepEqual(params.named().map(([n]) => n), ['conv.weight', 'conv.weight_u']);
  assert.ok(Math.abs(tf.norm(sn.u).dataSync()[0] - 1) < 1e-6);
  tf.tidy(() => sn.apply()); // warm
  const before = tf.memory().numTensors;
  for (let i = 0; i < 3; i++) {
    const { value, grads } = tf.variableGrads(() => tf.sum(tf.square(sn.apply())) as tf.Scalar, [weight]);
    tf.dispose([value, grads[weight.name]]);
  }
  assert.equal(tf.memory().numTensors, before);
  params.dispose();
});
