import { join } from 'node:path';
import { z } from 'zod';
import { GantryError, shellWord } from '../errors.ts';
import { initEngine, type Device } from '../engine/index.ts';
import { FAMILIES } from '../models/index.ts';
import { fidScorer } from '../metrics/scores.ts';
import { train } from '../train/trainer.ts';
import type { ConfigChanges } from '../train/resume.ts';
import { readConfigFile, trainSchema, validateRunConfig, type RunConfig } from '../train/run-config.ts';
import { intArg, numberArg, parseCommandArgs } from './args.ts';
import { stoppedStatus } from './output.ts';
import { SYNOPSIS } from './synopsis.ts';

export const TRAIN_HELP = `${SYNOPSIS.TRAIN}
                      [--out RUN_DIR] [--device cpu|webgpu] [--seed N] [--resume] [--init-from RUN_DIR] [--vgg-weights FILE]
                      [--ema DECAY]

Families: ${Object.entries(FAMILIES).map(([k, f]) => `${k} (${f.description})`).join('; ')}
Data SPECs: mnist[?classes=0,1] (embedded, default), mnist-idx:DIR[?classes=0,1], cifar10:DIR[?classes=automobile,airplane], folder:DIR[?classes=a,b],
  captions:DIR[?split=test&classes=a,b] (images with .txt captions; CUB / Oxford-102 text_c10 layout), shapes[:N] (with label and
  instance maps), pairs:DIR[?split=test] (label maps and photos: pix2pixHD's train_label/ train_inst/
  train_img/ layout, or the Cityscapes release's gtFine/ + leftImg8bit/; or pictures to pictures, pix2pixHD's
  train_A/ train_B/ layout or pix2pix's train/ of side-by-side A | B pictures, ?direction=BtoA for B to A)
--init-from RUN_DIR starts a new run from another run's latest weights, where tensors match by name and shape
  (pix2pixHD's coarse-to-fine recipe: a "local" run from a global run of twice its ngf; see the README).
--ema DECAY (train.ema) keeps an exponential moving average of the generator's weights (0.99 for runs of a few
  thousand steps, 0.999 for longer ones): sample grids, sample, eval, export and the studio draw with it, and
  training goes on with the weights themselves.
--vgg-weights FILE (pix2pixhd): torchvision's vgg19-dcbb9e9d.pth for the VGG perceptual loss (or set
  GANTRY_VGG_WEIGHTS); without them pix2pixhd trains without that term and says so.
pix2pixhd's defaults are sized for 2 cores (64x64, ngf 16, nDown 3, nBlocks 3, ndf 16); the official
  Cityscapes model is {"height": 512, "width": 1024, "labelNc": 35, "ngf": 64, "nDown": 4, "nBlocks": 9, "ndf": 64}.
--config is a JSON file with any of {"seed", "data", "model": {...}, "train": {...}, "eval": {...}}; flags override it.
  "eval": {"fid": {"n": 2000, "weights": "pt_inception.pth" | "features": "CLASSIFIER_RUN"}, "every": 1000} scores
  FID while training (every checkpointEvery steps when "every" is left out, and at the last step) into metrics.jsonl;
  "precisionRecall": true beside "fid" adds precision, recall, density and coverage of the same images; the
  checkpoint of the lowest FID so far is kept in RUN/best, a run folder that every --run takes.
--resume continues the run in --out from its last checkpoint. Its config.json rules; --config and flags may
  change the learning rates (and R1's model.r1, model.r1Every, WGAN-GP's model.gp), --steps and the logging / sample / checkpoint cadence (recorded in the run's
  config-history.jsonl), and what is scored while training (eval; null for nothing), not the family, seed,
  data, batch or architecture.`;

/**
 * The help, and for `gantry train FAMILY --help` that family's config with every field at its default: what a
 * --config file may hold, and where a value not given comes from.
 */
export function trainHelp(args: string[]): string {
  const family = args[0];
  if (!family || !(family in FAMILIES)) return TRAIN_HELP;
  const { model, train } = validateRunConfig({ family }, family);
  const lines = Object.entries({ model, train }).map(([k, v]) => `  ${JSON.stringify(k)}: ${JSON.stringify(v).replace(/,"/g, ', "').replace(/":/g, '": ')}`);
  // Fields without a default (absent unless given: lrD, WGAN-GP's gp, ...) are named after it.
  const unset = (section: string, fields: object, given: object) => Object.keys(fields).filter((k) => !(k in given)).map((k) => `${section}.${k}`);
  const schema = FAMILIES[family].schema;
  const optional = [...unset('model', schema instanceof z.ZodObject ? schema.shape : {}, model), ...unset('train', trainSchema.shape, train)];
  return `${TRAIN_HELP}

${family}'s config, every field at its default (a --config file holds any part of it; the README's Configs
section says what each field does):
{
${lines.join(',\n')}
}${optional.length ? `\nand, absent unless given: ${optional.join(', ')}` : ''}`;
}

