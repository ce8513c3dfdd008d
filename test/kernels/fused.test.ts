import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { setup, tf, maxAbsDiff, maxAbs } from '../helpers.ts';
import { Rng } from '../../src/engine/rng.ts';
import { engineInfo } from '../../src/engine/index.ts';
import { fusedBatchNormTrain } from '../../src/kernels/batch-norm.ts';
import { loadNativeAddon } from '../../src/kernels/cpu/native.ts';
import { Adam } from '../../src/optim/adam.ts';
import { withReferenceKernels } from '../../src/kernels/cpu/register.ts';
import { initTensor } from '../../src/nn/init.ts';
import { ParamSet } from '../../src/nn/params.ts';

await setup();
const skip = !engineInfo()?.native.loaded && 'native addon not built';

function rand(rng: Rng, shape: number[], mean = 0, std = 1): tf.Tensor {
  return tf.tensor(rng.fillNormal(new Float32Array(shape.reduce((a, b) => a * b, 1)), mean, std), shape);
}

function close(what: string, a: tf.Tensor, b: tf.Tensor, tol = 1e-4): void {
  const av = a.dataSync(), bv = b.dataSync();
  const err = maxAbsDiff(av, bv) / Math.max(1, maxAbs(bv));
  assert.ok(err < tol, `${what}: relative error ${err}`);
}

/** Batch norm from tfjs ops, the definition the fused kernel must match (values and gradients). */
function compositeBatchNorm(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, eps: number): tf.Tensor {
  const { mean, variance } = tf.moments(x, [0, 1, 2]);
  return tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, eps))), gamma), beta);
}

/** The running estimates after one batch as BatchNorm2d's op form moves them (momentum 0.1, unbiased variance). */
function compositeRunning(x: tf.Tensor, running: { mean: tf.Tensor; variance: tf.Tensor }): [tf.Tensor, tf.Tensor] {
  const { mean, variance } = tf.moments(x, [0, 1, 2]);
  const n = x.size / x.shape[3]!;
  return [tf.add(tf.mul(running.mean, 0.9), tf.mul(mean, 0.1)), tf.add(tf.mul(running.variance, 0.9), tf.mul(tf.mul(variance, n / Math.max(n - 1, 1)), 0.1))];
}

test('fused batch norm: output, batch statistics, running estimates and all three gradients match tfjs ops', { skip }, () => {
  const rng = new Rng(1);
  for (const shape of [[4, 5, 3, 7], [64, 4, 4, 256], [1, 1, 1, 3], [3, 8, 8, 1]]) {
    tf.tidy(() => {
      const x = rand(rng, shape, 0.7, 2);
      const c = shape[3];
      const gamma = rand(rng, [c], 1, 0.3);
      const beta = rand(rng, [c]);
      const w = rand(rng, shape); // a random linear loss makes dy non-trivial
      const running = { mean: rand(rng, [c]), variance: tf.abs(rand(rng, [c], 1)) };
      const fused = fusedBatchNormTrain(x, gamma, beta, running, 1e-5, 0.1)!;
      const ref = compositeBatchNorm(x, gamma, beta, 1e-5);
      close(`y ${shape}`, fused.y, ref);
      const { mean, variance } = tf.moments(x, [0, 1, 2]);
      close(`mean ${shape}`, fused.mean, mean);
      close(`variance ${shape}`, fused.variance, variance);
      const [runningMean, runningVar] = compositeRunning(x, running);
      close(`running mean ${shape}`, fused.runningMean, runningMean);
      close(`running variance ${shape}`, fused.runningVar, runningVar);
      const lossFused = (a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(fusedBatchNormTrain(a, g, b, running, 1e-5, 0.1)!.y, w));
      const lossRef = (a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(compositeBatchNorm(a, g, b, 1e-5), w));
      const gf = tf.grads(lossFused)([x, gamma, beta]);
      const gr = tf.grads(lossRef)([x, gamma, beta]);
      ['dx', 'dgamma', 'dbeta'].forEach((name, i) => close(`${name} ${shape}`, gf[i], gr[i], 2e-4));
    });
  }
});

