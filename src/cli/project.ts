import * as tf from '@tensorflow/tfjs-core';
import { basename, extname, join } from 'node:path';
import { GantryError } from '../errors.ts';
import { writeFileAtomic } from '../io/atomic.ts';
import { readImageFile } from '../io/image.ts';
import { writePng } from '../io/png.ts';
import { fittedPixels } from '../data/transform.ts';
import { conditionChoices, joinConditions } from '../explore/conditions.ts';
import { inputsAboveOutputs, toUint8Images } from '../explore/grid.ts';
import { vectorsToImages } from '../explore/render.ts';
import { checkProjectable, projectImages, PROJECTION_DEFAULTS, type ProjectionSettings } from '../explore/project.ts';
import { Progress } from '../train/progress.ts';
import { intArg, numberArg, parseCommandArgs } from './args.ts';
import { prepareOutFolder } from './output.ts';
import { withRun } from './explore.ts';
import { SYNOPSIS } from './synopsis.ts';

export const PROJECT_HELP = `${SYNOPSIS.PROJECT}
  Finds the latent vector whose image is closest to each of your images (GAN inversion by optimisation), so
  you can interpolate between your own pictures, add and subtract them, or draw them again:
    gantry project --run runs/dcgan --images me.png,you.png --out mine
    gantry interpolate --run runs/dcgan --latents mine/me.json,mine/you.json
    gantry arith --run runs/dcgan --expr "latent:mine/me.json - seed:4 + seed:9"
    gantry sample --run runs/dcgan --latent mine/me.json
  Writes DIR/<image name>.json (the vector: a JSON array), and DIR/projection.png (your images above what
  their vectors draw); prints one JSON line an image: its vector's file, its class or caption, and the
  mean squared error of the drawn image (pixels in [-1, 1]) at the start and at the end.
  Images are fitted to the run's size as training data are (resized, centre-cropped).
  The closest --starts (8) of --pool (64) seeds, and the run's encoder's vector where it has one (vae,
  vae-gan, gan-cls), start Adam (--lr 0.1, ramped down over the last quarter of --steps 300); the closest
  at the end is kept (or the closest start, where nothing Adam found is closer). A GAN's vectors are kept at
  length sqrt(latent size), where N(0, I)'s vectors lie, so they behave like seeds' in interpolate and
  arith; an auto-encoder's (vae, vae-gan) are not, as its encoder's are not (--free / --sphere: either way
  for any run). --seed N: the pool's first seed.
  Class-conditional runs: every class is tried unless --class K is given; the line names the class found
  (draw it again with --class). Text runs: each --text caption is tried (default: the run's first sample
  caption). Runs on the CPU.`;

export async function projectCommand(argv: string[]): Promise<void> {
  const { values } = parseCommandArgs('project', argv, {
    run: { type: 'string' }, images: { type: 'string' }, out: { type: 'string' }, steps: { type: 'string' }, starts: { type: 'string' },
    pool: { type: 'string' }, lr: { type: 'string' }, seed: { type: 'string' }, free: { type: 'boolean' }, sphere: { type: 'boolean' }, class: { type: 'string' },
    text: { type: 'string', multiple: true },
  });
  const files = (values.images ?? '').split(',').map((f) => f.trim()).filter(Boolean);
  if (files.length === 0) throw new GantryError('--images is required: the pictures to find latent vectors for, e.g. --images me.png,you.jpg');
  const names = files.map((f) => basename(f, extname(f)));
  const twice = names.find((name, i) => names.indexOf(name) !== i);
  if (twice !== undefined) throw new GantryError(`--images: two images are named ${twice}; each writes ${twice}.json, so rename one`);
  const settings = projectionSettings(values);
  const out = values.out ?? 'projections';
  // Every image is read before the run is opened: a missing or corrupt file is one line, and nothing is written.
  const images = files.map(readImageFile);
  await withRun(values.run, 'cpu', async (run) => {
    checkProjectable(run);
    const choices = await conditionChoices(run, { class: values.class, text: values.text }, (line) => process.stderr.write(line + '\n'));
    if (choices.length > 1 && run.info.conditioning.kind === 'class') process.stderr.write(`trying each of the ${choices.length} classes (--class K tries one)\n`);
    const { height, width, channels } = run.info;
    const targets = tf.tensor4d(fittedPixels(images, run.info), [files.length, height, width, channels]);
    try {
      const progress = new Progress(files.length * settings.steps, 0, 'project', process.stderr);
      const found = await projectImages(run, targets, choices, settings, (done) => progress.update(done));
      progress.done();
      prepareOutFolder(out, 'latent vectors');
      found.forEach((p, i) => {
        const file = join(out, `${names[i]}.json`);
        writeFileAtomic(file, JSON.stringify(Array.from(p.latent)) + '\n');
        const condition = run.info.conditioning.kind === 'class' ? { class: choices[p.choice].name } : run.info.conditioning.kind === 'text' ? { text: choices[p.choice].name } : {};
        process.stdout.write(JSON.stringify({ image: files[i], latent: file, ...condition, start: round(p.startDistance), distance: round(p.distance) }) + '\n');
      });
      // Your images above what their vectors draw.
      const drawn = vectorsToImages(run, found.map((p) => p.latent), joinConditions(found.map((p) => choices[p.choice].condition)));
      const of = async (images: tf.Tensor4D) => ({ n: files.length, height, width, channels, pixels: await toUint8Images(images) });
      const grid = inputsAboveOutputs(await of(targets), await of(drawn), Math.min(files.length, 8));
      drawn.dispose();
      const png = join(out, 'projection.png');
      writePng(png, grid);
      process.stdout.write(`${png}\n`);
    } finally {
      targets.dispose();
    }
  });
}

function projectionSettings(values: { steps?: string; starts?: string; pool?: string; lr?: string; seed?: string; free?: boolean; sphere?: boolean }): ProjectionSettings {
  if (values.free && values.sphere) throw new GantryError('give --free or --sphere, not both');
  const starts = intArg('starts', values.starts, 1) ?? PROJECTION_DEFAULTS.starts;
  const pool = intArg('pool', values.pool, 1) ?? PROJECTION_DEFAULTS.pool;
  if (starts > pool) throw new GantryError(`--starts ${starts} is more than --pool ${pool} gives; starts are the pool's closest`);
  const lr = numberArg('lr', values.lr) ?? PROJECTION_DEFAULTS.lr;
  if (lr <= 0) throw new GantryError(`--lr must be above 0 (e.g. 0.1), got ${values.lr}`);
  return {
    steps: intArg('steps', values.steps, 1) ?? PROJECTION_DEFAULTS.steps,
    starts, pool, lr,
    seed: intArg('seed', values.seed) ?? PROJECTION_DEFAULTS.seed,
    sphere: values.free ? false : values.sphere ? true : undefined,
  };
}

function round(x: number): number {
  return Number(x.toPrecision(4));
}
