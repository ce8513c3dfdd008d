import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gantryCli, tempDir } from '../helpers.ts';
import { writeStatsFile } from '../../src/metrics/stats-file.ts';

const cache = tempDir('gantry-cache-');

function gantry(...args: string[]) {
  const r = gantryCli(args, { env: { GANTRY_CACHE: cache }, timeoutMs: 900_000 });
  let json = null;
  try {
    json = JSON.parse(r.stdout.trim().split('\n').pop()!);
  } catch {
    // not a JSON-printing command (train)
  }
  return { ...r, json };
}

/**
 * The offline scoring path end to end: a classifier trained on the embedded digits (held-out accuracy
 * logged), then FID / KID / IS of a DCGAN run against MNIST in the classifier's feature space.
 * 800 steps at half width reach about 97% here; the default (wider, 2000 steps) about 97.8%.
 */
test('gantry train classifier, then eval fid/kid/prc/is --features scores a DCGAN run against MNIST (a colour one in grey)', () => {
  const dir = tempDir();
  const clf = join(dir, 'C');
  const config = join(dir, 'c.json');
  writeFileSync(config, JSON.stringify({ model: { width: 32, features: 128 } })); // half width: faster for CI
  const t = gantry('train', 'classifier', '--data', 'mnist', '--config', config, '--steps', '800', '--batch', '64', '--out', clf, '--quiet');
  assert.equal(t.code, 0, t.stderr);
  const acc = readFileSync(join(clf, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((r) => 'testAccuracy' in r).pop().testAccuracy;
  assert.ok(acc > 0.95, `held-out accuracy ${acc}`);
  // A classifier draws no images: the explore commands say so, whatever their flags.
  for (const args of [['sample'], ['interpolate', '--seeds', '1,2'], ['arith', '--expr', 'seed:1 + seed:2']]) {
    assert.match(gantry(...args, '--run', clf, '--out', join(dir, 'x.png')).stderr, /^gantry \w+: this run \(classifier\) does not generate images\n$/, args.join(' '));
  }
  const run = join(dir, 'R');
  const g = gantry('train', 'dcgan', '--steps', '30', '--batch', '16', '--out', run, '--seed', '1', '--quiet');
  assert.equal(g.code, 0, g.stderr);
  const fid = gantry('eval', 'fid', '--real', 'mnist', '--fake', run, '--features', clf, '--n', '300', '--quiet');
  assert.equal(fid.code, 0, fid.stderr);
  assert.ok(fid.json.value > 0 && Number.isFinite(fid.json.value));
  assert.equal(fid.json.n_real, 300);
  // The same real images against themselves score 0; a 30-step generator is far from them.
  const self = gantry('eval', 'fid', '--real', 'mnist', '--fake', 'mnist', '--features', clf, '--n', '300', '--quiet');
  assert.ok(Math.abs(self.json.value) < 1e-6 * fid.json.value, `self FID ${self.json.value}`);
  const kid = gantry('eval', 'kid', '--real', 'mnist', '--fake', run, '--features', clf, '--n', '300', '--subsets', '10', '--quiet');
  assert.equal(kid.code, 0, kid.stderr);
  assert.ok(kid.json.mean > 0);
  // Precision and recall tell quality from diversity where FID gives one number. Real digits against others
  // of their own: 1 throughout. Digits 0-4 only: real images (precision high) that reach about half of the
  // real ones (recall). The 30-step generator draws near-identical blobs: they reach no real digit (recall),
  // and density and coverage see through the one real outlier whose wide ball holds them all (precision).
  const prc = (fake: string, ...more: string[]) => {
    const r = gantry('eval', 'prc', '--real', 'mnist', '--fake', fake, '--features', clf, '--n', '300', '--quiet', ...more);
    assert.equal(r.code, 0, r.stderr);
    return r.json;
  };
  const same = prc('mnist');
  assert.deepEqual([same.precision, same.recall, same.density, same.coverage, same.n_real, same.neighborhood], [1, 1, 1, 1, 300, 3]);
  const half = prc('mnist?classes=0,1,2,3,4');
  assert.ok(half.precision > 0.85 && half.recall < 0.7 && half.coverage < 0.7, JSON.stringify(half));
  const early = prc(run, '--neighborhood', '5');
  assert.ok(early.recall < 0.1 && early.coverage < 0.1 && early.density < 0.5, JSON.stringify(early));
  assert.equal(early.neighborhood, 5);
  // A --n the data cannot give: all of it is scored, and said; a run draws as many as asked.
  const fewer = gantry('eval', 'fid', '--real', 'shapes:40', '--fake', run, '--features', clf, '--n', '60', '--quiet');
  assert.equal(fewer.code, 0, fewer.stderr);
  assert.deepEqual([fewer.json.n_real, fewer.json.n_fake], [40, 60]);
  assert.deepEqual(fewer.stderr.split('\n').filter((l) => l.startsWith('note:')), ['note: --n 60, but shapes:40 has 40 images: all 40 were scored']);
  assert.ok(!fid.stderr.includes('note:'), fid.stderr);
  // A 64x64 colour run scored in a 32x32 grey classifier's features: its images are fitted (grey, smaller) as a
  // folder of them is (the same images, written by sample: eval draws seeds 1,000,000 on, 50 at once as sample
  // does), so the FIDs agree.
  const colour = join(dir, 'RGB');
  const size64 = join(dir, '64.json');
  writeFileSync(size64, JSON.stringify({ model: { imageSize: 64 } }));
  assert.equal(gantry('train', 'dcgan', '--data', 'shapes:64', '--config', size64, '--steps', '10', '--batch', '16', '--out', colour, '--quiet').code, 0);
  const drawn = join(dir, 'drawn');
  const sampled = gantry('sample', '--run', colour, '--seed', '1000000', '--n', '50', '--out', drawn);
  assert.equal(sampled.code, 0, sampled.stderr);
  const ofRun = gantry('eval', 'fid', '--real', 'mnist', '--fake', colour, '--features', clf, '--n', '50', '--quiet');
  assert.equal(ofRun.code, 0, ofRun.stderr);
  // 50 images, 128-d features: the small-sample warning, whose remedy is more images (a classifier has one feature size).
  assert.match(ofRun.stderr, /warning: 50 fake images but 128-d features.* Compare FIDs only at the same N and feature dimension; more images \(--n\) give a less biased score\n/);
  const ofFiles = gantry('eval', 'fid', '--real', 'mnist', '--fake', `folder:${drawn}`, '--features', clf, '--n', '50', '--quiet');
  assert.equal(ofFiles.code, 0, ofFiles.stderr);
  assert.ok(ofRun.json.value > 0 && ofRun.json.value === ofFiles.json.value, `${ofRun.json.value} vs ${ofFiles.json.value}`);
  // A run's eval section given statistics of another network, or another size, is refused before it trains;
  // its own network's statistics are taken.
  const evalConfig = join(dir, 'eval.json');
  const refused = join(dir, 'refused');
  const otherNetwork = join(dir, 'other-network.npz');
  writeStatsFile(otherNetwork, { mu: new Float64Array(128), sigma: new Float64Array(128 * 128), n: 10, features: 'classifier-000000000000' });
  const otherSize = join(dir, 'other-size.npz');
  writeStatsFile(otherSize, { mu: new Float64Array(64), sigma: new Float64Array(64 * 64), n: 10 });
  const own = join(dir, 'own.npz');
  assert.equal(gantry('eval', 'stats', 'mnist', '--features', clf, '--n', '300', '--out', own, '--quiet').code, 0);
  for (const [file, why] of [[otherNetwork, /two different feature networks \(classifier-000000000000 and classifier-[0-9a-f]{12}\)/], [otherSize, /different dimensions \(64 and 128\)/]] as const) {
    writeFileSync(evalConfig, JSON.stringify({ eval: { fid: { n: 50, features: clf, real: file }, every: 5 } }));
    const r = gantry('train', 'dcgan', '--config', evalConfig, '--steps', '10', '--batch', '16', '--out', refused, '--quiet');
    assert.equal(r.code, 1, r.stderr);
    assert.ok(r.stderr.startsWith(`gantry train: eval.fid.real ${file}: `), r.stderr);
    assert.match(r.stderr, why);
    assert.ok(!existsSync(refused), 'no run folder is left');
  }
  writeFileSync(evalConfig, JSON.stringify({ eval: { fid: { n: 50, features: clf, real: own }, every: 5 } }));
  const scored = gantry('train', 'dcgan', '--config', evalConfig, '--steps', '10', '--batch', '16', '--out', refused, '--quiet');
  assert.equal(scored.code, 0, scored.stderr);
  const fids = readFileSync(join(refused, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((r) => 'fid' in r);
  assert.deepEqual(fids.map((r) => r.step), [5, 10]);
  const is = gantry('eval', 'is', '--fake', 'mnist', '--features', clf, '--n', '1000', '--quiet');
  assert.equal(is.code, 0, is.stderr);
  // Real digits are confidently classified into 10 balanced classes: IS close to 10.
  assert.ok(is.json.mean > 7, `IS of real digits ${is.json.mean}`);
});