test('evaluation batch norm (tf.batchNorm) in the addon matches tfjs\'s kernel; other shapes of statistics go to it', { skip }, () => {
  const rng = new Rng(7);
  const x = rand(rng, [5, 6, 7, 24], 0.3, 2);
  const [mean, gamma, beta] = [rand(rng, [24]), rand(rng, [24], 1, 0.2), rand(rng, [24])];
  const variance = tf.tidy(() => tf.add(tf.square(rand(rng, [24])), 0.1));
  const cases: [string, () => tf.Tensor][] = [
    ['per channel', () => tf.batchNorm(x, mean, variance, beta, gamma, 1e-5)],
    ['no scale or offset', () => tf.batchNorm(x, mean, variance)],
    ['rank 2', () => tf.batchNorm(tf.reshape(x, [-1, 24]), mean, variance, beta, gamma, 1e-3)],
    ['statistics of rank 4 (tfjs\'s kernel)', () => tf.batchNorm(x, ...[mean, variance, beta, gamma].map((t) => tf.reshape(t, [1, 1, 1, 24])) as [tf.Tensor4D, tf.Tensor4D, tf.Tensor4D, tf.Tensor4D], 1e-5)],
  ];
  assert.ok(engineInfo()!.native.kernels!.includes('FusedBatchNorm'), 'the addon\'s batch norm is not registered');
  for (const [what, f] of cases) {
    const ours = tf.tidy(f);
    const theirs = withReferenceKernels(() => tf.tidy(f));
    close(what, ours, theirs, 2e-6);
    tf.dispose([ours, theirs]);
  }
  tf.dispose([x, mean, gamma, beta, variance]);
});

test('native ReLU / LeakyReLU forward and gradients, including the second derivative path', { skip }, () => {
  tf.tidy(() => {
    const rng = new Rng(2);
    const x = rand(rng, [3, 50, 7]);
    const xs = x.dataSync();
    const y = tf.leakyRelu(x, 0.2).dataSync();
    const r = tf.relu(x).dataSync();
    for (let i = 0; i < xs.length; i++) {
      assert.equal(y[i], xs[i] > 0 ? xs[i] : Math.fround(Math.fround(0.2) * xs[i]));
      assert.equal(r[i], xs[i] > 0 ? xs[i] : 0);
    }
    const dy = rand(rng, x.shape);
    const dys = dy.dataSync();
    const g = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tf.leakyRelu(a, 0.2), dy)))(x).dataSync();
    for (let i = 0; i < xs.length; i++) assert.ok(Math.abs(g[i] - (xs[i] > 0 ? dys[i] : 0.2 * dys[i])) < 1e-6);
    // d/dv of sum(grad_x(sum(leakyRelu(x) * v)) * u) = u * mask: the gradient of the gradient.
    const u = rand(rng, x.shape);
    const us = u.dataSync();
    const gg = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tf.leakyRelu(a, 0.2), v)))(x), u)))(dy).dataSync();
    for (let i = 0; i < xs.length; i++) assert.ok(Math.abs(gg[i] - (xs[i] > 0 ? us[i] : 0.2 * us[i])) < 1e-6);
    // |x| into a recycled array: Math.abs exactly (0 and -0 to +0), its gradient dy * sign (-dy at 0, as tfjs)
    const special = tf.concat([tf.reshape(x, [-1]), tf.tensor1d([0, -0, Infinity, -Infinity])]);
    const a = tf.abs(special).dataSync();
    special.dataSync().forEach((v, i) => assert.ok(Object.is(a[i], Math.abs(v)), `|${v}| gave ${a[i]}`));
    const ga = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.abs(t), dy)))(x).dataSync();
    for (let i = 0; i < xs.length; i++) assert.equal(ga[i], xs[i] > 0 ? dys[i] : -dys[i]);
  });
});

/** |a - b| in units in the last place of b as a float32 (b's spacing above |b|). */
function ulps(a: number, b: number): number {
  const bits = new Uint32Array(new Float32Array([Math.abs(b)]).buffer);
  const next = new Float32Array(new Uint32Array([bits[0] + 1]).buffer)[0];
  return Math.abs(a - b) / (next - Math.abs(b));
}

