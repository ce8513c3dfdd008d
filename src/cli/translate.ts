import { statSync } from 'node:fs';
import { basename, extname, join, resolve } from 'node:path';
import { GantryError } from '../errors.ts';
import { initEngine, type Device } from '../engine/index.ts';
import { IMAGE_EXTENSIONS } from '../data/folder.ts';
import { openDataset } from '../data/index.ts';
import { readImageFile } from '../io/image.ts';
import { writePng } from '../io/png.ts';
import type { Generator, LabelMaps } from '../explore/conditions.ts';
import { inputsFromFiles, instancesFromLabelsNote } from '../explore/label-map-files.ts';
import { openPretrained } from '../explore/pretrained.ts';
import { tileImages } from '../explore/grid.ts';
import { drawImages } from '../explore/render.ts';
import { photoStyles, randomStyles, STYLE_CLUSTERS, styleFeatures, type InstanceStyles, type StylePick } from '../explore/instance-styles.ts';
import { ENCODE_PROGRESS_LABEL, learnedStylesLine, learnStylesInto, learnStylesOfRun, readStyles } from '../explore/run-styles.ts';
import { featuresByLabel, takesPictures } from '../models/condition.ts';
import { openRun } from '../train/run.ts';
import { Progress, slowWorkProgress } from '../train/progress.ts';
import { checkFileOut, checkPngOut, isFolderOut, prepareImageFolder } from './output.ts';
import { intArg, parseCommandArgs, refuseFlags } from './args.ts';
import { checkGeneratorSource, imageFiles } from './pretrained-args.ts';
import { SYNOPSIS } from './synopsis.ts';
import { writeFeatureMaps } from '../explore/feature-maps-out.ts';

export const TRANSLATE_HELP = `${SYNOPSIS.TRANSLATE}
                 [--seed N] [--cluster K] [--clusters CLASS:K,...] [--styles N] [--all-styles CLASS] [--style-from IMG|DIR]
gantry translate --weights latest_net_G.pth --label-nc 35 --labels MAP.png|DIR [--instances ...] [--width 1024] [--out ...]
gantry translate --weights latest_net_G.pth --label-nc 0 --inputs PICTURE.png|DIR [--width 1024] [--out ...]
                 [--features features_clustered_010.npy] [--encoder latest_net_E.pth] [--label-feat]
  Turns label maps into images with a pix2pixhd run. A map is a grey (8 or 16 bit) or palette PNG of label
  ids (the ids the run was trained on); it is fitted to the run's size nearest-neighbour. Runs trained with
  instance maps take --instances (Cityscapes' *_instanceIds.png: label * 1000 + k for things); without them
  each label's area is read as one object (edges only where labels meet), as the page's painter reads a map.
  A folder of maps (sorted by name; instance maps in the same order) writes one PNG per map into --out DIR,
  named as its map. Default --out: translated.png for one map.
  A run trained on pictures as inputs (pairs:DIR's train_A/ + train_B/) takes them with --inputs: PNG or
  JPEG pictures (a folder of them likewise), fitted to the run's size as its training pictures were.
  Runs with instance features (model.featNum > 0) draw each object in one of its class's learned styles
  (gantry features): a random one per object (seeded by --seed, the official behaviour), or --cluster K for
  every class (K modulo a class's count of styles), --clusters car:3,road:0 per class (id or name; K below
  that class's count). --styles N draws N variants of each map side
  by side; --all-styles CLASS draws one image per style of that class; --style-from IMG takes the styles of a
  real photo of the map (a folder: one photo per map, same order).
  --weights reads a generator trained by NVIDIA's pix2pixHD code (global or local, its state-dict names;
  sizes from the tensors) with the --label-nc it was trained with; maps are drawn at --width (default:
  the map's own), both sides rounded to what the generator halves, as its test script does; --label-nc 0
  reads one trained on pictures as inputs (NVIDIA's --label_nc 0), which draws from --inputs. One trained
  with instance features (--instance_feat) draws its styles from --features features_clustered_010.npy
  (what encode_features.py writes, or gantry features --weights), with the style flags above; --style-from
  takes a photo's styles with its encoder, --encoder latest_net_E.pth. One trained with --label_feat takes
  --label-feat: its styles are one per label region (every car of a map in one style), not one per object.`;

