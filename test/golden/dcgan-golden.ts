import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tf, maxAbsDiff, maxAbs } from '../helpers.ts';
import { Dcgan, dcganSchema } from '../../src/models/dcgan.ts';
import { Rng } from '../../src/engine/rng.ts';
import type { ParamSet } from '../../src/nn/params.ts';

export interface Saved { shape: number[]; data: number[] }
interface Golden {
  config: { nz: number; ngf: number; ndf: number; channels: number; batch: number; imageSize: number; r1?: number; r1Every?: number; loss?: string; gp?: number; lr?: number; beta1?: number; beta2?: number; dNorm?: string };
  initial: { G: Record<string, Saved>; D: Record<string, Saved> };
  steps: { real_nchw: number[]; z: number[]; eps?: number[]; lossD: number; lossG: number; r1?: number; gp?: number }[];
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

/** Sets each of a DCGAN network's parameters (and running statistics) to PyTorch's tensor of its name (less `main.`). */
export function assignPyTorchState(params: ParamSet, state: Record<string, Saved>, net: string): void {
  for (const [name, v] of params.named()) {
    const saved = state[name.replace(/^main\./, '')];
    assert.ok(saved, `PyTorch has no tensor for ${net}/${name}`);
    tf.tidy(() => v.assign(toGantryLayout(saved)));
  }
}

/** A step's stream whose uniform draws are given values (PyTorch's), in order: WGAN-GP's ε. */
class GivenUniforms extends Rng {
  private next = 0;
  constructor(private readonly values: readonly number[]) {
    super(0);
  }

  override uniform(): number {
    assert.ok(this.next < this.values.length, 'the step drew more uniform values than PyTorch\'s');
    return this.values[this.next++];
  }

  /** Whether the step drew every value given. */
  get drewAll(): boolean {
    return this.next === this.values.length;
  }
}

/**
 * Three DCGAN training steps from the same weights, data and noise as PyTorch (test/golden/
 * make_dcgan_step.py): the losses of every step, and every weight and running statistic afterwards,
 * must agree. This checks batch norm (both modes' statistics), BCE, the step order and Adam together;
 * with `spectralNorm`, D's spectral normalisation (its u moved at each of D's three passes a step) instead
 * of its batch norm; with `r1`, the R1 penalty (gamma 10) in D's loss; with `lazyR1`, R1 every 2 steps as an
 * update of D's own (StyleGAN2's lazy regularization: steps 0 and 2), D's Adam slowed to match; with `wganGp`,
 * WGAN-GP's critic (no batch norm, biases), loss and gradient penalty at PyTorch's interpolates, Adam (0, 0.9);
 * with `layerNorm` too, the critic's layer norms (tflib's: per image, a scale and shift per channel).
 */
export async function checkDcganStepsAgainstPyTorch(o: { spectralNorm?: boolean; r1?: boolean; lazyR1?: boolean; wganGp?: boolean; layerNorm?: boolean } = {}): Promise<void> {
  const golden = read(o.layerNorm ? 'dcgan_wgan_gp_ln_step.json' : o.wganGp ? 'dcgan_wgan_gp_step.json' : o.spectralNorm ? 'dcgan_sn_step.json' : o.lazyR1 ? 'dcgan_lazy_r1_step.json' : o.r1 ? 'dcgan_r1_step.json' : 'dcgan_step.json');
  const { batch, r1, r1Every, ...c } = golden.config;
  const model = new Dcgan(dcganSchema.parse({ ...c, spectralNorm: o.spectralNorm ?? false, r1: r1 ?? 0, r1Every: r1Every ?? 1 }), 0);
  for (const [net, params] of Object.entries(model.networks)) assignPyTorchState(params, golden.initial[net as 'G' | 'D'], net);
  for (const [i, step] of golden.steps.entries()) {
    const real = tf.tidy(() => tf.transpose(tf.tensor4d(step.real_nchw, [batch, c.channels, 32, 32]), [0, 2, 3, 1]) as tf.Tensor4D);
    const z = tf.tensor2d(step.z, [batch, c.nz]);
    const rng = step.eps ? new GivenUniforms(step.eps) : new Rng(0, 'step', i);
    const l = model.trainStepWithNoise({ images: real }, z, true, { step: i, rng });
    if (rng instanceof GivenUniforms) assert.ok(rng.drewAll, `step ${i} drew fewer uniform values than PyTorch's ε`);
    // Asynchronous reads: WebGPU has no synchronous read in Node.
    const losses = { lossD: (await l.lossD.data())[0], lossG: (await l.lossG.data())[0] };
    const r1 = l.r1 ? (await l.r1.data())[0] : undefined;
    const gp = l.gp ? (await l.gp.data())[0] : undefined;
    tf.dispose(Object.values(l));
    tf.dispose([real, z]);
    assert.ok(Math.abs(losses.lossD - step.lossD) < 1e-4, `step ${i} lossD ${losses.lossD} vs PyTorch ${step.lossD}`);
    assert.ok(Math.abs(losses.lossG - step.lossG) < 1e-4, `step ${i} lossG ${losses.lossG} vs PyTorch ${step.lossG}`);
    // A lazy R1 reports its penalty on the steps that take its update, and only those.
    if (o.lazyR1) assert.equal(r1 === undefined, step.r1 === undefined, `step ${i}: r1 reported ${r1}, PyTorch's ${step.r1}`);
    if (step.gp !== undefined) assert.ok(gp !== undefined && Math.abs(gp - step.gp) < 1e-4 * Math.max(1, step.gp), `step ${i} gp ${gp} vs PyTorch ${step.gp}`);
    if (o.lazyR1 && step.r1 !== undefined) assert.ok(Math.abs(r1! - step.r1) < 1e-4 * Math.max(1, step.r1), `step ${i} r1 ${r1} vs PyTorch ${step.r1}`);
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
