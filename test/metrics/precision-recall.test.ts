import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setup } from '../helpers.ts';
import { precisionRecall } from '../../src/metrics/precision-recall.ts';
import { useNativeLinalg } from '../../src/metrics/linalg.ts';
import { parkMillerFeatures, parkMillerGrid } from '../golden/park-miller-features.ts';

await setup();
const golden = JSON.parse(readFileSync(join(dirname(fileURLToPath(import.meta.url)), '..', 'golden', 'precision_recall.json'), 'utf8'));

interface Case { name: string; generator: 'park-miller' | 'grid'; d: number; nReal: number; nFake: number; seedReal: number; seedFake: number; k: number; precision: number; recall: number; fScore: number; density: number; coverage: number }

function featuresOf(c: Case): [Float32Array, Float32Array] {
  return c.generator === 'grid'
    ? [parkMillerGrid(c.seedReal, c.nReal, c.d), parkMillerGrid(c.seedFake, c.nFake, c.d)]
    : [parkMillerFeatures(c.seedReal, c.nReal, c.d, 'a'), parkMillerFeatures(c.seedFake, c.nFake, c.d, 'b')];
}

const KEYS = ['precision', 'recall', 'fScore', 'density', 'coverage'] as const;

// Shares of counts: equal to the float64 reference's (torch-fidelity's algorithm, prdc's) up to the last bit
// of the division, however the blocks fall and with or without the addon's SGEMM.
for (const c of golden.cases as Case[]) {
  test(`precision, recall, density and coverage equal torch-fidelity's and prdc's: ${c.name}, k ${c.k}`, () => {
    const [real, fake] = featuresOf(c);
    for (const [block, native] of [[1024, true], [64, true], [7, true], [13, false]] as const) {
      useNativeLinalg(native);
      try {
        const r = precisionRecall(real, c.nReal, fake, c.nFake, c.d, { neighborhood: c.k, coverageNeighborhood: c.k, block });
        for (const key of KEYS) assert.ok(Math.abs(r[key] - c[key]) < 1e-12, `${key} ${r[key]} vs ${c[key]} (block ${block}, native ${native})`);
      } finally {
        useNativeLinalg(true);
      }
    }
  });
}

test('a set against itself: every point within its own ball, precision, recall and coverage 1', () => {
  const f = parkMillerFeatures(3, 200, 32, 'a');
  const r = precisionRecall(f, 200, f, 200, 32, { block: 50 });
  assert.deepEqual([r.precision, r.recall, r.coverage, r.neighborhood, r.coverageNeighborhood], [1, 1, 1, 3, 5]);
  // Each fake point lies strictly inside its twin's ball and some of its neighbours'.
  assert.ok(r.density > 1 / 5, `density ${r.density}`);
});

test('dropped modes lower recall and coverage, not precision; far-off fakes lower precision', () => {
  // Real: two clusters; fake: one of them only (a generator that drops a mode), then both moved away.
  const d = 8, n = 300;
  const cluster = (seed: number, count: number, at: number) => parkMillerFeatures(seed, count, d, 'a').map((v) => v + at);
  const real = new Float32Array(n * d);
  real.set(cluster(1, n / 2, 0));
  real.set(cluster(2, n / 2, 10), (n / 2) * d);
  const oneMode = cluster(3, n, 0);
  const dropped = precisionRecall(real, n, oneMode, n, d);
  assert.ok(dropped.precision > 0.9, `precision ${dropped.precision}`);
  assert.ok(dropped.recall > 0.4 && dropped.recall <= 0.5, `recall ${dropped.recall}`);
  assert.ok(dropped.coverage <= 0.5, `coverage ${dropped.coverage}`);
  const away = precisionRecall(real, n, cluster(4, n, 5), n, d);
  assert.deepEqual([away.precision, away.recall, away.density, away.coverage], [0, 0, 0, 0]);
});

test('too few points, a k that is not a whole number >= 1, or a non-finite feature is one clear error', () => {
  const f = parkMillerFeatures(1, 5, 4, 'a');
  assert.throws(() => precisionRecall(f, 5, f, 5, 4), /need at least 6 real and 4 fake images; got 5 and 5 \(give more images, --n, or fewer neighbours\)/);
  assert.throws(() => precisionRecall(f, 5, f, 5, 4, { neighborhood: 0, coverageNeighborhood: 2 }), /--neighborhood must be a whole number >= 1, got 0/);
  assert.deepEqual(precisionRecall(f, 5, f, 5, 4, { neighborhood: 2, coverageNeighborhood: 2 }).precision, 1);
  const diverged = f.slice();
  diverged[9] = NaN;
  assert.throws(() => precisionRecall(f, 5, diverged, 5, 4, { neighborhood: 2, coverageNeighborhood: 2 }), /^GantryError: the fake images' features hold NaN \(image 2\): no distance can be measured; a generator that draws non-finite values has diverged$/);
});