test('native tanh: within 2 float ulps of Math.tanh from -12 to 12 (every 2^-16), exact at the edges', { skip }, () => {
  const steps = 24 * 65536;
  const x = new Float32Array(steps + 1).map((_, i) => -12 + i / 65536);
  const edges = [0, -0, 1e-30, -1e-30, 1.4e-45, 0.39999998, 0.4, 0.40000002, -0.4, 9.02, -9.02, 10, 88, 3.4e38, -3.4e38, Infinity, -Infinity, NaN];
  const input = tf.tensor1d([...x, ...edges]);
  const y = tf.tanh(input);
  const xs = input.dataSync(), ys = y.dataSync();
  let worst = 0;
  for (let i = 0; i < xs.length; i++) {
    const exact = Math.fround(Math.tanh(xs[i]));
    if (Number.isNaN(exact)) assert.ok(Number.isNaN(ys[i]), `tanh(${xs[i]}) gave ${ys[i]}`);
    else if (i > steps || exact === 0) assert.ok(Object.is(ys[i], exact), `tanh(${xs[i]}) gave ${ys[i]}, not ${exact}`);
    else worst = Math.max(worst, ulps(ys[i], exact));
  }
  assert.ok(worst <= 2, `tanh is ${worst} ulps from Math.tanh`);
  assert.ok(worst > 0, 'the addon\'s tanh is not the one that ran');
  tf.dispose([input, y]);
});

test('fused native Adam follows the tfjs-op Adam step for step', { skip }, () => {
  const rng = new Rng(3);
  const init = rand(rng, [37, 11]);
  const p1 = tf.variable(init.clone());
  const p2 = tf.variable(init.clone());
  const fast = new Adam([p1], { lr: 0.01, beta1: 0.5, beta2: 0.999 });
  const ref = new Adam([p2], { lr: 0.01, beta1: 0.5, beta2: 0.999, native: false });
  for (let step = 0; step < 5; step++) {
    const g = rand(rng, [37, 11]);
    fast.apply({ [p1.name]: g });
    ref.apply({ [p2.name]: g });
    g.dispose();
  }
  close('param after 5 steps', p1, p2, 1e-6);
  close('m', fast.m[0], ref.m[0], 1e-6);
  close('v', fast.v[0], ref.v[0], 1e-6);
  tf.dispose([init, p1, p2]);
  fast.dispose();
  ref.dispose();
});

test('weights as initTensor draws them are the pool\'s: native Adam writes them in place from its first update, to the same bits', { skip }, () => {
  const array = (t: tf.Tensor) => (tf.backend() as MathBackendCPU).data.get(t.dataId).values as Float32Array;
  const params = new ParamSet();
  const drawn = params.add('w', initTensor([64, 33], { kind: 'normal', std: 0.02 }, new Rng(7)));
  // The same values in an array of tfjs's (not the pool's): the update goes to a new array.
  const copied = tf.tidy(() => tf.variable(tf.tensor(Float32Array.from(array(drawn)), drawn.shape))); // (dataSync would mark the array read out)
  const g = rand(new Rng(8), [64, 33]);
  const first = { drawn: array(drawn), copied: array(copied) };
  const adams = [new Adam([drawn], { lr: 0.01, beta1: 0.5, beta2: 0.999 }), new Adam([copied], { lr: 0.01, beta1: 0.5, beta2: 0.999 })];
  adams[0].apply({ [drawn.name]: g });
  adams[1].apply({ [copied.name]: g });
  assert.equal(array(drawn), first.drawn, 'in place: no copy of the weights left to the garbage collector');
  assert.notEqual(array(copied), first.copied);
  assert.deepEqual(array(drawn), array(copied));
  tf.dispose([g, copied]);
  params.dispose();
  adams.forEach((a) => a.dispose());
});

test('native Adam writes in place the arrays only its variables hold, never one that a clone or a reader holds', { skip }, () => {
  const rng = new Rng(5);
  const init = rand(rng, [64, 33]);
  const grads = Array.from({ length: 6 }, () => rand(rng, [64, 33]));
  const array = (t: tf.Tensor) => (tf.backend() as MathBackendCPU).data.get(t.dataId).values as Float32Array;
  /** Six updates; before update `step`, `hold` may keep the parameter's values (and check them after). */
  const run = (hold: (p: tf.Variable, step: number) => (() => void) | undefined) => {
    const p = tf.variable(init.clone());
    const adam = new Adam([p], { lr: 0.01, beta1: 0.5, beta2: 0.999 });
    const tensors: number[] = [];
    const inPlace = grads.map((g, step) => {
      const before = array(p);
      const after = hold(p, step);
      adam.apply({ [p.name]: g });
      after?.();
      tensors.push(tf.memory().numTensors);
      return array(p) === before;
    });
    assert.ok(tensors.every((n) => n === tensors[0]), `tensors after each update: ${tensors}`);
    const result = { inPlace, p: Float32Array.from(p.dataSync()), m: Float32Array.from(adam.m[0].dataSync()), v: Float32Array.from(adam.v[0].dataSync()) };
    p.dispose();
    adam.dispose();
    return result;
  };
  const plain = run(() => undefined);
  // The first update writes new arrays (the initial ones are not the pool's); from then on, the same ones.
  assert.deepEqual(plain.inPlace, [false, true, true, true, true, true]);
  const held = run((p, step) => {
    if (step === 2) {
      const clone = p.clone();
      const kept = Float32Array.from(array(clone));
      return () => {
        assert.deepEqual(array(clone), kept, 'a clone keeps the values it was made with');
        clone.dispose();
      };
    }
    if (step === 4) {
      const read = p.dataSync();
      const kept = Float32Array.from(read);
      return () => assert.deepEqual(read, kept, 'values read by dataSync stay as they were read');
    }
    return undefined;
  });
  assert.deepEqual(held.inPlace, [false, true, false, true, false, true]);
  // In place or not, the same bits.
  assert.deepEqual(held.p, plain.p);
  assert.deepEqual(held.m, plain.m);
  assert.deepEqual(held.v, plain.v);
  tf.dispose([init, ...grads]);
});

