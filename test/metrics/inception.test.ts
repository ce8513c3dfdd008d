import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setup, tempDir, tf } from '../helpers.ts';
import { readStateDict, readTorchStateDict, stateDictKey } from '../../src/io/torch.ts';
import { writeSafetensors } from '../../src/io/safetensors-file.ts';
import { InceptionV3, inceptionStateDictShapes, type FeatureDim } from '../../src/metrics/inception.ts';
import { inceptionExtractor } from '../../src/metrics/features.ts';
import { parseEvalInput, statsFor } from '../../src/metrics/evaluate.ts';
import { readStatsFile } from '../../src/metrics/stats-file.ts';
import { frechetDistance } from '../../src/metrics/frechet.ts';

await setup();
const golden = join(dirname(fileURLToPath(import.meta.url)), '..', 'golden');

test('the full-size network loads exactly the tensors of pytorch-fid\'s state dict', () => {
  const torchNames: [string, number[]][] = JSON.parse(readFileSync(join(golden, 'inception_full_names.json'), 'utf8'));
  const expected = torchNames.filter(([n]) => !n.endsWith('num_batches_tracked'));
  assert.deepEqual(new Map(inceptionStateDictShapes(1)), new Map(expected));
});

/**
 * pytorch-fid's Inception at 1/8 width with seeded random weights (test/golden/make_inception.py),
 * loaded from its legacy-format .pth: features of every block and the logits must match PyTorch's
 * for a CIFAR-sized RGB image, an MNIST-sized grey one and a 320x300 one (resize path included).
 * Tolerance: 1e-4 relative to the largest feature value.
 */
test('Inception features and logits match PyTorch (pytorch-fid layout, resize and scaling included)', () => {
  const g = JSON.parse(readFileSync(join(golden, 'inception_golden.json'), 'utf8'));
  const net = new InceptionV3(readTorchStateDict(join(golden, 'inception_w8.pth')), 'inception_w8.pth', g.width);
  for (const img of g.images) {
    const [c, h, w] = img.shape_chw;
    const out = tf.tidy(() => {
      const chw = tf.tensor3d(img.data, [c, h, w]);
      const x = tf.div(tf.expandDims(tf.transpose(chw, [1, 2, 0]), 0), 255) as tf.Tensor4D;
      const r = net.apply(x, [64, 192, 768, 2048], true);
      return [r.features[64]!, r.features[192]!, r.features[768]!, r.features[2048]!, r.logitsUnbiased!];
    });
    const fcBias = readTorchStateDict(join(golden, 'inception_w8.pth')).get('fc.bias')!.data;
    const names: (FeatureDim | 'logits')[] = [64, 192, 768, 2048, 'logits'];
    names.forEach((name, i) => {
      const got = out[i].dataSync();
      const want: number[] = name === 'logits' ? img.logits.map((v: number, k: number) => v - fcBias[k]) : img[`f${name}`];
      assert.equal(got.length, want.length, `${name} length`);
      let scale = 0, err = 0;
      for (let k = 0; k < want.length; k++) {
        scale = Math.max(scale, Math.abs(want[k]));
        err = Math.max(err, Math.abs(got[k] - want[k]));
      }
      assert.ok(err / scale < 1e-4, `image ${c}x${h}x${w} ${name}: relative error ${err / scale}`);
    });
    tf.dispose(out);
  }
  net.dispose();
});

test('on the CPU a large batch goes through Inception a few images at a time: the same bits as one forward of the whole batch, tensors flat', async () => {
  const path = join(golden, 'inception_w8.pth');
  const extractor = inceptionExtractor(path, 2048);
  const whole = new InceptionV3(readTorchStateDict(path), 'inception_w8.pth', 8);
  const images = tf.tensor4d(Float32Array.from({ length: 19 * 24 * 24 * 3 }, (_, k) => (Math.sin(k * 0.37) + 1) / 2), [19, 24, 24, 3]);
  const before = tf.memory().numTensors;
  const chunked = extractor.extract(images, true);
  const reference = whole.apply(images, [2048], true);
  assert.deepEqual(chunked.features.shape, [19, 256]);
  assert.deepEqual(await chunked.features.data(), await reference.features[2048]!.data());
  assert.deepEqual(await chunked.logits!.data(), await reference.logitsUnbiased!.data());
  const featuresOnly = extractor.extract(images, false);
  assert.equal(featuresOnly.logits, undefined);
  assert.deepEqual(await featuresOnly.features.data(), await chunked.features.data());
  // Three forwards of at most 8 images: three times the convolutions of one.
  const convolutions = async (f: () => tf.Tensor) => (await tf.profile(() => void f().dispose())).kernels.filter((k) => k.name.includes('Conv2D')).length;
  assert.equal(await convolutions(() => extractor.extract(images, false).features), 3 * await convolutions(() => whole.apply(images, [2048]).features[2048]!));
  tf.dispose([chunked.features, chunked.logits!, reference.features[2048]!, reference.logitsUnbiased!, featuresOnly.features]);
  assert.equal(tf.memory().numTensors, before, 'no tensor left behind');
  images.dispose();
  extractor.dispose();
  whole.dispose();
});

