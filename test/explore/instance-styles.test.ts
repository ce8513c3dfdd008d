import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clusterStyles, featureRegions, instanceClass, newInstanceId, objectClasses, randomStyles, styleFeatures, type InstanceStyles, type StylePick } from '../../src/explore/instance-styles.ts';
import { CITYSCAPES_LABELS } from '../../src/data/cityscapes.ts';
import type { LabelMaps } from '../../src/explore/conditions.ts';
import { Rng } from '../../src/engine/rng.ts';

test('instance ids map to classes as Cityscapes writes them', () => {
  assert.deepEqual([0, 7, 999, 1000, 26000, 26013].map(instanceClass), [0, 7, 999, 1, 26, 26]);
});

test('classes made of objects: those with object ids (label * 1000 + k) in the maps, Cityscapes\' countable ones by their names', () => {
  const maps = [{ instances: Int32Array.from([7, 26000, 26001, 23]) }, { instances: null }, { instances: Int32Array.from([3000, 7]) }];
  assert.deepEqual(objectClasses(['a', 'b'], maps), [3, 26], 'region ids (7, 23) are not objects');
  assert.deepEqual(objectClasses([], []), []);
  const cityscapes = CITYSCAPES_LABELS.map(([name]) => name);
  assert.deepEqual(objectClasses(cityscapes, []), [24, 25, 26, 27, 28, 29, 30, 31, 32, 33], 'person to bicycle');
  assert.deepEqual(objectClasses(cityscapes, [{ instances: Int32Array.from([11000]) }]), [11, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33]);
});

test('a new object\'s id: label * 1000 + the smallest k its class does not use in the map; label 0 and a full class refused', () => {
  const map = Int32Array.from([7, 26000, 26002, 25001, 26, 0]);
  assert.equal(newInstanceId(map, 26), 26001, 'the gap');
  assert.equal(newInstanceId(map, 25), 25000);
  assert.equal(newInstanceId(map, 7), 7000, 'the region 7 is not an object of 7');
  assert.equal(newInstanceId(Int32Array.from([26000, 26001]), 26), 26002);
  assert.throws(() => newInstanceId(map, 0), /label 0 cannot be an object of its own/);
  const full = Int32Array.from({ length: 1000 }, (_, k) => 3000 + k);
  assert.throws(() => newInstanceId(full, 3), /already has 1000 objects of label 3/);
});

test('k-means finds each class\'s groups of instance features (seeded, at most k centres)', async () => {
  const rng = new Rng(4);
  const around = (c: number[], n: number) => Array.from({ length: n }, () => c.map((v) => v + 0.05 * rng.normal()));
  const byClass = new Map<number, number[][]>([
    [26, [...around([1, 0, 0], 20), ...around([-1, 0, 0], 20), ...around([0, 1, 1], 20)]],
    [7, around([0, 0, -1], 2)],
  ]);
  const styles = await clusterStyles(byClass, 3, 3, 0);
  assert.deepEqual(Object.keys(styles.clusters).sort(), ['26', '7']);
  assert.equal(styles.clusters['7'].length, 2, 'fewer instances than k: every instance is a style');
  const centres = styles.clusters['26'].map((c) => c.map((v) => Math.round(v) + 0)).sort();
  assert.deepEqual(centres, [[-1, 0, 0], [0, 1, 1], [1, 0, 0]]);
  assert.deepEqual(await clusterStyles(byClass, 3, 3, 0), styles, 'the same seed, the same styles');
  assert.deepEqual(styles.instances, { 7: 2, 26: 60 });
});

test('styles become per-pixel features: each instance at its chosen centre, classes without styles at 0, seeded random picks', () => {
  // One 2x3 map: road (7) on the left, two cars (26000, 26001) on the right, sky (23, no styles).
  const maps: LabelMaps = { n: 1, height: 2, width: 3, labels: Int32Array.from([7, 26, 26, 23, 26, 26]), instances: Int32Array.from([7, 26000, 26001, 23, 26000, 26001]) };
  const styles: InstanceStyles = { featNum: 2, clusters: { 7: [[0.5, 0.5]], 26: [[1, 2], [3, 4], [5, 6]] }, instances: { 7: 1, 26: 3 } };
  const picked = styleFeatures(maps, styles, (_image, cls) => (cls === 26 ? 2 : 0), false);
  assert.deepEqual(Array.from(picked.features!), [0.5, 0.5, 5, 6, 5, 6, 0, 0, 5, 6, 5, 6]);
  assert.equal(picked.featNum, 2);
  const a = styleFeatures(maps, styles, randomStyles(3), false).features!;
  assert.deepEqual(styleFeatures(maps, styles, randomStyles(3), false).features, a, 'seeded');
  // Each car draws on its own: its two pixels agree.
  assert.deepEqual([a[2], a[3]], [a[8], a[9]]);
  assert.deepEqual([a[4], a[5]], [a[10], a[11]]);
  const variants = new Set(Array.from({ length: 8 }, (_, v) => styleFeatures(maps, styles, randomStyles(3, v), false).features!.join()));
  assert.ok(variants.size > 1, 'variants draw differently');
});

test('a model whose features are per label (labelFeat): one style a label region, however many instances it holds', () => {
  const maps: LabelMaps = { n: 1, height: 2, width: 3, labels: Int32Array.from([7, 26, 26, 23, 26, 26]), instances: Int32Array.from([7, 26000, 26001, 23, 26000, 26001]) };
  const styles: InstanceStyles = { featNum: 1, clusters: { 7: [[0.5]], 26: [[1], [2], [3], [4], [5], [6], [7], [8]] } };
  assert.deepEqual(Array.from(featureRegions(maps, true).ids), [7, 26, 26, 23, 26, 26]);
  assert.deepEqual(Array.from(featureRegions(maps, false).ids), Array.from(maps.instances!));
  assert.equal(featureRegions(maps, false).classOf(26001), 26);
  const seen = new Set<number>();
  const picks: StylePick = (_image, cls, _clusters, id) => { seen.add(id); return cls === 26 ? seen.size : 0; };
  const byLabel = styleFeatures(maps, styles, picks, true).features!;
  assert.deepEqual([...seen], [7, 26], 'a pick a label region, by label id (classes without styles get none)');
  assert.deepEqual(Array.from(byLabel), [0.5, 3, 3, 0, 3, 3]);
  seen.clear();
  const byInstance = styleFeatures(maps, styles, picks, false).features!;
  assert.deepEqual([...seen], [7, 26000, 26001]);
  assert.deepEqual(Array.from(byInstance), [0.5, 3, 4, 0, 3, 4], 'the two cars in their own styles');
});
