import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { gantryCli, relError, setup, tempDir } from '../helpers.ts';
import { PplLatents, interpolateLatent, perceptualPathLength, summarizeDistances, PPL_INTERPOLATIONS } from '../../src/metrics/ppl.ts';
import { LpipsVgg16 } from '../../src/metrics/lpips.ts';
import { perceptualPathLength as pplApi } from '../../src/api/index.ts';
import { LPIPS_W16, VGG16_W16, checkPplAgainstPyTorch, goldenGenerator, pplGolden as g } from '../golden/ppl-golden.ts';

await setup();

test("PPL's latents and classes are NumPy's RandomState(2020) draws torch-fidelity makes: z0, then z1, then randint, streamed in batches", () => {
  const l = g.latents;
  const draws = new PplLatents(l.n, l.dim, 2020, l.classes_k);
  const got = [draws.next(2), draws.next(2), draws.next(1)];
  assert.deepEqual(got.flatMap((b) => b.z0.flatMap((z) => Array.from(z))), l.z0);
  assert.deepEqual(got.flatMap((b) => b.z1.flatMap((z) => Array.from(z))), l.z1);
  assert.deepEqual(got.flatMap((b) => b.classes!), l.classes);
  assert.equal(new PplLatents(l.n, l.dim, 2020, 0).next(1).classes, null);
});

test("interpolation as torch-fidelity's batch_interp: lerp, slerp_any and slerp_unit, at epsilon and at 0.3, collinear ends falling back to lerp", () => {
  const l = g.latents;
  const rows = (flat: number[]) => Array.from({ length: l.n }, (_, i) => Float32Array.from(flat.slice(i * l.dim, (i + 1) * l.dim)));
  const z0 = rows(l.z0);
  const ends = rows(l.ends);
  for (const mode of PPL_INTERPOLATIONS) {
    for (const t of [1e-4, 0.3]) {
      const got = z0.flatMap((a, i) => Array.from(interpolateLatent(a, ends[i], t, mode)));
      const want = l.interp[mode][String(t)] as number[];
      const err = Math.max(...got.map((v, i) => Math.abs(v - want[i])));
      assert.ok(err < 1e-6, `${mode} at ${t}: largest difference ${err}`);
    }
  }
});

test("the discard keeps what lies between NumPy's 'lower' and 'higher' percentiles, ties included; mean and std as NumPy's", () => {
  const distances = Float32Array.from(g.discard.distances);
  for (const c of g.discard.cases) {
    const r = summarizeDistances(distances, c.lo, c.hi);
    assert.equal(r.kept, c.kept, `${c.lo},${c.hi}`);
    assert.ok(relError([r.mean, r.std], [c.mean, c.std]) < 1e-6, `${c.lo},${c.hi}: ${r.mean} ${r.std} vs ${c.mean} ${c.std}`);
  }
  // Ties at a percentile stay: all equal distances are all kept.
  assert.equal(summarizeDistances(new Float32Array(50).fill(3), 1, 99).kept, 50);
});

test("PPL of a DCGAN generator matches torch-fidelity's in PyTorch: unquantised with lerp and slerp_any, 8-bit with lerp", checkPplAgainstPyTorch);

test('unquantised, the PPL of a generator settles as epsilon shrinks; on 8-bit images it grows as 1 / epsilon; no latent space, no PPL', async () => {
  const model = goldenGenerator();
  const lpips = LpipsVgg16.load(VGG16_W16, LPIPS_W16);
  const run = { info: model.info, model };
  // Unquantised, the PPL settles as epsilon shrinks (a derivative); on 8-bit levels it grows as 1 / epsilon,
  // the few pixels whose level flips outweighing the step: why float32 is the default.
  const at = async (epsilon: number, dtype: 'uint8' | 'float32') => (await perceptualPathLength(run, lpips, { n: 30, epsilon, dtype, quiet: true })).mean;
  const [coarse, fine] = [await at(3e-4, 'float32'), await at(1e-4, 'float32')];
  assert.ok(Math.abs(coarse - fine) < 0.02 * fine, `float32: ${coarse} at 3e-4, ${fine} at 1e-4`);
  const [coarseLevels, fineLevels] = [await at(1e-3, 'uint8'), await at(1e-4, 'uint8')];
  assert.ok(fineLevels > 5 * coarseLevels && coarseLevels > 5 * fine, `uint8: ${coarseLevels} at 1e-3, ${fineLevels} at 1e-4 (float32 ${fine})`);
  // A run with no latent space is refused in words.
  await assert.rejects(perceptualPathLength({ info: { ...model.info, latentDim: 0 }, model }, lpips, { n: 2 }), /has no latent space for a path length to walk/);
  lpips.dispose();
  model.dispose();
});