test('the AVX2/FMA and portable SGEMM micro-kernels agree with a float64 product', { skip }, () => {
  const addon = loadNativeAddon().addon!;
  const rng = new Rng(4);
  const [M, N, K] = [37, 45, 301];
  const A = rng.fillNormal(new Float32Array(M * K));
  const B = rng.fillNormal(new Float32Array(K * N));
  const expected = new Float64Array(M * N);
  for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) {
    let s = 0;
    for (let k = 0; k < K; k++) s += A[i * K + k] * B[k * N + j];
    expected[i * N + j] = s;
  }
  for (const portable of [false, true]) {
    addon.forcePortable(portable);
    const C = new Float32Array(M * N).fill(Number.NaN); // beta = 0 must not read C
    addon.sgemm(false, false, M, N, K, 1, A, K, B, N, 0, C, N);
    assert.ok(maxAbsDiff(C, expected) < 1e-3, `portable=${portable}: ${maxAbsDiff(C, expected)}`);
    // alpha and beta: C = 2 * AB + 0.5 * C
    addon.sgemm(false, false, M, N, K, 2, A, K, B, N, 0.5, C, N);
    const want = expected.map((e) => 2.5 * e);
    assert.ok(maxAbsDiff(C, want) < 3e-3, `alpha/beta portable=${portable}`);
  }
  addon.forcePortable(false);
  assert.throws(() => addon.sgemm(false, false, M, N, K, 1, A, K, B.subarray(1), N, 0, new Float32Array(M * N), N), /too short/);
});

test('gradients through the native conv kernels match finite differences', { skip }, () => {
  const rng = new Rng(5);
  const x = rand(rng, [2, 7, 7, 3]) as tf.Tensor4D;
  const w = rand(rng, [3, 3, 3, 4], 0, 0.3) as tf.Tensor4D;
  const wt = rand(rng, [4, 4, 2, 4], 0, 0.3) as tf.Tensor4D;
  // A conv, a transposed conv and a nonlinearity, so every native conv kernel is on the path.
  const f = (xx: tf.Tensor, ww: tf.Tensor) => tf.sum(tf.square(tf.conv2dTranspose(tf.tanh(tf.conv2d(xx as tf.Tensor4D, ww as tf.Tensor4D, 2, 'same')), wt, [2, 8, 8, 2], 2, 'same')));
  const [gx, gw] = tf.grads(f)([x, w]);
  const fd = (t: tf.Tensor, i: number, which: 0 | 1) => {
    const eps = 1e-2;
    const v = t.dataSync().slice();
    const at = (d: number) => {
      const u = v.slice();
      u[i] += d;
      const tt = tf.tensor(u, t.shape);
      const out = tf.tidy(() => (which === 0 ? f(tt, w) : f(x, tt)).dataSync()[0]);
      tt.dispose();
      return out;
    };
    return (at(eps) - at(-eps)) / (2 * eps);
  };
  for (const i of [0, 13, 101, 200]) {
    const n = fd(x, i, 0);
    assert.ok(Math.abs(n - gx.dataSync()[i]) < 2e-2 * Math.max(1, Math.abs(n)), `dx[${i}] ${gx.dataSync()[i]} vs ${n}`);
  }
  for (const i of [0, 7, 55, 100]) {
    const n = fd(w, i, 1);
    assert.ok(Math.abs(n - gw.dataSync()[i]) < 2e-2 * Math.max(1, Math.abs(n)), `dw[${i}] ${gw.dataSync()[i]} vs ${n}`);
  }
});
