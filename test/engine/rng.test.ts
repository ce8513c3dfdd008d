import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/engine/rng.ts';

test('same seed and purpose give the same stream; different purposes differ', () => {
  const a = new Rng(7, 'noise', 3);
  const b = new Rng(7, 'noise', 3);
  const c = new Rng(7, 'noise', 4);
  const xa = Array.from({ length: 5 }, () => a.nextU32());
  assert.deepEqual(xa, Array.from({ length: 5 }, () => b.nextU32()));
  assert.notDeepEqual(xa, Array.from({ length: 5 }, () => c.nextU32()));
});

test('normal draws have mean 0 and variance 1', () => {
  const v = new Rng(1).fillNormal(new Float32Array(200000));
  const mean = v.reduce((s, x) => s + x, 0) / v.length;
  const variance = v.reduce((s, x) => s + (x - mean) ** 2, 0) / v.length;
  assert.ok(Math.abs(mean) < 0.01, `mean ${mean}`);
  assert.ok(Math.abs(variance - 1) < 0.02, `variance ${variance}`);
});

test('state save and restore continue the same stream', () => {
  const r = new Rng(3);
  r.normal();
  const state = r.getState();
  const next = [r.normal(), r.normal(), r.uniform()];
  const s = new Rng(99);
  s.setState(JSON.parse(JSON.stringify(state)));
  assert.deepEqual([s.normal(), s.normal(), s.uniform()], next);
});

test('permutation is a permutation', () => {
  const p = new Rng(5).permutation(1000);
  assert.deepEqual([...p].sort((a, b) => a - b), Array.from({ length: 1000 }, (_, i) => i));
});

test('fillNormal gives what mean + std * normal() gives value by value, and leaves the same state (odd lengths, a spare before and after)', () => {
  for (const [length, spareBefore] of [[0, true], [1, false], [1, true], [2, true], [7, false], [7, true], [1000, false], [1001, true]] as const) {
    const [a, b] = [new Rng(5, 'fill', length), new Rng(5, 'fill', length)];
    if (spareBefore) [a.normal(), b.normal()];
    const filled = a.fillNormal(new Float32Array(length), 0.25, 3);
    const looped = Float32Array.from({ length }, () => 0.25 + 3 * b.normal());
    assert.deepEqual(filled, looped, `length ${length}`);
    assert.deepEqual(a.getState(), b.getState(), `state after length ${length}`);
    assert.deepEqual([a.normal(), a.nextU32()], [b.normal(), b.nextU32()]);
  }
});
