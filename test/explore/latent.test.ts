import { test } from 'node:test';
import assert from 'node:assert/strict';
import { evaluateLatentExpression, latentForSeed, parseLatentExpression, slerp } from '../../src/explore/latent.ts';

const norm = (v: Float32Array) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));

test('slerp starts and ends at its endpoints and keeps the norm between them', () => {
  const a = latentForSeed(1, 100);
  const b = latentForSeed(2, 100);
  assert.ok(slerp(a, b, 0).every((x, i) => Math.abs(x - a[i]) < 1e-5));
  assert.ok(slerp(a, b, 1).every((x, i) => Math.abs(x - b[i]) < 1e-5));
  const mid = slerp(a, b, 0.5);
  const lerpMid = a.map((x, i) => (x + b[i]) / 2);
  // Linear interpolation of two independent Gaussian vectors shrinks the norm by about 1/sqrt(2); slerp does not.
  assert.ok(norm(mid) > 0.9 * Math.min(norm(a), norm(b)), `slerp norm ${norm(mid)}`);
  assert.ok(norm(lerpMid) < 0.8 * Math.min(norm(a), norm(b)));
});

test('latent expressions: seeds, means, signs; bad input is explained', () => {
  const terms = parseLatentExpression('seed:12 - seed:40 + mean(seed:1, seed:2,seed:3)');
  assert.deepEqual(terms.map((t) => [t.sign, t.seeds]), [[1, [12]], [-1, [40]], [1, [1, 2, 3]]]);
  const v = evaluateLatentExpression(terms, 4);
  const expected = latentForSeed(12, 4).map((x, i) => x - latentForSeed(40, 4)[i] + (latentForSeed(1, 4)[i] + latentForSeed(2, 4)[i] + latentForSeed(3, 4)[i]) / 3);
  assert.ok(v.every((x, i) => Math.abs(x - expected[i]) < 1e-5));
  assert.throws(() => parseLatentExpression('seed:1 seed:2'), /put \+ or - between terms/);
  assert.throws(() => parseLatentExpression('seed:1 * 2'), /cannot read "\* 2"/);
  assert.throws(() => parseLatentExpression('   '), /cannot read|empty/);
});

test('truncation: every number within ±T, untouched numbers kept, deterministic per seed; no truncation is seed:N itself', () => {
  const plain = latentForSeed(7, 200);
  const cut = latentForSeed(7, 200, 0.5);
  assert.ok(cut.every((x) => Math.abs(x) <= 0.5));
  plain.forEach((x, i) => { if (Math.abs(x) <= 0.5) assert.equal(cut[i], x, `number ${i} was within the bound`); });
  assert.ok(plain.some((x) => Math.abs(x) > 0.5), 'the test draws numbers beyond the bound');
  assert.deepEqual(latentForSeed(7, 200, 0.5), cut);
  assert.deepEqual(latentForSeed(7, 200, undefined), plain);
  const terms = parseLatentExpression('seed:1 - seed:2');
  const v = evaluateLatentExpression(terms, 50, 0.3);
  const expected = latentForSeed(1, 50, 0.3).map((x, i) => x - latentForSeed(2, 50, 0.3)[i]);
  assert.ok(v.every((x, i) => Math.abs(x - expected[i]) < 1e-6));
});
