import * as tf from '@tensorflow/tfjs-core';
import { existsSync, statSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { GantryError } from '../errors.ts';
import { writeFileAtomic } from '../io/atomic.ts';
import { readImageFile } from '../io/image.ts';
import { writePng } from '../io/png.ts';
import { inputsAboveOutputs, toUint8Images } from '../explore/grid.ts';
import { vectorsToImages } from '../explore/render.ts';
import { projectionSettings, projectPictures } from '../explore/project.ts';
import { projectionMeasure } from '../metrics/lpips.ts';
import { Progress, slowWorkProgress } from '../train/progress.ts';
import { intArg, numberArg, parseCommandArgs } from './args.ts';
import { prepareOutFolder, stoppedStatus } from './output.ts';
import { withRun } from './explore.ts';
import { SYNOPSIS } from './synopsis.ts';

export const PROJECT_HELP = `${SYNOPSIS.PROJECT}
  Finds the latent vector whose image is closest to each of your images (GAN inversion by optimisation), so
  you can interpolate between your own pictures, add and subtract them, or draw them again:
    gantry project --run runs/dcgan --images me.png,you.png --out mine
    gantry interpolate --run runs/dcgan --latents mine/me.json,mine/you.json
    gantry arith --run runs/dcgan --expr "latent:mine/me.json - seed:4 + seed:9"
    gantry sample --run runs/dcgan --latent mine/me.json
  Writes into --out DIR (default projections/) DIR/<image name>.json (the vector: a JSON array) and
  DIR/projection.png (your images above what their vectors draw); prints one JSON line an image: its
  vector's file, its class or caption, and the distance of the drawn image at the start and at the end:
  the mean squared error of its pixels (in [-1, 1]), or with --lpips vgg.pth --vgg16 vgg16-397923af.pth
  LPIPS on VGG-16 (StyleGAN2's projector's measure, closer to what the eye sees; images under 64 pixels a
  side are compared at 64x64, over 256 at 256x256; slower).
  Images are fitted to the run's size as training data are (resized, centre-cropped).
  The closest --starts (8) of --pool (64) seeds, and the run's encoder's vector where it has one (vae,
  vae-gan, gan-cls), start Adam (--lr 0.1, ramped down over the last quarter of --steps 300); the closest
  at the end is kept (or the closest start, where nothing Adam found is closer). A GAN's vectors are kept at
  length sqrt(latent size), where N(0, I)'s vectors lie, so they behave like seeds' in interpolate and
  arith; an auto-encoder's (vae, vae-gan) are not, as its encoder's are not (--free / --sphere: either way
  for any run). --seed N: the pool's first seed.
  Class-conditional runs: every class is tried unless --class K is given; the line names the class found
  (draw it again with --class). Text runs: each --text caption is tried (default: the run's first sample
  caption). --device webgpu: on the GPU (the step recorded once and replayed, as training's).
  Ctrl-C (SIGINT, SIGTERM) ends the steps (or the search of the pool, after the draw under way): the
  closest vectors found so far are written, and it exits 130 (143 for SIGTERM); a second Ctrl-C stops at once.`;

export async function projectCommand(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs('project', argv, {
    run: { type: 'string' }, images: { type: 'string' }, out: { type: 'string' }, steps: { type: 'string' }, starts: { type: 'string' },
    pool: { type: 'string' }, lr: { type: 'string' }, seed: { type: 'string' }, free: { type: 'boolean' }, sphere: { type: 'boolean' }, class: { type: 'string' },
    text: { type: 'string', multiple: true }, lpips: { type: 'string' }, vgg16: { type: 'string' }, device: { type: 'string' },
  });
  const files = (values.images ?? '').split(',').map((f) => f.trim()).filter(Boolean);
  if (files.length === 0) throw new GantryError('--images is required: the pictures to find latent vectors for, e.g. --images me.png,you.jpg');
  const names = files.map((f) => basename(f, extname(f)));
  const twice = names.find((name, i) => names.indexOf(name) !== i);
  if (twice !== undefined) throw new GantryError(`--images: two images are named ${twice}; each writes ${twice}.json, so rename one`);
  if (values.free && values.sphere) throw new GantryError('give --free or --sphere, not both');
  const settings = projectionSettings({
    steps: intArg('steps', values.steps, 1), starts: intArg('starts', values.starts, 1), pool: intArg('pool', values.pool, 1),
    lr: numberArg('lr', values.lr), seed: intArg('seed', values.seed), sphere: values.free ? false : values.sphere ? true : undefined,
  });
  const out = values.out ?? 'projections';
  // Named before the work, not after it: the folder itself is made only once there is something to write.
  if (existsSync(out) && !statSync(out).isDirectory()) throw new GantryError(`--out ${out} is a file; give a folder to write the latent vectors into`);
  // Every image is read before the run is opened: a missing or corrupt file is one line, and nothing is written.
  const pictures = files.map(readImageFile);
  const openMeasure = projectionMeasure({ lpips: values.lpips, vgg16: values.vgg16 }, 'projection by LPIPS');
  // The exit status: 0, or a stopping signal's (stoppedStatus).
  let status = 0;
  await withRun(values.run, values.device, async (run) => {
    const { measure, dispose } = openMeasure();
    // The steps' bar starts with the first step, so that its rate is the steps' and not the pool's search.
    const steps: { bar: Progress | null } = { bar: null };
    const stepDone = (done: number) => {
      steps.bar ??= new Progress(files.length * settings.steps, 0, 'project', process.stderr);
      steps.bar.update(done);
    };
    // Ctrl-C: no more steps, and what was found is written; the default handler is back for a second one.
    const stop = new AbortController();
    let stoppedBy: 'SIGINT' | 'SIGTERM' | null = null;
    const onSignal = (signal: 'SIGINT' | 'SIGTERM') => {
      stoppedBy = signal;
      stop.abort();
      warn(`\n${signal === 'SIGINT' ? 'Ctrl-C' : signal}: no more steps; writing the closest vectors found so far (again to stop at once)`);
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    const { projected, targets, conditions } = await projectPictures(run, pictures, { class: values.class, text: values.text }, settings, { progress: stepDone, poolProgress: slowWorkProgress('pool', process.stderr), warn, measure, signal: stop.signal })
      .finally(() => {
        dispose();
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      });
    steps.bar?.done();
    if (stoppedBy) status = stoppedStatus(stoppedBy);
    try {
      prepareOutFolder(out, 'latent vectors');
      projected.forEach((p, i) => {
        const file = join(out, `${names[i]}.json`);
        writeFileAtomic(file, JSON.stringify(Array.from(p.latent)) + '\n');
        const condition = p.class !== undefined ? { class: p.class } : p.text !== undefined ? { text: p.text } : {};
        process.stdout.write(JSON.stringify({ image: files[i], latent: file, ...condition, measure: measure.name, start: round(p.start), distance: round(p.distance) }) + '\n');
      });
      // Your images above what their vectors draw.
      const drawn = vectorsToImages(run, projected.map((p) => p.latent), conditions);
      const { height, width, channels } = run.info;
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
  return status;
}

const warn = (line: string) => process.stderr.write(line + '\n');

function round(x: number): number {
  return Number(x.toPrecision(4));
}