export async function trainCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs('train', argv, {
    data: { type: 'string' },
    config: { type: 'string' },
    steps: { type: 'string' },
    epochs: { type: 'string' },
    batch: { type: 'string' },
    out: { type: 'string' },
    device: { type: 'string' },
    seed: { type: 'string' },
    resume: { type: 'boolean' },
    quiet: { type: 'boolean' },
    'vgg-weights': { type: 'string' },
    'init-from': { type: 'string' },
    ema: { type: 'string' },
  }, true);
  if (values.steps && values.epochs) throw new GantryError('give --steps or --epochs, not both');
  const out = values.out ?? (positionals[0] ? `runs/${positionals[0]}` : undefined);
  if (out === undefined) throw new GantryError(`name a family (${Object.keys(FAMILIES).join(', ')}) or pass --resume --out RUN_DIR`);
  await initEngine({ device: (values.device ?? 'cpu') as Device });
  // A config's eval section: FID while training.
  const scorerFor = (config: RunConfig) => fidScorer(config, { quiet: values.quiet });
  const steps = intArg('steps', values.steps, 1);
  const batch = intArg('batch', values.batch, 1);
  const epochs = intArg('epochs', values.epochs, 1);

  // The config file and the flags, flags over the file: a new run's config, or what a resume may change.
  const fileConfig = values.config ? readConfigFile(values.config) : {};
  const trainSection = { ...(fileConfig.train as Record<string, unknown> | undefined) };
  if (steps !== undefined) trainSection.steps = steps;
  if (batch !== undefined) trainSection.batch = batch;
  const ema = numberArg('ema', values.ema);
  if (ema !== undefined) trainSection.ema = ema;
  const given = {
    ...fileConfig,
    ...(values.data !== undefined ? { data: values.data } : {}),
    ...(values.seed !== undefined ? { seed: intArg('seed', values.seed) } : {}),
    train: trainSection,
    ...(values['vgg-weights'] !== undefined ? { model: { ...(fileConfig.model as Record<string, unknown> | undefined), vggWeights: values['vgg-weights'] } } : {}),
  };
  if (values.resume) {
    if (values['init-from'] !== undefined) throw new GantryError('--init-from starts a new run from another run\'s weights; a resumed run continues from its own checkpoint');
    if (epochs !== undefined) throw new GantryError('--resume takes --steps (the new total), not --epochs');
    // `gantry train dcgan --resume ...` names the family too: it must be the run's.
    const changes: ConfigChanges = { ...given, ...(positionals[0] ? { family: positionals[0] } : {}) };
    const source = values.config ? `config ${values.config}` : 'the flags';
    const result = await train({ outDir: out, resume: true, changes, changesSource: source, quiet: values.quiet, scorerFor });
    report(result.runDir, result.step, result.losses);
    return result.interrupted ? stoppedStatus(result.interrupted) : 0;
  }
  const familyName = positionals[0];
  if (!familyName) throw new GantryError(`name a family: ${Object.keys(FAMILIES).join(', ')}`);
  if (positionals.length > 1) throw new GantryError(`unexpected argument "${positionals[1]}"`);
  const raw = { ...given, family: familyName, ...(values['init-from'] !== undefined ? { initFrom: values['init-from'] } : {}) };
  const config = validateRunConfig(raw, values.config ? `config ${values.config}` : 'config');
  // Once the run folder holds its first grid: where to look while it trains.
  const onSample = values.quiet ? undefined : (step: number) => {
    if (step === 0) process.stderr.write(`${out}: sample grids go to ${join(out, 'samples')}; to watch it train in a browser, in another terminal: npx gantry studio --run ${shellWord(out)}\n`);
  };
  const result = await train({ outDir: out, config, epochs, quiet: values.quiet, scorerFor, onSample });
  report(result.runDir, result.step, result.losses);
  return result.interrupted ? stoppedStatus(result.interrupted) : 0;
}

function report(runDir: string, step: number, losses: Record<string, number>): void {
  const l = Object.entries(losses).map(([k, v]) => `${k}=${v.toFixed(4)}`).join(' ');
  process.stdout.write(`${runDir}: step ${step}${l ? ' ' + l : ''}\n`);
}
