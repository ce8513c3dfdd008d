import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tf, maxAbsDiff, maxAbs } from '../helpers.ts';
import { Dcgan, dcganSchema } from '../../src/models/dcgan.ts';

interface Saved { shape: number[]; data: number[] }
interface Golden {
  config: { nz: number; ngf: number; ndf: number; channels: number; batch: number; imageSize: number; r1?: number };
  initial: { G: Record<string, Saved>; D: Record<string, Saved> };
  steps: { real_nchw: number[]; z: number[]; lossD: number; lossG: number }[];
  final: { G: Record<string, Saved>; D: Record<string, Saved> };
}

const read = (file: string): Golden => JSON.parse(readFileSync(join(dirname(fileURLToPath(import.meta.url)), file), 'utf8'));

/** PyTorch conv weights ([out,in,k,k] and transposed [in,out,k,k]) both map to tfjs by the same permutation. */
function toGantryLayout(saved: Saved): tf.Tensor {
  return tf.tidy(() => {
    const t = tf.tensor(saved.data, saved.shape);
    return saved.shape.length === 4 ? tf.transpose(t, [2, 3, 1, 0]) : t;
  });
}

/**
 * Three DCGAN training steps from the same weights, data and noise as PyTorch (test/golden/
 * make_dcgan_step.py): the losses of every step, and every weight and running statistic afterwards,
 * must agree. This checks batch norm (both modes' statistics), BCE, the step order and Adam together;
 * with `spectralNorm`, D's spectral normalisation (its u moved at each of D's three passes a step) instead
 * of its batch norm; with `r1`, the R1 penalty (gamma 10) in D's loss.
 */
export async function checkDcganStepsAgainstPyTorch(o: { spectralNorm?: boolean; r1?: boolean } = {}): Promise<void> {
  const golden = read(o.spectralNorm ? 'dcgan_sn_step.json' : o.r1 ? 'dcgan_r1_step.json' : 'dcgan_step.json');
  const c = golden.config;
  const model = new Dcgan(dcganSchema.parse({ imageSize: 32, channels: c.channels, nz: c.nz, ngf: c.ngf, ndf: c.ndf, spectralNorm: o.spectralNorm ?? false, r1: c.r1 ?? 0 }), 0);
  for (const [net, params] of Object.entries(model.networks)) {
    for (const [name, v] of params.named()) {
      const saved = golden.initial[net as 'G' | 'D'][name.replace(/^main\./, '')];
      assert.ok(saved, `PyTorch has no tensor for ${net}/${name}`);
      tf.tidy(() => v.assign(toGantryLayout(saved)));
    }
  }
  for (const [i, step] of golden.steps.entries()) {
    const real = tf.tidy(() => tf.transpose(tf.tensor4d(step.real_nchw, [c.batch, c.channels, 32, 32]), [0, 2, 3, 1]) as tf.Tensor4D);
    const z = tf.tensor2d(step.z, [c.batch, c.nz]);
    const l = model.trainStepWithNoise({ images: real }, z);
    // Asynchronous reads: WebGPU has no synchronous read in Node.
    const losses = { lossD: (await l.lossD.data())[0], lossG: (await l.lossG.data())[0] };
    tf.dispose([real, z, l.lossD, l.lossG]);
    assert.ok(Math.abs(losses.lossD - step.lossD) < 1e-4, `step ${i} lossD ${losses.lossD} vs PyTorch ${step.lossD}`);
    assert.ok(Math.abs(losses.lossG - step.lossG) < 1e-4, `step ${i} lossG ${losses.lossG} vs PyTorch ${step.lossG}`);
  }
  model.syncVariables();
  for (const [net, params] of Object.entries(model.networks)) {
    for (const [name, v] of params.named()) {
      const want = toGantryLayout(golden.final[net as 'G' | 'D'][name.replace(/^main\./, '')]);
      const [got, expected] = await Promise.all([v.data(), want.data()]);
      const err = maxAbsDiff(got, expected) / Math.max(1e-2, maxAbs(expected));
      want.dispose();
      assert.ok(err < 1e-3, `${net}/${name} after ${golden.steps.length} steps: relative error ${err}`);
    }
  }
  model.dispose();
}
