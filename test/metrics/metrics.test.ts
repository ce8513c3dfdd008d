import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setup, tempDir } from '../helpers.ts';
import { StatsAccumulator, frechetDistance, type FeatureStats } from '../../src/metrics/frechet.ts';
import { kernelInceptionDistance, kidWarnings, mmd2Unbiased } from '../../src/metrics/kid.ts';
import { inceptionScore } from '../../src/metrics/inception-score.ts';
import { NumpyRandomState } from '../../src/metrics/numpy-random.ts';
import { useNativeLinalg } from '../../src/metrics/linalg.ts';
import { readStatsFile, writeStatsFile } from '../../src/metrics/stats-file.ts';
import { readNpz } from '../../src/io/npy.ts';
import { parkMillerFeatures } from '../golden/park-miller-features.ts';

await setup();
const golden = join(dirname(fileURLToPath(import.meta.url)), '..', 'golden');
const g = JSON.parse(readFileSync(join(golden, 'metrics_golden.json'), 'utf8'));

function statsOf(f: Float32Array, n: number, d: number): FeatureStats {
  const acc = new StatsAccumulator(d);
  // In uneven batches, as the feature extractor delivers them.
  for (let r = 0; r < n; r += 333) acc.add(f.subarray(r * d, Math.min(n, r + 333) * d), Math.min(333, n - r));
  return acc.finish();
}

for (const c of g.fid as { d: number; n: number; seedA: number; seedB: number; fid: number }[]) {
  test(`FID matches pytorch-fid's scipy result to 1e-6 relative: ${c.d}-d, ${c.n} samples${c.n < c.d ? ' (rank-deficient)' : ''}`, () => {
    const a = statsOf(parkMillerFeatures(c.seedA, c.n, c.d, 'a'), c.n, c.d);
    const b = statsOf(parkMillerFeatures(c.seedB, c.n, c.d, 'b'), c.n, c.d);
    const fid = frechetDistance(a, b);
    assert.ok(Math.abs(fid - c.fid) / c.fid < 1e-6, `FID ${fid} vs scipy ${c.fid}`);
    if (c.d <= 64) {
      // The TypeScript fall-back (no addon) agrees too.
      useNativeLinalg(false);
      const js = frechetDistance(statsOf(parkMillerFeatures(c.seedA, c.n, c.d, 'a'), c.n, c.d), statsOf(parkMillerFeatures(c.seedB, c.n, c.d, 'b'), c.n, c.d));
      useNativeLinalg(true);
      assert.ok(Math.abs(js - c.fid) / c.fid < 1e-6, `TypeScript FID ${js} vs scipy ${c.fid}`);
    }
  });
}

test('pytorch-fid-style .npz statistics (stored and compressed) read, write and give scipy\'s FID', () => {
  const a = readStatsFile(join(golden, 'stats_a.npz'));
  const b = readStatsFile(join(golden, 'stats_b.npz'));
  const want = g.fid[0].fid;
  assert.ok(Math.abs(frechetDistance(a, b) - want) / want < 1e-6);
  const path = join(tempDir(), 'copy.npz');
  writeStatsFile(path, a);
  const back = readStatsFile(path);
  assert.deepEqual(back.mu, a.mu);
  assert.deepEqual(back.sigma, a.sigma);
  assert.throws(() => readStatsFile(join(golden, 'metrics_golden.json')), /not an \.npz file/);
});

test('statistics files carry their feature network: NumPy\'s strings read, gantry\'s written, two networks\' statistics refused', () => {
  // Written by NumPy (make_npz_text.py): a str, a bytes and a non-ASCII str beside mu and sigma.
  const { arrays, texts } = readNpz(join(golden, 'stats_text.npz'));
  assert.deepEqual(Object.keys(arrays).sort(), ['mu', 'sigma']);
  assert.deepEqual(texts, { features: 'classifier-0123456789ab', origin: 'folder:/data/faces', note: 'caf\u00e9 \u2713 \u{1F600}' });
  const stats = readStatsFile(join(golden, 'stats_text.npz'));
  assert.equal(stats.features, 'classifier-0123456789ab');
  // Entries of other dtypes are passed over (a list of strings, an integer n), unless they are mu or sigma.
  const list = readNpz(join(golden, 'stats_text_list.npz'));
  assert.deepEqual([Object.keys(list.arrays).sort(), list.texts, list.others], [['mu', 'sigma'], {}, { features: '<U2 [2]', n: '<i8' }]);
  assert.deepEqual([readStatsFile(join(golden, 'stats_text_list.npz')).features, readStatsFile(join(golden, 'stats_text_list.npz')).n], [undefined, 0]);
  assert.throws(() => readStatsFile(join(golden, 'stats_int.npz')), /stats_int\.npz: mu holds <i8 \[3\] values; FID statistics are float64 \(or float32\), make them again with `gantry eval stats`/);
  // Written by gantry, read back; a pytorch-fid file (no network named) goes with any.
  const path = join(tempDir(), 'named.npz');
  writeStatsFile(path, { ...stats, features: 'inception-ffffffffffff-2048' });
  const named = readStatsFile(path);
  assert.equal(named.features, 'inception-ffffffffffff-2048');
  assert.deepEqual(named.mu, stats.mu);
  const unnamed = readStatsFile(join(golden, 'stats_a.npz'));
  assert.equal(unnamed.features, undefined);
  assert.equal(frechetDistance(named, { ...named, features: undefined }), frechetDistance(named, named));
  assert.throws(() => frechetDistance(named, stats), /two different feature networks \(inception-ffffffffffff-2048 and classifier-0123456789ab\)/);
});

