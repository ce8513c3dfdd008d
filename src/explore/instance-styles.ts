import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { Rng } from '../engine/rng.ts';
import { GantryError } from '../errors.ts';
import { areCityscapesNames, CITYSCAPES_OBJECT_IDS } from '../data/cityscapes.ts';
import { hasFeatureMaps, hasLabelMaps, type ImageDataset } from '../data/dataset.ts';
import { FEATURE_MAP_FOLDERS, featureValues } from '../data/feature-maps.ts';
import { makeBatch } from '../data/sampler.ts';
import { mapTensor } from '../data/label-maps.ts';
import { fittedPixels } from '../data/transform.ts';
import type { RawImage } from '../io/pixels.ts';
import { featuresByLabel } from '../models/condition.ts';
import type { Generator, LabelMaps } from './conditions.ts';

/**
 * pix2pixHD's learned styles (encode_features.py): the feature encoder's mean feature of every instance of
 * the training data, grouped by class and clustered (k-means, 10 per class), so a person can choose, per
 * object, among the looks its class had. Translate draws each instance's features from its class's
 * clusters; the styles live in the run folder (run-styles.ts) and in an exported page's model.
 */
/** Clusters a class (the official n_clusters). */
export const STYLE_CLUSTERS = 10;

export interface InstanceStyles {
  featNum: number;
  /** Per class id, its cluster centres ([k][featNum]). Classes with no large enough instance have none. */
  clusters: Record<string, number[][]>;
  /** Instances each class's clusters were learned from (not in NVIDIA's clustered features). */
  instances?: Record<string, number>;
}

/** InstanceStyles as a file holds them (styles.json, an export's model.json). */
export const stylesSchema = z.object({
  featNum: z.number().int().positive(),
  clusters: z.record(z.string().regex(/^\d+$/), z.array(z.array(z.number()))),
  instances: z.record(z.string(), z.number()).optional(),
}).refine((s) => Object.values(s.clusters).every((c) => c.every((centre) => centre.length === s.featNum)), 'every centre has featNum values');

/** Objects a class may have in one map, as Cityscapes numbers them (label * 1000 + k, k below 1000). */
const OBJECTS_PER_CLASS = 1000;

/** An instance id's class, as Cityscapes writes ids (label * 1000 + k for things, the label for stuff). */
export function instanceClass(id: number): number {
  return id < OBJECTS_PER_CLASS ? id : Math.floor(id / OBJECTS_PER_CLASS);
}

/**
 * The classes that stand as separate objects in instance maps: every class with an object id (label * 1000 + k)
 * in `maps`, and Cityscapes' countable classes where the labels are Cityscapes'. A painter paints each stroke of
 * such a class as an object of its own, with its own boundary and style.
 */
export function objectClasses(labelNames: string[], maps: { instances?: ArrayLike<number> | null }[]): number[] {
  const classes = new Set<number>(areCityscapesNames(labelNames) ? CITYSCAPES_OBJECT_IDS : []);
  for (const { instances } of maps) {
    for (let p = 0; p < (instances?.length ?? 0); p++) if (instances![p] >= OBJECTS_PER_CLASS) classes.add(instanceClass(instances![p]));
  }
  return [...classes].sort((a, b) => a - b);
}

/**
 * The id of a new object of class `label` in an instance map: label * 1000 + the smallest k no object of that
 * class has there, so it meets its neighbours, of its class or not, at an instance boundary.
 */
export function newInstanceId(instances: Int32Array, label: number): number {
  if (!(Number.isInteger(label) && label >= 1)) throw new GantryError(`label ${label} cannot be an object of its own: ids below 1000 are the regions of labels (label * 1000 + k numbers objects of labels from 1)`);
  const first = label * OBJECTS_PER_CLASS;
  const taken = new Uint8Array(OBJECTS_PER_CLASS);
  for (const id of instances) if (id >= first && id < first + OBJECTS_PER_CLASS) taken[id - first] = 1;
  const k = taken.indexOf(0);
  if (k < 0) throw new GantryError(`the map already has ${OBJECTS_PER_CLASS} objects of label ${label}, as many as instance ids can number`);
  return first + k;
}