test('a .pth in the zip format of torch >= 1.6 reads too (strided, half and integer tensors)', () => {
  const sd = readTorchStateDict(join(golden, 'tiny_zip.pth'));
  assert.deepEqual(sd.get('layer.weight')!.shape, [3, 4]);
  assert.ok(Math.abs(sd.get('layer.weight')!.data[5] - 5 / 7) < 1e-6);
  assert.deepEqual(Array.from(sd.get('layer.bias')!.data), [1.5, -2, 0.25]);
  assert.deepEqual(Array.from(sd.get('transposed')!.data), [1, 4, 2, 5, 3, 6]);
  assert.deepEqual(Array.from(sd.get('half')!.data), [0.5, -3]);
  assert.deepEqual(Array.from(sd.get('bn.num_batches_tracked')!.data), [42]);
  // Row-major float32 tensors are views of the bytes read, not copies: of the whole archive for the zip format,
  assert.ok(['layer.bias', 'layer.weight'].every((n) => sd.get(n)!.data.buffer.byteLength === statSync(join(golden, 'tiny_zip.pth')).size), 'views of the archive');
  // and of their own storage's bytes for the legacy format, read into an array each: the file is never held whole.
  const weights = [...readTorchStateDict(join(golden, 'pix2pixhd_G.pth')).values()];
  assert.ok(weights.length > 10 && weights.every((t) => t.data.byteOffset === 0 && t.data.buffer.byteLength === t.data.byteLength), 'each tensor its storage');
  // Its pickles are read from the head of the file; a head too short for them grows until they fit.
  const fromShortHead = readTorchStateDict(join(golden, 'pix2pixhd_G.pth'), { legacyHeadBytes: 64 });
  assert.deepEqual([...fromShortHead.keys()], [...readTorchStateDict(join(golden, 'pix2pixhd_G.pth')).keys()]);
  assert.deepEqual([...fromShortHead.values()].map((t) => Array.from(t.data.subarray(0, 4))), weights.map((t) => Array.from(t.data.subarray(0, 4))));
});