export const FEATURES_HELP = `${SYNOPSIS.FEATURES}
gantry features --weights latest_net_G.pth --encoder latest_net_E.pth --label-nc 35 --height 512 --width 1024
                --data pairs:DIR --out styles.json [--clusters 10] [--seed 0] [--label-feat]
  pix2pixhd runs with instance features: encodes every object of the run's training data, clusters each
  class's features (k-means, --clusters per class) and writes the run's styles.json, which translate draws
  from. A finished training run does this itself. For a generator trained with instance features by
  NVIDIA's code, what its encode_features.py does: its encoder's features of the objects in --data, at the
  size given, clustered into --out, which translate, export and studio then take as --features. With
  --label-feat (a generator trained with --label_feat) each label region of a map is one feature, as that
  generator was trained: encode_features.py encodes instances even then.
  --maps-out DIR (with --run, a run with featNum 3 on pairs:DIR): what NVIDIA's precompute_feature_maps.py
  does: every training pair's objects encoded, written as a feature map (8-bit RGB, the label map's size and
  name) into DIR, which must be empty. Put it at the data's train_feat/ (in the Cityscapes release's
  layout, featureMaps/train/, which gets a folder a city) and a larger run reads them with
  model.loadFeatures (the official 512p -> 1024p feature recipe; README).`;

/** The most variants of a map `--styles` or `--all-styles` draws into one row (a row of 64 at 1024x2048 is 512 MB). */
const MAX_STYLES = 64;

/** Bytes of drawn images translate holds at once, beyond one map's row of variants. */
const DRAWN_BYTES = 256 << 20;

/** A class named by id or by the run's name for it. */
function classId(run: Generator, value: string, flag: string): number {
  const c = run.info.conditioning;
  if (c.kind !== 'labelMap') throw new Error('not a label-map run');
  const byName = c.labelNames.indexOf(value);
  if (byName >= 0) return byName;
  const n = Number(value);
  if (Number.isInteger(n) && n >= 0 && n < c.labelCount) return n;
  throw new GantryError(`--${flag} "${value}": expected a label id 0..${c.labelCount - 1}${c.labelNames.length ? ` or a name (${c.labelNames.join(', ')})` : ''}`);
}

interface StyleFlags {
  seed: number;
  cluster?: number;
  clusters?: string;
  styles?: number;
  allStyles?: string;
}

/** The style choice of each output column: one, --styles N random draws, or every cluster of --all-styles CLASS. */
function styleColumns(run: Generator, styles: InstanceStyles, flags: StyleFlags): StylePick[] {
  const fixed = new Map<number, number>();
  for (const entry of (flags.clusters ?? '').split(',').filter(Boolean)) {
    const colon = entry.lastIndexOf(':');
    const k = Number(entry.slice(colon + 1));
    if (colon < 0 || !Number.isInteger(k) || k < 0) throw new GantryError(`--clusters "${entry}": expected CLASS:K, e.g. car:3`);
    const cls = classId(run, entry.slice(0, colon), 'clusters');
    const count = styles.clusters[cls]?.length ?? 0;
    if (k >= count) throw new GantryError(`--clusters ${entry}: the run learned ${count ? `${count} style${count > 1 ? 's' : ''} of that class (0..${count - 1})` : 'no styles of that class (no instance of it was large enough)'}`);
    fixed.set(cls, k);
  }
  const base = (random: StylePick): StylePick => (image, cls, count, id) => {
    const k = fixed.get(cls) ?? flags.cluster;
    return k === undefined ? random(image, cls, count, id) : k % count;
  };
  if (flags.allStyles !== undefined) {
    const target = classId(run, flags.allStyles, 'all-styles');
    const count = styles.clusters[target]?.length ?? 0;
    if (!count) throw new GantryError(`--all-styles ${flags.allStyles}: the run learned no styles of that class (no instance of it was large enough); classes with styles: ${Object.keys(styles.clusters).join(', ')}`);
    if (count > MAX_STYLES) throw new GantryError(`--all-styles ${flags.allStyles}: ${count} styles, more than the ${MAX_STYLES} drawn side by side; choose one at a time with --clusters ${flags.allStyles}:K`);
    const others = base(randomStyles(flags.seed));
    return Array.from({ length: count }, (_, k) => (image, cls, n, id) => (cls === target ? k : others(image, cls, n, id)));
  }
  return Array.from({ length: flags.styles ?? 1 }, (_, v) => base(randomStyles(flags.seed, v)));
}