/** The regions of label maps a model's instance features are pooled over and styled by, with each region's class. */
export interface FeatureRegions {
  /** Each pixel's region: an instance id, or a label id. */
  ids: Int32Array;
  classOf: (id: number) => number;
}

/**
 * The regions of `maps` for a model: its instances (Cityscapes' ids) where it pools per instance, else the
 * label regions (featuresByLabel: a model without instance maps, or trained with labelFeat).
 */
export function featureRegions(maps: { labels: Int32Array; instances?: Int32Array | null }, byLabel: boolean): FeatureRegions {
  if (byLabel || !maps.instances) return { ids: maps.labels, classOf: (id) => id };
  return { ids: maps.instances, classOf: instanceClass };
}

/** Images a batch when the encoder runs over the data. */
const ENCODE_BATCH = 8;

/** Some of the data's images (`indices`) with each pixel's object (`regions`) and features [n, H, W, featNum]. */
export interface ObjectFeatures {
  indices: number[];
  regions: FeatureRegions;
  values: Float32Array;
  featNum: number;
}

/**
 * The data ENCODE_BATCH images at a time with the features the run gives their objects: its encoder's
 * (pooled per object: constant over each), or for a run trained on precomputed feature maps
 * (model.loadFeatures) the data's maps. One clear error where the run has neither.
 */
export async function* objectFeatureBatches(run: Generator, data: ImageDataset): AsyncGenerator<ObjectFeatures> {
  const c = run.info.conditioning;
  const loaded = c.kind === 'labelMap' && c.loadFeatures === true;
  const encode = loaded ? undefined : run.model.encodeFeatures?.bind(run.model);
  if ((!encode && !loaded) || !hasLabelMaps(data)) throw new GantryError(`this ${run.info.family} run has no feature encoder to learn styles with`);
  if (loaded && !hasFeatureMaps(data)) throw new GantryError(`this ${run.info.family} run was trained on precomputed feature maps (model.loadFeatures) and learns its styles from them; ${data.name} has none (pairs:DIR with ${FEATURE_MAP_FOLDERS})`);
  const { height, width } = data;
  const byLabel = featuresByLabel(run.info);
  for (let first = 0; first < data.n; first += ENCODE_BATCH) {
    const indices = Array.from({ length: Math.min(ENCODE_BATCH, data.n - first) }, (_, i) => first + i);
    const batch = makeBatch(data, indices);
    const regions = featureRegions({ labels: batch.labelMaps!, instances: batch.instanceMaps }, byLabel);
    let values: Float32Array;
    if (encode) {
      const features = tf.tidy(() => encode(batch.images, mapTensor(regions.ids, indices.length, height, width)));
      values = (await features.data()) as Float32Array;
      features.dispose();
    } else {
      values = featureValues(batch.featureMaps!);
    }
    tf.dispose([batch.images, batch.labels ?? []]);
    yield { indices, regions, values, featNum: values.length / (indices.length * height * width) };
  }
}

/**
 * Every large instance's feature in the data, by class: an instance is kept where it covers more than
 * 1/64 of the image (the official filter, `num / (h * w / 32) > 0.5`). Its feature is the mean over the
 * instance of the features objectFeatureBatches gives.
 */
export async function collectInstanceFeatures(run: Generator, data: ImageDataset, onProgress?: (done: number) => void): Promise<Map<number, number[][]>> {
  const area = data.height * data.width;
  const byClass = new Map<number, number[][]>();
  for await (const { indices, regions, values, featNum: f } of objectFeatureBatches(run, data)) {
    for (let b = 0; b < indices.length; b++) {
      // Each region's pixel count and feature sums (float64: the mean of equal float32 values is that value).
      const sums = new Map<number, { count: number; sum: Float64Array }>();
      for (let p = b * area; p < (b + 1) * area; p++) {
        const id = regions.ids[p];
        let entry = sums.get(id);
        if (!entry) sums.set(id, (entry = { count: 0, sum: new Float64Array(f) }));
        entry.count++;
        for (let k = 0; k < f; k++) entry.sum[k] += values[p * f + k];
      }
      for (const [id, { count, sum }] of sums) {
        if (count <= area / 64) continue;
        const cls = regions.classOf(id);
        const list = byClass.get(cls) ?? [];
        list.push(Array.from(sum, (s) => Math.fround(s / count)));
        byClass.set(cls, list);
      }
    }
    onProgress?.(indices[indices.length - 1] + 1);
  }
  return byClass;
}