test('a truncated .pth or a wrong file is reported with the fix', () => {
  const dir = tempDir();
  const bytes = readFileSync(join(golden, 'inception_w8.pth'));
  const cut = join(dir, 'cut.pth');
  writeFileSync(cut, bytes.subarray(0, bytes.length - 1000));
  assert.throws(() => readTorchStateDict(cut), /cut\.pth is not a readable PyTorch checkpoint .*truncated/);
  // Cut inside its pickles, read from a head of 64 bytes growing to the whole file: the same message.
  writeFileSync(cut, bytes.subarray(0, 600));
  assert.throws(() => readTorchStateDict(cut, { legacyHeadBytes: 64 }), /cut\.pth is not a readable PyTorch checkpoint .*truncated/);
  // Another kind of file, and an empty one.
  writeFileSync(cut, 'not weights\n');
  assert.throws(() => readTorchStateDict(cut), /^GantryError: .*cut\.pth is not a PyTorch checkpoint \(it starts with neither a zip archive's header nor a pickle's\); check that it is the \.pth file meant$/);
  writeFileSync(cut, '');
  assert.throws(() => readTorchStateDict(cut), /^GantryError: .*cut\.pth is empty; download it again$/);
  assert.throws(() => new InceptionV3(readTorchStateDict(join(golden, 'tiny_zip.pth')), 'tiny_zip.pth'), /tiny_zip\.pth has no tensor Conv2d_1a_3x3\.conv\.weight: it is not pytorch-fid's Inception weights/);
});

test('Inception weights in .safetensors (as safetensors.torch.save_file writes them) load the same network', () => {
  const sd = readTorchStateDict(join(golden, 'inception_w8.pth'));
  const path = join(tempDir(), 'w8.safetensors');
  writeSafetensors(path, Object.fromEntries([...sd].map(([k, t]) => [k, { shape: t.shape, data: t.data }])));
  const back = readStateDict(path);
  assert.deepEqual([...back.keys()].sort(), [...sd.keys()].sort());
  assert.deepEqual(back.get('Mixed_7c.branch_pool.conv.weight'), sd.get('Mixed_7c.branch_pool.conv.weight'));
  assert.equal(readStateDict(join(golden, 'inception_w8.pth')).size, sd.size); // .pth through the same entry point
  // The network's key (its id in statistics files) is the same in either format, and another for other weights.
  assert.equal(stateDictKey(back), stateDictKey(sd));
  const changed = new Map(sd);
  const last = sd.get('fc.weight')!;
  changed.set('fc.weight', { shape: last.shape, data: last.data.map((v, i) => (i === last.data.length - 1 ? v + 1 : v)) });
  assert.notEqual(stateDictKey(changed), stateDictKey(sd));
});

test('part of a state dict: only the tensors asked for are read, in each format, with the same values', () => {
  const mixed = (name: string) => name.startsWith('Mixed_7c.');
  const sd = readTorchStateDict(join(golden, 'inception_w8.pth'));
  const path = join(tempDir(), 'w8.safetensors');
  writeSafetensors(path, Object.fromEntries([...sd].map(([k, t]) => [k, { shape: t.shape, data: t.data }])));
  const want = [...sd].filter(([name]) => mixed(name));
  assert.ok(want.length > 5 && want.length < sd.size / 4);
  for (const file of [join(golden, 'inception_w8.pth'), path]) {
    const part = readStateDict(file, mixed);
    assert.deepEqual([...part.keys()].sort(), want.map(([name]) => name).sort(), file);
    for (const [name, t] of want) assert.deepEqual(part.get(name), t, `${file}: ${name}`);
  }
  // (The legacy file's storages passed over include int64 ones, BatchNorm's num_batches_tracked: each is
  // skipped by its own element size, or the kept tensors after it would read the wrong bytes.)
  const zip = readTorchStateDict(join(golden, 'tiny_zip.pth'), { keep: (name) => name === 'half' });
  assert.deepEqual([...zip.keys()], ['half']);
});

/**
 * FID statistics of folders read as pytorch-fid reads them: each PNG at its own size, resized to 299 in
 * float inside the network; folders of mixed sizes one image at a time (pytorch-fid --batch-size 1).
 * Golden: test/golden/make_folder_fid.py (the 1/8-width network above, 24 PNGs of 48x48 and 6 of
 * mixed sizes).
 */
test('FID statistics of a folder of 48x48 PNGs, and of mixed sizes, match pytorch-fid\'s', async () => {
  const cache = tempDir('gantry-cache-');
  process.env.GANTRY_CACHE = cache;
  const cases: [string, 64 | 2048][] = [['folder48', 64], ['folder48', 2048], ['folder_mixed', 64]];
  const figures: string[] = [];
  for (const [folder, dim] of cases) {
    const want = readStatsFile(join(golden, `${folder}_${dim}.npz`));
    const extractor = inceptionExtractor(join(golden, 'inception_w8.pth'), dim);
    const got = await statsFor(parseEvalInput(`folder:${join(golden, folder)}`), extractor, { n: 1000, quiet: true }, () => {});
    extractor.dispose();
    const rel = (a: Float64Array, b: Float64Array) => {
      let diff = 0, scale = 0;
      for (let i = 0; i < a.length; i++) {
        diff = Math.max(diff, Math.abs(a[i] - b[i]));
        scale = Math.max(scale, Math.abs(b[i]));
      }
      return diff / scale;
    };
    const [mu, sigma] = [rel(got.mu, want.mu), rel(got.sigma, want.sigma)];
    assert.ok(mu < 1e-5 && sigma < 1e-4, `${folder} (${dim}): mean off by ${mu.toExponential(1)}, covariance by ${sigma.toExponential(1)} (relative)`);
    figures.push(`${folder} ${dim}: mean ${mu.toExponential(1)}, covariance ${sigma.toExponential(1)}`);
  }
  console.log(`folder statistics against pytorch-fid (relative): ${figures.join('; ')}`);
});

/**
 * A folder of 4:2:0 JPEGs (test/golden/make_jpeg.py): pytorch-fid reads them through PIL, that is libjpeg;
 * gantry's decoding upsamples their chroma as libjpeg does, and differs only by libjpeg's IDCT's one level
 * on some samples. Read as jpeg-js alone reads them, the statistics were 90 times as far from pytorch-fid's.
 */
test('FID statistics of a folder of 4:2:0 JPEGs come within a hundredth of a between-folder FID of pytorch-fid\'s', async () => {
  process.env.GANTRY_CACHE = tempDir('gantry-cache-');
  const want = readStatsFile(join(golden, 'jpeg', 'folder48_2048.npz'));
  const extractor = inceptionExtractor(join(golden, 'inception_w8.pth'), 2048);
  const got = await statsFor(parseEvalInput(`folder:${join(golden, 'jpeg', 'folder48')}`), extractor, { n: 1000, quiet: true }, () => {});
  extractor.dispose();
  const apart = frechetDistance(got, want);
  // The scale: the PNG folder's statistics against these, two sets of 24 images of one kind.
  const between = frechetDistance(readStatsFile(join(golden, 'folder48_2048.npz')), want);
  assert.ok(apart < between / 100, `FID of gantry's statistics against pytorch-fid's ${apart.toExponential(2)}, between the two folders ${between.toExponential(2)}`);
  console.log(`JPEG folder: FID against pytorch-fid's statistics ${apart.toExponential(2)} (between folders: ${between.toExponential(2)})`);
});