export async function translateCommand(argv: string[]): Promise<void> {
  const { values } = parseCommandArgs('translate', argv, {
    run: { type: 'string' }, weights: { type: 'string' }, 'label-nc': { type: 'string' }, width: { type: 'string' },
    features: { type: 'string' }, encoder: { type: 'string' }, 'label-feat': { type: 'boolean' },
    labels: { type: 'string' }, inputs: { type: 'string' }, instances: { type: 'string' }, out: { type: 'string' },
    seed: { type: 'string' }, cluster: { type: 'string' }, clusters: { type: 'string' }, styles: { type: 'string' },
    'all-styles': { type: 'string' }, 'style-from': { type: 'string' }, device: { type: 'string' }, quiet: { type: 'boolean' },
  });
  // --labels and --instances are the maps to draw, with either source.
  checkGeneratorSource(values, ['label-nc', 'width', 'features', 'encoder', 'label-feat']);
  if (values.labels && values.inputs) throw new GantryError('give --labels (label maps) or --inputs (pictures), not both: a run takes the kind it was trained on');
  if (values.inputs) refuseFlags('translate', values, ['instances', 'cluster', 'clusters', 'styles', 'all-styles', 'style-from'], '--inputs (a run on pictures has no instance maps or styles)');
  const inputs = values.inputs ?? values.labels;
  if (!inputs) throw new GantryError('--labels MAP.png (or a folder of maps) is required; for a run trained on pictures as inputs, --inputs PICTURE.png (or a folder)');
  const flags: StyleFlags = { seed: intArg('seed', values.seed) ?? 0, cluster: intArg('cluster', values.cluster), clusters: values.clusters, styles: intArg('styles', values.styles, 1), allStyles: values['all-styles'] };
  if ((flags.styles ?? 1) > MAX_STYLES) throw new GantryError(`--styles ${flags.styles}: at most ${MAX_STYLES} variants side by side; for more, translate again with another --seed`);
  const styleFlags = ['cluster', 'clusters', 'styles', 'all-styles', 'style-from'].filter((f) => values[f as keyof typeof values] !== undefined);
  // A photo gives every object its style: no learned style is chosen, nor a random one drawn (--seed).
  if (values['style-from']) refuseFlags('translate', values, ['cluster', 'clusters', 'styles', 'all-styles', 'seed'], '--style-from (the photo gives every style)');
  if (values.cluster !== undefined) refuseFlags('translate', values, ['seed'], '--cluster (every object of a class without --clusters or --all-styles takes that cluster)');
  if (values.styles && values['all-styles']) throw new GantryError('give --styles N or --all-styles CLASS, not both');
  if (values.cluster !== undefined && (flags.styles ?? 1) > 1) throw new GantryError(`--cluster ${values.cluster} gives every object one style, so --styles ${flags.styles} would draw the same image ${flags.styles} times; fix some classes with --clusters CLASS:K instead, or leave out --styles`);
  const labelFiles = values.inputs ? imageFiles(values.inputs, 'inputs', IMAGE_EXTENSIONS) : imageFiles(inputs, 'labels');
  const instanceFiles = values.instances ? imageFiles(values.instances, 'instances') : null;
  const photoFiles = values['style-from'] ? imageFiles(values['style-from'], 'style-from', IMAGE_EXTENSIONS) : null;
  if (photoFiles && values.weights && !values.encoder) throw new GantryError('--style-from encodes the photo with the generator\'s feature encoder: give it, --encoder latest_net_E.pth');
  if (photoFiles && photoFiles.length !== 1 && photoFiles.length !== labelFiles.length) throw new GantryError(`--style-from: ${photoFiles.length} photos for ${labelFiles.length} label maps; give one photo, or one per map`);
  const many = statSync(inputs).isDirectory();
  const what = values.inputs ? 'pictures' : 'label maps';
  const out = values.out ?? (many ? undefined : 'translated.png');
  if (!out) throw new GantryError(`--out DIR is required for a folder of ${what} (one image each)`);
  if (many && !isFolderOut(out)) throw new GantryError(`--out ${out}: a folder of ${what} gives a folder of images; give a folder path`);
  if (many) prepareImageFolder(out);
  else checkPngOut(out);

  await initEngine({ device: (values.device ?? 'cpu') as Device });
  const pretrained = values.weights
    ? openPretrained({ weights: values.weights, labelNc: intArg('label-nc', values['label-nc'], 0)!, sizeOf: labelFiles[0], width: intArg('width', values.width, 1), features: values.features, encoder: values.encoder, labelFeat: values['label-feat'] })
    : null;
  const run: Generator = pretrained ?? openRun(values.run!);
  try {
    const c = run.info.conditioning;
    if (c.kind !== 'labelMap') throw new GantryError(`${values.run} is a ${run.info.family} run; translate turns label maps into images with a pix2pixhd run (sample draws from the others)`);
    const source = values.run ?? values.weights;
    if (takesPictures(run.info) && !values.inputs) throw new GantryError(`--labels: ${source} was trained on pictures as inputs${values.run ? ' (train_A/)' : ' (--label-nc 0)'}; give them with --inputs PICTURE.png (or a folder)`);
    if (!takesPictures(run.info) && values.inputs) throw new GantryError(`--inputs: ${source} turns label maps into images; give them with --labels MAP.png (grey PNGs of label ids)`);
    if (c.featNum === 0 && styleFlags.length) throw new GantryError(`--${styleFlags[0]}: this run has no instance features (model.featNum 0), so its objects have no styles to choose`);
    let styles: InstanceStyles | null = null;
    if (c.featNum > 0 && !photoFiles) {
      if (pretrained && !pretrained.styles) throw new GantryError(`${values.weights} reads instance features: give its styles, --features features_clustered_010.npy (or learn them: gantry features --weights ... --encoder ... --data ... --out styles.json), or take a photo's with --style-from`);
      styles = pretrained?.styles ?? readStyles(values.run!);
    }
    const columns = styles ? styleColumns(run, styles, flags) : [null];
    const { height, width, channels } = run.info;
    const per = height * width * channels;
    const onePhoto = photoFiles?.length === 1 ? readImageFile(photoFiles[0]) : null;
    const progress = new Progress(labelFiles.length, 0, 'translate', process.stderr, values.quiet || !many);
    // Read and drawn a chunk of maps at a time (fewer the more variants of each): memory stays bounded for any folder.
    const CHUNK = Math.max(1, Math.min(16, Math.floor(DRAWN_BYTES / (columns.length * per))));
    for (let first = 0; first < labelFiles.length; first += CHUNK) {
      const files = labelFiles.slice(first, first + CHUNK);
      const { maps, instancesFromLabels } = inputsFromFiles(run.info, files, instanceFiles?.slice(first, first + CHUNK) ?? null);
      if (instancesFromLabels && first === 0) process.stderr.write(`note: ${instancesFromLabelsNote()}\n`);
      const drawn = columns.map(() => new Uint8Array(files.length * per));
      for (const [v, pick] of columns.entries()) {
        let conditioned: LabelMaps = maps;
        if (photoFiles) conditioned = await photoStyles(run, maps, onePhoto ? files.map(() => onePhoto) : photoFiles.slice(first, first + CHUNK).map(readImageFile));
        else if (styles && pick) conditioned = styleFeatures(maps, styles, pick, featuresByLabel(run.info));
        await drawImages(run, files.map(() => new Float32Array(run.info.latentDim)), { kind: 'labelMap', maps: conditioned }, (pixels, start) => drawn[v].set(pixels, start * per));
      }
      files.forEach((file, i) => {
        const path = many ? join(out, `${basename(file, extname(file))}.png`) : out;
        const row = new Uint8Array(columns.length * per);
        drawn.forEach((pixels, v) => row.set(pixels.subarray(i * per, (i + 1) * per), v * per));
        writePng(path, columns.length === 1 ? { width, height, channels, data: row } : tileImages(row, columns.length, height, width, channels, columns.length));
      });
      progress.update(first + files.length);
    }
    progress.done();
    process.stdout.write(`${out}\n`);
  } finally {
    run.model.dispose();
  }
}