/**
 * k-means (k-means++ start, seeded) of each class's instance features: min(k, instances) centres a class.
 * ml-kmeans is loaded here, when styles are learnt, not by every command that imports this module.
 */
export async function clusterStyles(byClass: Map<number, number[][]>, featNum: number, k: number, seed: number): Promise<InstanceStyles> {
  const { kmeans } = await import('ml-kmeans');
  const clusters: Record<string, number[][]> = {};
  const instances: Record<string, number> = {};
  for (const [cls, points] of [...byClass].sort((a, b) => a[0] - b[0])) {
    const n = Math.min(k, points.length);
    clusters[cls] = n === points.length ? points.map((p) => p.slice()) : kmeans(points, n, { initialization: 'kmeans++', seed: seed + cls }).centroids;
    instances[cls] = points.length;
  }
  return { featNum, clusters, instances };
}

/** Which of its class's `clusters` styles instance `id` of class `cls` gets in image `image`. */
export type StylePick = (image: number, cls: number, clusters: number, id: number) => number;

/** A seeded random cluster per instance: the official test-time behaviour; variant v of image i has its own draw. */
export function randomStyles(seed: number, variant = 0): StylePick {
  const streams = new Map<number, Rng>();
  return (image, _cls, clusters) => {
    let rng = streams.get(image);
    if (!rng) streams.set(image, (rng = new Rng(seed, 'styles', image, variant)));
    return rng.int(clusters);
  };
}

/**
 * Per-pixel features of label maps from learned styles: every region (an instance, or a label's area where
 * the model's features are per label: featureRegions) at the centre `pick` chooses among its class's
 * clusters; regions of classes without clusters stay 0. Regions are visited in order of first appearance,
 * so a seeded pick is reproducible.
 */
export function styleFeatures(maps: LabelMaps, styles: InstanceStyles, pick: StylePick, byLabel: boolean): LabelMaps {
  const { n, height, width } = maps;
  const area = height * width;
  const f = styles.featNum;
  const { ids: regions, classOf } = featureRegions(maps, byLabel);
  const features = new Float32Array(n * area * f);
  for (let b = 0; b < n; b++) {
    const centre = new Map<number, number[] | null>();
    for (let p = 0; p < area; p++) {
      const id = regions[b * area + p];
      let value = centre.get(id);
      if (value === undefined) {
        const cls = classOf(id);
        const clusters = styles.clusters[cls];
        value = clusters?.length ? clusters[pick(b, cls, clusters.length, id)] : null;
        centre.set(id, value);
      }
      if (value) features.set(value, (b * area + p) * f);
    }
  }
  return { ...maps, features, featNum: f };
}

/**
 * encodedStyles of photos, one a map (8-bit images of any size, fitted to the generator's size as its training
 * images were): `translate --style-from` and the page's styles.photo.
 */
export async function photoStyles(run: Generator, maps: LabelMaps, photos: RawImage[]): Promise<LabelMaps> {
  const { height, width } = run.info;
  const images = tf.tensor4d(fittedPixels(photos, { height, width, channels: 3 }), [maps.n, height, width, 3]);
  try {
    return await encodedStyles(run, maps, images);
  } finally {
    images.dispose();
  }
}

/** Features of label maps taken from real images (`--style-from`): the encoder's instance means of each image. */
export async function encodedStyles(run: Generator, maps: LabelMaps, images: tf.Tensor4D): Promise<LabelMaps> {
  const encode = run.model.encodeFeatures?.bind(run.model);
  if (!encode) throw new GantryError(`this ${run.info.family} run has no feature encoder`);
  const regions = featureRegions(maps, featuresByLabel(run.info)).ids;
  const features = tf.tidy(() => encode(images, mapTensor(regions, maps.n, maps.height, maps.width)));
  const values = (await features.data()) as Float32Array;
  const featNum = features.shape[3];
  features.dispose();
  return { ...maps, features: values, featNum };
}
