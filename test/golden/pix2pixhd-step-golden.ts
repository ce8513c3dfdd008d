import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tf } from '../helpers.ts';
import { Rng } from '../../src/engine/rng.ts';
import { readTorchStateDict } from '../../src/io/torch.ts';
import { loadTorchWeights } from '../../src/nn/torch-weights.ts';
import { Pix2PixHD, pix2pixhdSchema } from '../../src/models/pix2pixhd.ts';
import { packFeatureLevels } from '../../src/data/feature-maps.ts';
import { assertAdamStepsMatch, goldenPhotos, networkState } from './torch-files.ts';

const here = dirname(fileURLToPath(import.meta.url));

interface Step { instances: number[]; levels: string; features?: string; lossD: number; lossG: number }
interface Run { config: Record<string, unknown> & { vgg: boolean }; batch: [number, number, number]; steps: Step[]; biasesBeforeNorm: string[] }
type GoldenRun = 'global' | 'local' | 'labelfeat' | 'loadfeat';
const golden: Record<GoldenRun, Run> = JSON.parse(readFileSync(join(here, 'pix2pixhd_step.json'), 'utf8'));

/** The prefix of a network's names in the files: G1's and G2's are both G's, as they are one state dict in NVIDIA's code. */
const filePrefix = (net: string): string => (net === 'G2' ? 'G' : net);

/** Every network of the model from a file written by make_pix2pixhd_step.py (G1 and G2 from G's names). */
function loadNetworks(model: Pix2PixHD, file: string): void {
  const state = readTorchStateDict(join(here, file));
  for (const [net, params] of Object.entries(model.networks)) loadTorchWeights(params, networkState(state, filePrefix(net)), file);
}

/**
 * pix2pixHD's training steps from the same weights and batches as NVIDIA's code run by PyTorch
 * (test/golden/make_pix2pixhd_step.py): each step's loss_D and loss_G (LSGAN, feature matching and the VGG
 * loss together), and every weight of G, D and E after the steps. `run` picks the global generator with
 * the instance feature encoder and the VGG loss, the local enhancer across the fixed-global switch, or the
 * global generator with the encoder pooling per label (labelFeat) over maps with several instances a label,
 * or the global generator reading precomputed feature maps (loadFeatures, no encoder).
 *
 * A convolution's bias just before an instance norm has a gradient of float32 rounding only (the norm
 * subtracts the mean the bias adds): those are the golden's roundingOnly weights.
 */
/** A step's feature maps (8-bit RGB levels, NHWC, base64) packed as a batch holds them. */
function packedLevels(base64: string): Int32Array {
  const levels = new Uint8Array(Buffer.from(base64, 'base64'));
  return packFeatureLevels({ width: levels.length / 3, height: 1, channels: 3, data: levels });
}

export async function checkPix2PixHDStepsAgainstPyTorch(run: GoldenRun): Promise<void> {
  const { config, batch: [n, h, w], steps, biasesBeforeNorm } = golden[run];
  const vggWeights = config.vgg ? join(here, 'vgg19_w8.pth') : undefined;
  const model = new Pix2PixHD(pix2pixhdSchema.parse({ ...config, vggWeights }), 0);
  const init = `pix2pixhd_step_${run}_init.pth`;
  loadNetworks(model, init);
  const lr = model.config.lr;
  for (const [i, step] of steps.entries()) {
    const instances = Int32Array.from(step.instances);
    const labels = instances.map((id) => Math.floor(id / 1000));
    const images = goldenPhotos(step.levels, [n, h, w, 3]);
    const featureMaps = step.features ? packedLevels(step.features) : undefined;
    const losses = model.trainStep({ images, labelMaps: labels, instanceMaps: instances, featureMaps }, { step: i, rng: new Rng(0, 'step', i) });
    const got = { lossD: (await losses.lossD.data())[0], lossG: (await losses.lossG.data())[0] };
    tf.dispose([images, ...Object.values(losses)]);
    for (const k of ['lossD', 'lossG'] as const) {
      assert.ok(Math.abs(got[k] - step[k]) < 1e-4 * Math.max(1, Math.abs(step[k])), `${run} step ${i} ${k} ${got[k]} vs PyTorch ${step[k]}`);
    }
  }
  const expected = new Pix2PixHD(model.config, 1);
  loadNetworks(expected, `pix2pixhd_step_${run}_final.pth`);
  const start = new Pix2PixHD(model.config, 2);
  loadNetworks(start, init);
  await assertAdamStepsMatch({
    label: run, got: model.networks, want: expected.networks, start: start.networks, steps: steps.length, lrOf: () => lr,
    roundingOnly: new Set(biasesBeforeNorm), prefixOf: filePrefix, betas: [model.config.beta1, model.config.beta2],
  });
  for (const m of [model, expected, start]) m.dispose();
}