test('KID\'s unbiased MMD^2 with the cubic kernel matches NumPy', () => {
  const k = g.kid;
  const v = mmd2Unbiased(parkMillerFeatures(k.seedA, k.n, k.d, 'a'), parkMillerFeatures(k.seedB, k.n, k.d, 'b'), k.n, k.d);
  assert.ok(Math.abs(v - k.mmd2) < 1e-5 * Math.max(1, Math.abs(k.mmd2)), `${v} vs ${k.mmd2}`);
});

test('KID with fewer images than its subset size: smaller subsets, and a warning that says so (and when every subset is the same)', () => {
  const d = 4;
  const real = parkMillerFeatures(1, 12, d, 'a');
  const fake = parkMillerFeatures(2, 20, d, 'b');
  const r = kernelInceptionDistance(real, 12, fake, 20, d, { subsets: 5 });
  assert.equal(r.subsetSize, 12);
  const [w, ...more] = kidWarnings(r, 1000, 12, 20);
  assert.equal(more.length, 0);
  assert.match(w, /^warning: KID's subsets hold 12 images, not 1000: there are only 12 real images\. KIDs compare only at one subset size; give more images \(--n\) or a smaller --subset-size$/);
  // Subsets the size of both sets are all the same set: std is 0 and the warning says it means nothing.
  const whole = kernelInceptionDistance(real, 12, fake.subarray(0, 12 * d), 12, d, { subsets: 5 });
  assert.ok(whole.std < 1e-12, `${whole.std}`);
  assert.match(kidWarnings(whole, 1000, 12, 12)[0], /each subset is then all the images, so the 5 subsets are one and the same and their std \(0, up to rounding\) measures no spread/);
  assert.deepEqual(kidWarnings(kernelInceptionDistance(real, 12, fake, 20, d, { subsets: 5, subsetSize: 8 }), 8, 12, 20), []);
});

test('NumPy\'s RandomState(seed).permutation, as torch-fidelity draws KID\'s subsets and IS\'s shuffle with it', () => {
  const p = g.permutations;
  const r = new NumpyRandomState(2020);
  assert.deepEqual([Array.from(r.permutation(10)), Array.from(r.permutation(7))], p.seed2020);
  assert.deepEqual(Array.from(new NumpyRandomState(0).permutation(12)), p.seed0);
  const big = new NumpyRandomState(2020).permutation(100000);
  assert.deepEqual([Array.from(big.subarray(0, 8)), Array.from(big.subarray(-8))], [p.seed2020_100000.first, p.seed2020_100000.last]);
});

test('KID on subsets smaller than the sets: torch-fidelity\'s subsets, its mean and std', () => {
  const k = g.kid_subsets;
  const r = kernelInceptionDistance(parkMillerFeatures(k.seedA, k.nA, k.d, 'a'), k.nA, parkMillerFeatures(k.seedB, k.nB, k.d, 'b'), k.nB, k.d, { subsets: k.subsets, subsetSize: k.subsetSize });
  assert.ok(Math.abs(r.mean - k.mean) < 1e-6 && Math.abs(r.std - k.std) < 1e-6, `${JSON.stringify(r)} vs ${k.mean} ${k.std}`);
});

test('Inception Score matches torch-fidelity\'s formula, with its shuffle and without', () => {
  const c = g.is;
  const logits = parkMillerFeatures(c.seed, c.n, c.classes, 'a').map((v) => v * c.scale);
  const r = inceptionScore(logits, c.n, c.classes, 10, false);
  assert.ok(Math.abs(r.mean - c.mean) < 1e-9 && Math.abs(r.std - c.std) < 1e-9, `${JSON.stringify(r)} vs ${c.mean} ${c.std}`);
  const shuffled = inceptionScore(logits, c.n, c.classes, 10);
  assert.ok(Math.abs(shuffled.mean - g.is_shuffled.mean) < 1e-9 && Math.abs(shuffled.std - g.is_shuffled.std) < 1e-9, `${JSON.stringify(shuffled)} vs ${JSON.stringify(g.is_shuffled)}`);
  // Perfectly confident, evenly spread predictions over 10 classes give IS = 10 in their own order.
  const sharp = new Float32Array(100 * 10);
  for (let i = 0; i < 100; i++) sharp[i * 10 + (i % 10)] = 50;
  assert.ok(Math.abs(inceptionScore(sharp, 100, 10, 10, false).mean - 10) < 1e-6);
  // The same predictions sorted by class (a data folder read class after class): unshuffled, each split
  // holds one class and scores 1; shuffled as torch-fidelity does, the score is the set's.
  const sorted = new Float32Array(1000 * 10);
  for (let i = 0; i < 1000; i++) sorted[i * 10 + Math.floor(i / 100)] = 50;
  assert.ok(Math.abs(inceptionScore(sorted, 1000, 10, 10, false).mean - 1) < 1e-6);
  assert.ok(inceptionScore(sorted, 1000, 10, 10).mean > 9);
});
