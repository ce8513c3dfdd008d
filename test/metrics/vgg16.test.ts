import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gantryCli, relError, setup, tempDir, tf } from '../helpers.ts';
import { Vgg16Fc2 } from '../../src/metrics/vgg16.ts';
import { vgg16Extractor } from '../../src/metrics/features.ts';
import { extractFeatures } from '../../src/metrics/evaluate.ts';
import { fidExtractor } from '../../src/metrics/scores.ts';
import { fidSchema } from '../../src/train/run-config.ts';
import { precisionRecall } from '../../src/api/index.ts';

await setup();
const golden = join(dirname(fileURLToPath(import.meta.url)), '..', 'golden');
const weights = join(golden, 'vgg16_w16.pth');
const g = JSON.parse(readFileSync(join(golden, 'vgg16_golden.json'), 'utf8'));

test("the full-size network has exactly the tensors of torchvision's vgg16 that torch-fidelity keeps (all but classifier.6)", () => {
  const torchNames: [string, number[]][] = JSON.parse(readFileSync(join(golden, 'vgg16_full_names.json'), 'utf8'));
  const expected = torchNames.filter(([n]) => !n.startsWith('classifier.6.'));
  const net = new Vgg16Fc2();
  // gantry's layout back to PyTorch's: conv [kh, kw, in, out] -> [out, in, kh, kw], linear [in, out] -> [out, in].
  const torchShape = (s: number[]) => (s.length === 4 ? [s[3], s[2], s[0], s[1]] : s.length === 2 ? [s[1], s[0]] : s);
  const got = net.params.named().map(([name, v]) => [name, torchShape(v.shape)] as [string, number[]]);
  net.dispose();
  assert.deepEqual(new Map(got), new Map(expected));
  assert.equal(net.dim, 4096);
});

/**
 * torch-fidelity's VGG-16 pipeline at 1/16 width with seeded weights (test/golden/make_vgg16.py): the
 * TF1-style resize to 224 (up from 32x32 and 28x28 grey, down from 230x260), ImageNet normalisation,
 * the 13 convolutions, the NCHW flatten and two linear layers. Tolerance 1e-4 of the largest value.
 */
test("VGG-16 fc2_relu features match torch-fidelity's pipeline in PyTorch (resize, normalisation, flatten order)", () => {
  const net = Vgg16Fc2.load(weights);
  const tensors = tf.memory().numTensors;
  for (const img of g.images) {
    const [c, h, w] = img.shape_chw as number[];
    const bytes = Buffer.from(img.data_base64, 'base64');
    const got = tf.tidy(() => {
      const chw = tf.tensor3d(Float32Array.from(bytes), [c, h, w]);
      return net.apply(tf.div(tf.expandDims(tf.transpose(chw, [1, 2, 0]), 0), 255) as tf.Tensor4D);
    });
    assert.deepEqual(got.shape, [1, g.images[0].fc2_relu.length]);
    const err = relError(got.dataSync(), img.fc2_relu);
    got.dispose();
    assert.ok(err < 1e-4, `image ${c}x${h}x${w}: relative error ${err}`);
  }
  assert.equal(tf.memory().numTensors, tensors);
  net.dispose();
});

test('a folder of PNGs of mixed sizes, read at their own sizes as torch-fidelity reads files: the same features', async () => {
  const extractor = vgg16Extractor(weights);
  const tensors = tf.memory().numTensors;
  const got = await extractFeatures({ kind: 'data', spec: `folder:${join(golden, 'folder_mixed')}` }, extractor, { n: 100, quiet: true });
  assert.equal(tf.memory().numTensors, tensors);
  extractor.dispose();
  assert.equal(got.n, g.folder_mixed.files.length);
  assert.equal(got.dim, 64);
  const err = relError(got.features, (g.folder_mixed.fc2_relu as number[][]).flat());
  assert.ok(err < 1e-4, `relative error ${err}`);
});

test('gantry eval prc --vgg16 scores on these features, as the Node API does; IS, two networks at once and files that are no VGG-16 are refused, each in one line', async () => {
  const folder48 = `folder:${join(golden, 'folder48')}`;
  const mixed = `folder:${join(golden, 'folder_mixed')}`;
  const r = gantryCli(['eval', 'prc', '--real', folder48, '--fake', mixed, '--vgg16', weights, '--quiet']);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.match(out.features, /^vgg16-[0-9a-f]{12}-fc2_relu$/);
  for (const key of ['precision', 'recall', 'density', 'coverage']) assert.ok(Number.isFinite(out[key]), `${key}: ${out[key]}`);
  assert.equal(out.n_real, 24);
  assert.equal(out.n_fake, 6);
  const api = await precisionRecall({ real: folder48, fake: mixed, vgg16: weights, quiet: true });
  for (const key of ['precision', 'recall', 'density', 'coverage'] as const) assert.equal(api[key], out[key], key);

  const broken = join(tempDir(), 'vgg16.pth');
  writeFileSync(broken, readFileSync(join(golden, 'inception_w8.pth')));
  for (const [args, message] of [
    [['is', '--fake', mixed, '--vgg16', weights], /^gantry eval: the Inception Score needs class logits, which vgg16-[0-9a-f]+-fc2_relu does not give; give Inception weights \(--weights\) or a classifier run \(--features\)\n$/],
    [['prc', '--real', folder48, '--fake', mixed, '--vgg16', weights, '--weights', join(golden, 'inception_w8.pth')], /^gantry eval: give one network for the features: Inception weights \(--weights, --feature-dim\), VGG-16 weights \(--vgg16\) or a classifier run \(--features\), not two\n$/],
    [['prc', '--real', folder48, '--fake', mixed, '--vgg16', join(golden, 'absent.pth')], /^gantry eval: VGG-16 weights .*absent\.pth not found; get torchvision's VGG-16 weights \(vgg16-397923af\.pth/],
    [['prc', '--real', folder48, '--fake', mixed, '--vgg16', broken], /^gantry eval: .*vgg16\.pth is not a VGG-16 state dict \(no features\.0\.weight of 64 filters, or no classifier\.0\.weight\); give torchvision's VGG-16 weights/],
  ] as const) {
    const bad = gantryCli(['eval', ...args]);
    assert.equal(bad.code, 1, bad.stdout);
    assert.match(bad.stderr, message);
  }
});

test("a run config's eval.fid takes vgg16 too, and refuses it beside weights, naming the config's fields", () => {
  const extractor = fidExtractor(fidSchema.parse({ vgg16: weights }), 'eval.fid');
  assert.match(extractor.id, /^vgg16-/);
  extractor.dispose();
  assert.throws(() => fidExtractor(fidSchema.parse({ vgg16: weights, weights: join(golden, 'inception_w8.pth') }), 'eval.fid'),
    /give one network for the features: Inception weights \(eval\.fid\.weights, eval\.fid\.featureDim\), VGG-16 weights \(eval\.fid\.vgg16\) or a classifier run \(eval\.fid\.features\), not two/);
});
