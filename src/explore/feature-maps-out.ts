import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { GantryError, describeError } from '../errors.ts';
import { removeAbandonedTempFiles } from '../io/atomic.ts';
import type { LoadProgress } from '../data/dataset.ts';
import { FEATURE_MAP_CHANNELS, featureLevel } from '../data/feature-maps.ts';
import { openDataset, parseDataSpec } from '../data/index.ts';
import { featureMapName, listPairs, type PairSplit } from '../data/pairs.ts';
import { readIdMap } from '../io/id-map.ts';
import { writePng } from '../io/png.ts';
import { featuresByLabel } from '../models/condition.ts';
import { openRun, runData } from '../train/run.ts';
import { featureRegions, objectFeatureBatches } from './instance-styles.ts';

/**
 * `gantry features --run RUN --maps-out DIR`: the precomputed feature maps a larger run reads with
 * model.loadFeatures (NVIDIA's precompute_feature_maps.py, for its 1024p feature model). Each training
 * pair's photo is encoded by the run's E at the run's size; each object's feature (E pools them per
 * instance) is then painted over that object in the label map's own size, as 8-bit RGB levels (NVIDIA's
 * tensor2im), one PNG a label map with its name. NVIDIA's script writes E's maps at twice the smaller
 * model's size instead; either is fitted to the larger model's size like the label map, and holds the same
 * levels per object. An object the run's fitted view of the map does not show (cut by its crop) gets
 * features 0. `outDir` must be empty. pairs:DIR reads them from its train_feat/, or from
 * featureMaps/<split>/ in the Cityscapes layout, where they go in a folder a city (`readFrom`).
 */
export async function writeFeatureMaps(runDir: string, outDir: string, o: { loadProgress?: (label: string) => LoadProgress; onProgress?: (done: number, total: number) => void } = {}): Promise<{ files: number; dir: string; readFrom: string }> {
  const run = openRun(runDir);
  try {
    const c = run.info.conditioning;
    if (c.kind !== 'labelMap' || c.featNum === 0 || c.loadFeatures || !run.model.encodeFeatures) {
      throw new GantryError(`${runDir} has no feature encoder to write feature maps with; a pix2pixhd run trained with model.featNum ${FEATURE_MAP_CHANNELS} (not loadFeatures) has one`);
    }
    if (c.featNum !== FEATURE_MAP_CHANNELS) throw new GantryError(`${runDir} encodes ${c.featNum} features a pixel, but feature maps are RGB images of ${FEATURE_MAP_CHANNELS}; train the smaller run with model.featNum ${FEATURE_MAP_CHANNELS}`);
    const spec = parseDataSpec(run.config.data);
    if (spec.kind !== 'pairs') throw new GantryError(`feature maps go beside label map files, but ${runDir} trained on ${run.config.data}; train it on pairs:DIR`);
    const split = (spec.options.split ?? 'train') as PairSplit;
    const listing = listPairs(spec.path!, split);
    const data = openDataset(runData(run), run.info, o.loadProgress?.(`reading ${run.config.data}`));
    prepareEmptyFolder(outDir);
    if (data.n !== listing.pairs.length) throw new Error(`writeFeatureMaps: ${data.n} pairs read, ${listing.pairs.length} listed`);
    const byLabel = featuresByLabel(run.info);
    const area = data.height * data.width;
    for await (const { indices, regions, values } of objectFeatureBatches(run, data)) {
      for (const [b, i] of indices.entries()) {
        // Each object's levels, from its first pixel in the fitted map (E's features are constant over it).
        const levels = new Map<number, number[]>();
        for (let p = b * area; p < (b + 1) * area; p++) {
          const id = regions.ids[p];
          if (!levels.has(id)) levels.set(id, Array.from(values.subarray(p * FEATURE_MAP_CHANNELS, (p + 1) * FEATURE_MAP_CHANNELS), featureLevel));
        }
        const files = listing.pairs[i];
        const label = readIdMap(files.label, 'label map');
        const instances = files.instance ? readIdMap(files.instance, 'instance map').ids : null;
        const full = featureRegions({ labels: label.ids, instances }, byLabel).ids;
        const unseen = Array(FEATURE_MAP_CHANNELS).fill(featureLevel(0));
        const rgb = new Uint8Array(full.length * FEATURE_MAP_CHANNELS);
        for (let p = 0; p < full.length; p++) rgb.set(levels.get(full[p]) ?? unseen, p * FEATURE_MAP_CHANNELS);
        const file = join(outDir, featureMapName(listing.layout, files.label));
        mkdirSync(dirname(file), { recursive: true });
        writePng(file, { width: label.width, height: label.height, channels: FEATURE_MAP_CHANNELS, data: rgb });
      }
      o.onProgress?.(indices[indices.length - 1] + 1, data.n);
    }
    return { files: data.n, dir: outDir, readFrom: listing.featureFolder };
  } finally {
    run.model.dispose();
  }
}

/**
 * The folder made where it is missing, without the half-written PNGs of a command killed while writing
 * there or in its city folders; one that holds PNGs already is refused (its maps would mix with these).
 */
function prepareEmptyFolder(dir: string): void {
  if (existsSync(dir)) {
    const folders = [dir, ...readdirSync(dir).map((f) => join(dir, f)).filter((f) => statSync(f).isDirectory())];
    const pngs: string[] = [];
    for (const folder of folders) {
      removeAbandonedTempFiles(folder, (name) => /\.png\.tmp-(\d+)$/.exec(name)?.[1]);
      pngs.push(...readdirSync(folder).filter((f) => f.toLowerCase().endsWith('.png')).map((f) => folder === dir ? f : join(basename(folder), f)));
    }
    if (pngs.length) throw new GantryError(`--maps-out ${dir} already holds ${pngs.length} PNG files (${pngs[0]}, ...); give an empty or new folder, or remove them`);
  }
  try {
    mkdirSync(dir, { recursive: true });
  } catch (err) {
    throw new GantryError(`--maps-out ${dir}: cannot make this folder (${describeError(err)}); choose another`);
  }
}
