import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { setup, tempDir } from '../helpers.ts';
import { openPretrained, readFeaturesFile } from '../../src/explore/pretrained.ts';
import { pretrainedFiles } from '../../src/export/export-run.ts';
import { mapTensor } from '../../src/data/label-maps.ts';
import { encodeNpy } from '../../src/io/npy.ts';
import { buildGenerator } from '../../src/web/generator.ts';
import { labelMapsOf } from '../../src/explore/conditions.ts';
import { encodedStyles, randomStyles, styleFeatures } from '../../src/explore/instance-styles.ts';
import { drawImages } from '../../src/explore/render.ts';
import { levelsOff, readPix2PixHDGolden } from '../golden/pix2pixhd-maps.ts';

await setup();

const golden = join(dirname(fileURLToPath(import.meta.url)), '..', 'golden');
const g = readPix2PixHDGolden();
const [n, h, w] = g.size;
/** make_pix2pixhd_features.py: the generator read its features at centre label % 3 of each label. */
const fg = JSON.parse(readFileSync(join(golden, 'pix2pixhd_features_golden.json'), 'utf8')) as { featNum: number; picks: Record<string, number>; features: number[]; fake: { data: number[] } };
const features = join(golden, 'pix2pixhd_features_clustered.npy');

test('readFeaturesFile: encode_features.py\'s features_clustered file (np.save of a dict, pickle protocol 3 or 2) as styles; other files are one line', () => {
  const styles = readFeaturesFile(features, 6);
  assert.equal(styles.featNum, 3);
  assert.deepEqual(Object.keys(styles.clusters), ['0', '1', '2', '3', '4', '5']);
  assert.deepEqual(Object.values(styles.clusters).map((c) => c.length), [1, 2, 3, 1, 2, 3], 'k = 1 + label % 3');
  // The features golden holds, per pixel, the centre picked for its label: the first pixel's is label 0's only centre.
  assert.deepEqual(styles.clusters[g.labels[0]][fg.picks[g.labels[0]]].map((v) => Math.fround(v)), fg.features.slice(0, 3).map((v) => Math.fround(v)));
  assert.deepEqual(readFeaturesFile(join(golden, 'pix2pixhd_features_clustered_p2.npy'), 6), styles, 'the same from an older NumPy\'s protocol 2');
  const dir = tempDir();
  const plain = join(dir, 'plain.npy');
  writeFileSync(plain, encodeNpy({ shape: [2, 3], data: new Float64Array(6) }));
  const cut = join(dir, 'cut.npy');
  writeFileSync(cut, readFileSync(features).subarray(0, 400));
  const cases: [string, number, RegExp][] = [
    [features, 4, /has styles of label 4, past --label-nc 4; give the --label-nc the generator was trained with/],
    [join(golden, 'stats_a.npz'), 6, /stats_a\.npz is not a \.npy array \(bad magic\); give the features_clustered_NNN\.npy that encode_features\.py wrote/],
    [plain, 6, /plain\.npy is not pix2pixHD's clustered features \(a dict of each label's centres\); give the features_clustered_NNN\.npy that encode_features\.py wrote/],
    [cut, 6, /cut\.npy: cannot read the Python objects it holds: pickle ended without STOP \(truncated\?\)/],
    [join(dir, 'none.npy'), 6, /cannot read .*none\.npy: no such file or folder; check the path$/],
  ];
  for (const [path, labelNc, message] of cases) assert.throws(() => readFeaturesFile(path, labelNc), message);
});

test('a generator of NVIDIA\'s code with instance features: G reads the clustered styles as PyTorch does (export included), E (latest_net_E.pth) encodes photos as PyTorch does, and exported with G gives the page a photo\'s styles', async () => {
  const pretrained = openPretrained({ weights: join(golden, 'pix2pixhd_G_feat.pth'), labelNc: 6, height: h, width: w, features, encoder: join(golden, 'pix2pixhd_E.pth') });
  try {
    const c = pretrained.info.conditioning;
    assert.deepEqual(c.kind === 'labelMap' && [c.featNum, c.instances], [3, true]);
    const before = tf.memory().numTensors;
    const encoded = tf.tidy(() => pretrained.model.encodeFeatures(tf.tensor4d(g.real, [n, h, w, 3]), mapTensor(Int32Array.from(g.instances), n, h, w)));
    const got = encoded.dataSync();
    encoded.dispose();
    const worst = g.encoded.data.reduce((m, v, i) => Math.max(m, Math.abs(v - got[i])), 0);
    assert.ok(worst < 1e-5, `E's features off by ${worst}`);
    assert.equal(tf.memory().numTensors, before);
  } finally {
    pretrained.model.dispose();
  }

  // Exported (what the page and the studio draw with): the styles travel in model.json, E stays out.
  const { model, weights } = await pretrainedFiles({ source: { weights: join(golden, 'pix2pixhd_G_feat.pth'), labelNc: 6, height: h, width: w, features }, examples: {} });
  assert.deepEqual([model.networks, model.styles?.featNum], [['G'], 3]);
  const web = buildGenerator(JSON.parse(JSON.stringify(model)), weights); // as the page reads the files
  try {
    const area = h * w;
    const maps = Array.from({ length: n }, (_, i) => ({ width: w, height: h, labels: Int32Array.from(g.labels.slice(i * area, (i + 1) * area)), instances: Int32Array.from(g.instances.slice(i * area, (i + 1) * area)) }));
    // Every instance at its label's picked centre, chosen by instance id as the painter chooses.
    const choose = Object.fromEntries(g.instances.map((id) => [id, fg.picks[id < 1000 ? id : Math.floor(id / 1000)]]));
    const drawn = await web.generate({ labelMaps: maps, styles: { choose } });
    for (let i = 0; i < n; i++) {
      const worst = levelsOff(drawn.pixels.subarray(i * area * drawn.channels, (i + 1) * area * drawn.channels), drawn.channels, fg.fake, i, area);
      assert.ok(worst <= 1, `map ${i}: off by ${worst} levels from PyTorch's image`);
    }
  } finally {
    web.dispose();
  }

  // Exported with its encoder (export --encoder), the page takes a photo's styles as translate --style-from does.
  const encoder = join(golden, 'pix2pixhd_E.pth');
  const withE = await pretrainedFiles({ source: { weights: join(golden, 'pix2pixhd_G_feat.pth'), labelNc: 6, height: h, width: w, features, encoder }, examples: {} });
  assert.deepEqual(withE.model.networks, ['G', 'E']);
  const webE = buildGenerator(JSON.parse(JSON.stringify(withE.model)), withE.weights);
  const translate = openPretrained({ weights: join(golden, 'pix2pixhd_G_feat.pth'), labelNc: 6, height: h, width: w, features, encoder });
  try {
    assert.ok(webE.encodesPhotos);
    const area = h * w;
    const map = { width: w, height: h, labels: Int32Array.from(g.labels.slice(0, area)), instances: Int32Array.from(g.instances.slice(0, area)) };
    const photo = { width: w, height: h, channels: 3, data: Uint8Array.from(g.real.slice(0, area * 3), (v) => Math.round((v + 1) * 127.5)) };
    const drawn = await webE.generate({ labelMaps: [map], styles: { photo } });
    const images = tf.tensor4d(Float32Array.from(photo.data, (v) => v / 127.5 - 1), [1, h, w, 3]);
    const maps = await encodedStyles(translate, labelMapsOf(translate.info, [map]), images);
    images.dispose();
    const want = new Uint8Array(area * 3);
    await drawImages(translate, [new Float32Array(0)], { kind: 'labelMap', maps }, (pixels, first) => want.set(pixels, first * area * 3));
    assert.deepEqual(drawn.pixels, want);
  } finally {
    webE.dispose();
    translate.model.dispose();
  }
});