export async function featuresCommand(argv: string[]): Promise<void> {
  const { values } = parseCommandArgs('features', argv, {
    run: { type: 'string' }, clusters: { type: 'string' }, seed: { type: 'string' }, device: { type: 'string' },
    weights: { type: 'string' }, encoder: { type: 'string' }, 'label-nc': { type: 'string' }, height: { type: 'string' }, width: { type: 'string' },
    'label-feat': { type: 'boolean' }, data: { type: 'string' }, out: { type: 'string' }, 'maps-out': { type: 'string' },
  });
  checkGeneratorSource(values, ['label-nc', 'height', 'width', 'encoder', 'label-feat']);
  const clusters = intArg('clusters', values.clusters, 1);
  const seed = intArg('seed', values.seed);
  if (values['maps-out'] !== undefined) {
    if (!values.run) throw new GantryError('--maps-out writes the feature maps of a gantry run\'s encoder: give --run RUN_DIR (a pix2pixhd run with model.featNum 3)');
    refuseFlags('features', values, ['data', 'out', 'clusters', 'seed'], '--maps-out, which encodes the run\'s own training data');
    await initEngine({ device: (values.device ?? 'cpu') as Device });
    const progress = slowWorkProgress('feature maps: encoding objects');
    const written = await writeFeatureMaps(values.run, values['maps-out'], { loadProgress: (label) => slowWorkProgress(label), onProgress: progress });
    process.stdout.write(`feature maps: ${written.files} written into ${written.dir}\n`);
    if (resolve(written.dir) !== resolve(written.readFrom)) process.stderr.write(`note: a run with model.loadFeatures on this data reads them from ${written.readFrom}; move them there\n`);
    return;
  }
  if (values.run) {
    const stray = (['data', 'out'] as const).find((f) => values[f] !== undefined);
    if (stray) throw new GantryError(`--${stray} goes with --weights; a run learns from its own data into its styles.json`);
    await initEngine({ device: (values.device ?? 'cpu') as Device });
    process.stdout.write(learnedStylesLine(await learnStylesOfRun(values.run, { clusters, seed, loadProgress: (label) => slowWorkProgress(label), encodeProgress: slowWorkProgress(ENCODE_PROGRESS_LABEL) })) + '\n');
    return;
  }
  // NVIDIA's generator: encode_features.py's work, from its encoder and the data it was trained on.
  if (!values.encoder || !values.data || !values.out || !values.height || !values.width) {
    throw new GantryError('--weights needs --encoder latest_net_E.pth (its feature encoder), --data pairs:DIR (the label maps and photos to learn from), --height H --width W (the size it was trained at) and --out STYLES.json');
  }
  checkFileOut(values.out, '.json', 'styles as JSON');
  await initEngine({ device: (values.device ?? 'cpu') as Device });
  const generator = openPretrained({ weights: values.weights!, encoder: values.encoder, labelNc: intArg('label-nc', values['label-nc'], 0)!, height: intArg('height', values.height, 1), width: intArg('width', values.width, 1), labelFeat: values['label-feat'] });
  try {
    const data = openDataset(values.data, generator.info, slowWorkProgress(`reading ${values.data}`));
    // Seed 0 by default: the official script's KMeans(random_state=0).
    process.stdout.write(learnedStylesLine(await learnStylesInto(generator, data, values.out, clusters ?? STYLE_CLUSTERS, seed ?? 0, slowWorkProgress(ENCODE_PROGRESS_LABEL))) + '\n');
  } finally {
    generator.model.dispose();
  }
}
