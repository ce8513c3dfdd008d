import { existsSync } from 'node:fs';
import { extname } from 'node:path';
import { GantryError } from '../errors.ts';
import { readIdMap } from '../io/id-map.ts';
import { readImageFile } from '../io/image.ts';
import { readNpyObject, type NpyArray } from '../io/npy.ts';
import { readStateDict } from '../io/torch.ts';
import { pix2pixhdFromTorch, type Pix2PixHD } from '../models/pix2pixhd.ts';
import type { Generator } from './conditions.ts';
import type { InstanceStyles } from './instance-styles.ts';
import { readStylesFile } from './run-styles.ts';

/**
 * A generator trained by NVIDIA's pix2pixHD code (`--weights latest_net_G.pth --label-nc N`), for the
 * commands that draw with it: translate, export and studio. Its size is the one its test script would draw
 * at: `height` x `width` when both are given, else the first label map's own size scaled to `width`.
 */
export interface PretrainedOptions {
  weights: string;
  labelNc: number;
  height?: number;
  width?: number;
  /** A label map (a picture, for a generator of pictures) whose size and aspect the drawing size follows when no height is given. */
  sizeOf?: string;
  /**
   * For a generator trained with instance features: its clustered features (encode_features.py's
   * features_clustered_010.npy, or the styles.json of `gantry features --weights`).
   */
  features?: string;
  /** Its feature encoder (latest_net_E.pth), which takes the styles of photos and learns styles from data. */
  encoder?: string;
  /** It was trained with --label_feat: its features are one per label region, not one per instance. */
  labelFeat?: boolean;
}

/**
 * pix2pixHD's clustered features (encode_features.py's features_clustered_NNN.npy: np.save of a dict,
 * label -> k-means centres [k, feat_num]) as gantry's styles.
 */
export function readClusteredFeatures(path: string): InstanceStyles {
  const fix = 'give the features_clustered_NNN.npy that encode_features.py wrote into the checkpoint folder';
  let value: unknown;
  try {
    value = readNpyObject(path);
  } catch (err) {
    // A file that is there but is not such an array: say which file it should be.
    throw err instanceof GantryError && existsSync(path) ? new GantryError(`${err.message}; ${fix}`) : err;
  }
  if (!(value instanceof Map) || value.size === 0) throw new GantryError(`${path} is not pix2pixHD's clustered features (a dict of each label's centres); ${fix}`);
  let featNum = 0;
  const clusters: Record<string, number[][]> = {};
  for (const [label, centres] of value) {
    const array = centres as NpyArray;
    if (typeof label !== 'number' || !Number.isInteger(label) || label < 0 || !array?.shape || array.shape.length !== 2) {
      throw new GantryError(`${path}: ${String(label)} is not a label with a [k, features] array of centres; ${fix}`);
    }
    const [k, f] = array.shape;
    if (featNum && f !== featNum) throw new GantryError(`${path}: label ${label}'s centres have ${f} features, others ${featNum}; ${fix}`);
    featNum = f;
    if (!array.data.every(Number.isFinite)) throw new GantryError(`${path}: label ${label}'s centres hold NaN or infinite values; ${fix}`);
    clusters[label] = Array.from({ length: k }, (_, i) => Array.from(array.data.subarray(i * f, (i + 1) * f)));
  }
  if (featNum === 0) throw new GantryError(`${path}: its centres have no features; ${fix}`);
  return { featNum, clusters };
}

/** A generator's styles from --features: NVIDIA's clustered features (.npy) or gantry's styles (.json). */
export function readFeaturesFile(path: string, labelNc: number): InstanceStyles {
  const styles = extname(path).toLowerCase() === '.json'
    ? readStylesFile(path, 'make it again with `gantry features --weights G.pth --encoder E.pth ... --out FILE.json`')
    : readClusteredFeatures(path);
  const past = Object.keys(styles.clusters).map(Number).find((label) => label >= labelNc);
  if (past !== undefined) throw new GantryError(`${path} has styles of label ${past}, past --label-nc ${labelNc}; give the --label-nc the generator was trained with`);
  return styles;
}

export function openPretrained(o: PretrainedOptions): Generator & { model: Pix2PixHD; styles: InstanceStyles | null } {
  let size: { mapHeight: number; mapWidth: number };
  if (o.height !== undefined) {
    if (o.width === undefined) throw new GantryError(`--height ${o.height} needs --width too (the size the generator draws at, e.g. --height 512 --width 1024)`);
    size = { mapHeight: o.height, mapWidth: o.width };
  } else if (o.sizeOf) {
    // A generator of pictures (label count 0) draws at its input picture's size, as a label map's.
    const map = o.labelNc === 0 ? readImageFile(o.sizeOf) : readIdMap(o.sizeOf, 'label map');
    size = { mapHeight: map.height, mapWidth: map.width };
  } else {
    throw new GantryError('give the size to draw at, --height H --width W (NVIDIA\'s Cityscapes generators: 512 x 1024, or 1024 x 2048 for label2city_1024p), or --labels MAP.png|DIR to take it from a map');
  }
  const styles = o.features ? readFeaturesFile(o.features, o.labelNc) : null;
  const encoder = o.encoder ? { state: readStateDict(o.encoder), file: o.encoder } : undefined;
  const model = pix2pixhdFromTorch(readStateDict(o.weights), o.weights, { labelNc: o.labelNc, ...size, width: o.width, featNum: styles?.featNum, encoder, labelFeat: o.labelFeat });
  return { info: model.info, model, styles };
}