test('PPL options that cannot be are refused, each in one line naming it', async () => {
  const model = goldenGenerator();
  const run = { info: model.info, model };
  const lpips = LpipsVgg16.load(VGG16_W16, LPIPS_W16);
  for (const [o, re] of [
    [{ n: 0 }, /n \(pairs\) must be a whole number >= 1/],
    [{ n: 5, epsilon: 0 }, /epsilon must be a small positive number/],
    [{ n: 5, interp: 'slerp' }, /interp must be one of lerp, slerp_any, slerp_unit, got "slerp"/],
    [{ n: 5, dtype: 'uint16' }, /dtype must be uint8 or float32/],
    [{ n: 5, resize: 8 }, /resize must be a whole number >= 16/],
    [{ n: 5, discard: [99, 1] }, /lower discard percentile \(99\) must be below the higher \(1\)/],
    [{ n: 5, discard: [0, 99] }, /strictly between 0 and 100, got 0/],
    [{ n: 5, seed: -1 }, /seed must be a whole number in 0 \.\. 2\^32 - 1/],
  ] as [object, RegExp][]) {
    await assert.rejects(perceptualPathLength(run, lpips, o as { n: number }), re);
  }
  lpips.dispose();
  model.dispose();
});

test('gantry eval ppl scores a trained run as the Node API does; a missing LPIPS file or a data set in place of a run is one line', async () => {
  const dir = tempDir();
  const run = join(dir, 'cgan');
  const t = gantryCli(['train', 'cgan', '--steps', '20', '--batch', '16', '--out', run, '--seed', '1', '--quiet']);
  assert.equal(t.code, 0, t.stderr);
  const r = gantryCli(['eval', 'ppl', '--fake', run, '--vgg16', VGG16_W16, '--lpips', LPIPS_W16, '--n', '40', '--batch', '16', '--discard', '5,95', '--quiet']);
  assert.equal(r.code, 0, r.stderr);
  const cli = JSON.parse(r.stdout);
  assert.deepEqual({ ...cli, mean: 0, std: 0 }, { metric: 'ppl', mean: 0, std: 0, n: 40, kept: 38, epsilon: 1e-4, interp: 'lerp', dtype: 'float32', resize: 64 });
  assert.ok(cli.mean > 0 && Number.isFinite(cli.std), r.stdout);
  const api = await pplApi({ fake: run, vgg16: VGG16_W16, lpips: LPIPS_W16, n: 40, batch: 16, discard: [5, 95], quiet: true });
  assert.equal(api.mean, cli.mean);
  assert.equal(api.distances.length, 40);
  for (const [args, re] of [
    [['--fake', run, '--vgg16', VGG16_W16], /^gantry eval: PPL measures with LPIPS, which needs .* \(--lpips\); nothing is downloaded$/m],
    [['--fake', 'mnist', '--vgg16', VGG16_W16, '--lpips', LPIPS_W16], /^gantry eval: mnist is not a gantry run folder \(no such folder\); give the folder a training run wrote into/m],
    [['--fake', run, '--vgg16', VGG16_W16, '--lpips', LPIPS_W16, '--discard', '1'], /--discard takes LO,HI percentiles \(torch-fidelity's 1,99; "none" for a side without a bound\) or "none" to keep every distance; got "1"/],
    [['--fake', run, '--vgg16', VGG16_W16, '--lpips', LPIPS_W16, '--real', 'mnist'], /--real does not go with eval ppl/],
  ] as [string[], RegExp][]) {
    const bad = gantryCli(['eval', 'ppl', ...args, '--quiet']);
    assert.equal(bad.code, 1, bad.stderr);
    assert.match(bad.stderr, re);
  }
});

test('a u-net-vae-gan run: both ends of a pair take the same skip noise and reference, so its PPL is a derivative, not the noise', async () => {
  const dir = tempDir();
  const run = join(dir, 'unet');
  const t = gantryCli(['train', 'unet-vae-gan', '--steps', '3', '--batch', '8', '--out', run, '--seed', '1', '--quiet']);
  assert.equal(t.code, 0, t.stderr);
  const at = async (epsilon: number) => (await pplApi({ fake: run, vgg16: VGG16_W16, lpips: LPIPS_W16, n: 6, batch: 4, epsilon, quiet: true })).mean;
  // Ends drawn with different noise would differ by a fixed LPIPS, and their PPL grow as 1 / epsilon squared.
  const [coarse, fine] = [await at(1e-3), await at(1e-4)];
  assert.ok(Math.abs(coarse - fine) < 0.1 * fine, `${coarse} at 1e-3, ${fine} at 1e-4`);
});
