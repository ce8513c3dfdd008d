import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { GantryError } from '../errors.ts';
import { initEngine, type Device } from '../engine/index.ts';
import { writePng } from '../io/png.ts';
import { labelMapsFromFiles } from '../explore/conditions.ts';
import { drawImages } from '../explore/render.ts';
import { openRun } from '../train/run.ts';
import { Progress } from '../train/progress.ts';
import { checkPngOut, isFolderOut, prepareImageFolder } from './output.ts';
import { parseCommandArgs } from './args.ts';

export const TRANSLATE_HELP = `gantry translate --run RUN_DIR --labels MAP.png|DIR [--instances INST.png|DIR] [--out image.png | DIR]
  Turns label maps into images with a pix2pixhd run. A map is a grey (8 or 16 bit) or palette PNG of label
  ids (the ids the run was trained on); it is fitted to the run's size nearest-neighbour. Runs trained with
  instance maps need --instances (Cityscapes' *_instanceIds.png: label * 1000 + k for things).
  A folder of maps (sorted by name; instance maps in the same order) writes one PNG per map into --out DIR,
  named as its map. Default --out: translated.png for one map.`;

/** A PNG file, or the sorted PNGs of a folder. */
function pngFiles(path: string, flag: string): string[] {
  if (!existsSync(path)) throw new GantryError(`--${flag} ${path} does not exist`);
  if (!statSync(path).isDirectory()) return [path];
  const files = readdirSync(path).filter((f) => extname(f).toLowerCase() === '.png').sort().map((f) => join(path, f));
  if (files.length === 0) throw new GantryError(`--${flag} ${path}: no .png maps in this folder`);
  return files;
}

export async function translateCommand(argv: string[]): Promise<void> {
  const { values } = parseCommandArgs('translate', argv, {
    run: { type: 'string' },
    labels: { type: 'string' },
    instances: { type: 'string' },
    out: { type: 'string' },
    device: { type: 'string' },
    quiet: { type: 'boolean' },
  });
  if (!values.run) throw new GantryError('--run RUN_DIR is required (the --out folder of a `gantry train pix2pixhd`)');
  if (!values.labels) throw new GantryError('--labels MAP.png (or a folder of maps) is required');
  const labelFiles = pngFiles(values.labels, 'labels');
  const instanceFiles = values.instances ? pngFiles(values.instances, 'instances') : null;
  const many = statSync(values.labels).isDirectory();
  const out = values.out ?? (many ? undefined : 'translated.png');
  if (!out) throw new GantryError('--out DIR is required for a folder of label maps (one image per map)');
  if (many && !isFolderOut(out)) throw new GantryError(`--out ${out}: a folder of label maps gives a folder of images; give a folder path`);
  if (many) prepareImageFolder(out);
  else checkPngOut(out);

  await initEngine({ device: (values.device ?? 'cpu') as Device });
  const run = openRun(values.run);
  try {
    if (run.info.conditioning.kind !== 'labelMap') throw new GantryError(`${values.run} is a ${run.info.family} run; translate turns label maps into images with a pix2pixhd run (sample draws from the others)`);
    const { height, width, channels } = run.info;
    const per = height * width * channels;
    const progress = new Progress(labelFiles.length, 0, 'translate', process.stderr, values.quiet || !many);
    // Read and drawn a chunk of maps at a time: memory stays bounded for any folder.
    const CHUNK = 16;
    for (let first = 0; first < labelFiles.length; first += CHUNK) {
      const files = labelFiles.slice(first, first + CHUNK);
      const maps = labelMapsFromFiles(run.info, files, instanceFiles?.slice(first, first + CHUNK) ?? null);
      await drawImages(run, files.map(() => new Float32Array(run.info.latentDim)), maps, (pixels, start, count) => {
        for (let i = 0; i < count; i++) {
          const image = { width, height, channels, data: pixels.subarray(i * per, (i + 1) * per) };
          const path = many ? join(out, `${basename(files[start + i], extname(files[start + i]))}.png`) : out;
          writePng(path, image);
        }
      });
      progress.update(first + files.length);
    }
    progress.done();
    process.stdout.write(`${out}\n`);
  } finally {
    run.model.dispose();
  }
}
