import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tf, maxAbsDiff } from '../helpers.ts';
import { Rng } from '../../src/engine/rng.ts';
import { readTorchStateDict } from '../../src/io/torch.ts';
import { loadTorchWeights } from '../../src/nn/torch-weights.ts';
import { Pix2PixHD, pix2pixhdSchema } from '../../src/models/pix2pixhd.ts';
import { networkState, paramValues } from './torch-files.ts';

const here = dirname(fileURLToPath(import.meta.url));

interface Step { instances: number[]; levels: number[]; lossD: number; lossG: number }
interface Run { config: Record<string, unknown> & { vgg: boolean }; batch: [number, number, number]; steps: Step[]; biasesBeforeNorm: string[] }
const golden: Record<'global' | 'local', Run> = JSON.parse(readFileSync(join(here, 'pix2pixhd_step.json'), 'utf8'));

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
 * the instance feature encoder and the VGG loss, or the local enhancer across the fixed-global switch.
 *
 * The weights are compared by how far each moved: Adam moves a weight by about lr a step whatever its
 * gradient's size, so a final weight within a fraction of lr of PyTorch's is the same update. A
 * convolution's bias just before an instance norm is the exception: its gradient is zero but for float32
 * rounding (the norm subtracts the mean the bias adds), which Adam turns into a step of up to lr either
 * way in both programs, so those biases are only checked to have moved no more than Adam can.
 */
export async function checkPix2PixHDStepsAgainstPyTorch(run: 'global' | 'local'): Promise<void> {
  const { config, batch: [n, h, w], steps, biasesBeforeNorm } = golden[run];
  const vggWeights = config.vgg ? join(here, 'vgg19_w8.pth') : undefined;
  const model = new Pix2PixHD(pix2pixhdSchema.parse({ ...config, vggWeights }), 0);
  const init = `pix2pixhd_step_${run}_init.pth`;
  loadNetworks(model, init);
  const lr = model.config.lr;
  for (const [i, step] of steps.entries()) {
    const instances = Int32Array.from(step.instances);
    const labels = instances.map((id) => Math.floor(id / 1000));
    const images = tf.tidy(() => tf.sub(tf.div(tf.tensor4d(step.levels, [n, h, w, 3]), 127.5), 1) as tf.Tensor4D);
    const losses = model.trainStep({ images, labelMaps: labels, instanceMaps: instances }, { step: i, rng: new Rng(0, 'step', i) });
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
  const beforeNorm = new Set(biasesBeforeNorm);
  for (const [net, params] of Object.entries(model.networks)) {
    const [mine, want, was] = await Promise.all([paramValues(params), paramValues(expected.networks[net]), paramValues(start.networks[net])]);
    for (const [name, got] of mine) {
      const moved = maxAbsDiff(want.get(name)!, was.get(name)!);
      if (beforeNorm.has(`${filePrefix(net)}.${name}`)) {
        assert.ok(maxAbsDiff(got, was.get(name)!) <= steps.length * lr * 1.01, `${run} ${net}/${name}: moved more than Adam's steps can`);
        continue;
      }
      const err = maxAbsDiff(got, want.get(name)!) / (steps.length * lr);
      assert.ok(moved > 0.5 * lr, `${run} ${net}/${name} did not move in PyTorch`);
      assert.ok(err < 0.005, `${run} ${net}/${name} after ${steps.length} steps: off by ${(err * 100).toFixed(2)}% of Adam's largest move (${moved / lr} lr moved in PyTorch)`);
    }
  }
  for (const m of [model, expected, start]) m.dispose();
}