test('a generator of NVIDIA\'s code trained with --label_feat (labelFeat): a photo\'s styles and the learned ones are one per label region, in translate and in the page', async () => {
  const source = { weights: join(golden, 'pix2pixhd_G_feat.pth'), labelNc: 6, height: h, width: w, features, encoder: join(golden, 'pix2pixhd_E.pth') };
  const byLabel = openPretrained({ ...source, labelFeat: true });
  const byInstance = openPretrained(source);
  const area = h * w;
  const map = { width: w, height: h, labels: Int32Array.from(g.labels.slice(0, area)), instances: Int32Array.from(g.instances.slice(0, area)) };
  // The golden map's labels hold two instances each (label * 1000 + 0 or 1).
  const split = [...new Set(map.instances)].filter((id) => map.instances.includes(Math.floor(id / 1000) * 1000 + 1 - (id % 1000)));
  assert.ok(split.length > 0, 'a label with two instances');
  const images = tf.tensor4d(g.real.slice(0, area * 3), [1, h, w, 3]);
  try {
    const c = byLabel.info.conditioning;
    assert.deepEqual(c.kind === 'labelMap' && [c.featNum, c.instances, c.labelFeat], [3, true, true]);
    // E pools over the label map, not the instance map; the edge channel still comes from the instances.
    const maps = labelMapsOf(byLabel.info, [map]);
    const photo = await encodedStyles(byLabel, maps, images);
    const pooled = tf.tidy(() => byLabel.model.encodeFeatures(images, mapTensor(map.labels, 1, h, w)));
    assert.deepEqual(photo.features, pooled.dataSync());
    pooled.dispose();
    assert.notDeepEqual(photo.features, (await encodedStyles(byInstance, labelMapsOf(byInstance.info, [map]), images)).features);
    const at = (id: number) => map.instances.indexOf(id) * 3;
    const [one, other] = [split[0], Math.floor(split[0] / 1000) * 1000 + 1 - (split[0] % 1000)];
    assert.deepEqual(photo.features!.slice(at(one), at(one) + 3), photo.features!.slice(at(other), at(other) + 3), 'one feature a label');
  } finally {
    images.dispose();
    byInstance.model.dispose();
  }

  // Exported with --label-feat, the page picks a style a label region, by label id, as translate does.
  const { model, weights } = await pretrainedFiles({ source: { ...source, encoder: undefined, labelFeat: true }, examples: {} });
  const web = buildGenerator(JSON.parse(JSON.stringify(model)), weights);
  try {
    const p = map.instances.indexOf(split[0]);
    assert.deepEqual(web.objectAt(map, p % w, Math.floor(p / w)), { id: map.labels[p], label: map.labels[p] });
    const drawn = await web.generate({ labelMaps: [map], styles: { seed: 7 } });
    const want = new Uint8Array(area * 3);
    const maps = styleFeatures(labelMapsOf(byLabel.info, [map]), byLabel.styles!, randomStyles(7), true);
    await drawImages(byLabel, [new Float32Array(0)], { kind: 'labelMap', maps }, (pixels) => want.set(pixels));
    assert.deepEqual(drawn.pixels, want);
  } finally {
    web.dispose();
    byLabel.model.dispose();
  }
  assert.throws(() => openPretrained({ ...source, features: undefined, encoder: undefined, labelFeat: true }), /--label-feat: .*pix2pixhd_G_feat\.pth is drawn without instance features here; --label-feat goes with a generator trained with --label_feat, given its clustered features \(--features\) or its encoder \(--encoder\)/);
});
