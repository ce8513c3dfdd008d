import * as tf from '@tensorflow/tfjs-core';
import { GantryError, given, trainHow } from '../errors.ts';
import { openHeldOut } from '../data/index.ts';
import { makeBatch } from '../data/sampler.ts';
import { dataMaps } from '../explore/conditions.ts';
import { withRandomStyles } from '../explore/run-styles.ts';
import { vectorsToImages } from '../explore/render.ts';
import { savedLevels } from '../explore/grid.ts';
import { segmentationScores, SegmentationTally } from '../models/segmentation-scores.ts';
import { openRun, runData } from '../train/run.ts';
import { Progress } from '../train/progress.ts';

export interface SegmentationResult {
  n: number;
  data: string;
  /** Generated images of the held-out maps, segmented and compared with those maps. */
  fake: { pixelAccuracy: number; meanIoU: number };
  /** The real photos of the same maps: the segmenter's own ceiling. */
  real: { pixelAccuracy: number; meanIoU: number };
}

/**
 * pix2pixHD's evaluation (the paper's Table 1): the images a label-map run draws from its held-out maps
 * (the test split of pairs:DIR) are segmented by a segmenter run, and the segmentation is scored against
 * the maps they were drawn from; the real photos of the same maps give the ceiling. Images are quantised
 * to 8 bits as saved PNGs would be. Runs with instance features draw each object in a seeded random style.
 */
export async function evaluateSegmentation(runDir: string, segmenterDir: string, o: { n?: number; seed?: number; quiet?: boolean } = {}): Promise<SegmentationResult> {
  const run = openRun(runDir);
  const segmenter = openRun(segmenterDir);
  try {
    const c = run.info.conditioning;
    if (c.kind !== 'labelMap') throw new GantryError(`${runDir} is a ${run.info.family} run; segmentation scores runs that draw from label maps (pix2pixhd)`);
    if (c.pictures) throw new GantryError(`${runDir} draws from pictures (train_A/), not label maps, so there are no labels to score its images against; score it with FID (gantry eval fid --fake ${runDir})`);
    const segment = segmenter.model.segment?.bind(segmenter.model);
    if (!segment) throw new GantryError(`${given('segmenter', segmenterDir)} is a ${segmenter.info.family} run, not a segmenter; train one with ${trainHow('segmenter', run.config.data, 'runs/segmenter')}`);
    if (segmenter.info.height !== run.info.height || segmenter.info.width !== run.info.width) {
      throw new GantryError(`the segmenter works at ${segmenter.info.height}x${segmenter.info.width} but ${runDir} draws ${run.info.height}x${run.info.width}; train the segmenter at the run's size (model.height ${run.info.height}, model.width ${run.info.width})`);
    }
    const data = openHeldOut(runData(run), run.info);
    const n = Math.min(o.n ?? data.n, data.n);
    const fake = new SegmentationTally(c.labelCount);
    const real = new SegmentationTally(c.labelCount);
    const progress = new Progress(n, 0, 'segmentation', process.stderr, o.quiet);
    for (let start = 0; start < n; start += 16) {
      const idx = Array.from({ length: Math.min(16, n - start) }, (_, i) => start + i);
      const maps = { kind: 'labelMap', maps: withRandomStyles(run, runDir, dataMaps(data, idx).maps, o.seed ?? 0, start) } as const;
      const batch = makeBatch(data, idx);
      const [predFake, predReal] = tf.tidy(() => {
        const images = vectorsToImages(run, idx.map(() => new Float32Array(run.info.latentDim)), maps);
        const saved = tf.sub(tf.div(savedLevels(images), 127.5), 1) as tf.Tensor4D;
        return [segment(saved), segment(batch.images)];
      });
      fake.add(await predFake.data(), batch.labelMaps!);
      real.add(await predReal.data(), batch.labelMaps!);
      tf.dispose([predFake, predReal, batch.images, batch.labels ?? []]);
      progress.update(start + idx.length);
    }
    progress.done();
    const scores = (t: SegmentationTally) => {
      const s = segmentationScores(t);
      return { pixelAccuracy: s.pixelAccuracy, meanIoU: s.meanIoU };
    };
    return { n, data: data.name, fake: scores(fake), real: scores(real) };
  } finally {
    run.model.dispose();
    segmenter.model.dispose();
  }
}
