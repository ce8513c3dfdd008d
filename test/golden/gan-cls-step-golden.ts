import type { Rng } from '../../src/engine/rng.ts';
import { GanCls, ganClsSchema } from '../../src/models/gan-cls.ts';
import { checkTextGanSteps } from './text-gan-steps.ts';

/**
 * GAN-CLS / GAN-INT's training steps against the step written in PyTorch (test/golden/make_gan_cls_step.py):
 * each step's D loss (matching-aware: real with right and wrong captions, fake with right), G's loss (with
 * the interpolated captions' term), and every trainable weight of G and D after three steps. `run` 'paper'
 * is the paper's step; 'authors' has the authors' code's batch norm in D's text projection and G's
 * interpolated term at half weight. The step draws each caption shift as 1 + int(n - 1) and two noise
 * batches, in this order: the file's.
 */
export async function checkGanClsStepsAgainstPyTorch(run: 'paper' | 'authors'): Promise<void> {
  let model: GanCls | null = null;
  await checkTextGanSteps(run === 'paper' ? 'gan_cls_step' : 'gan_cls_authors_step', (config, seed) => (model = new GanCls(ganClsSchema.parse(config), seed)), (step) => {
    const shifts = [...(step.shifts as number[])];
    const noise = [...(step.noise as number[][])];
    const rng = { int: () => shifts.shift()! - 1, fillNormal: (out: Float32Array) => (out.set(noise.shift()!), out) } as unknown as Rng;
    return { rng, drewAll: () => shifts.length === 0 && noise.length === 0 };
  }, ['lossD', 'lossG'], () => model!.config.lr);
}
