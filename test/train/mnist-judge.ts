import { join } from 'node:path';
import { classifierExtractor } from '../../src/metrics/features.ts';
import { fidOf } from '../../src/metrics/scores.ts';
import { train } from '../../src/train/trainer.ts';
import { validateRunConfig, type RunConfig } from '../../src/train/run-config.ts';

/**
 * The slow tests' judge of generated digits: a gantry classifier trained for 300 steps on the embedded
 * digits (in `root`/judge), and FID of a run's newest checkpoint against the digits in its features
 * (1,000 images a side; the real ones a seeded choice).
 */
export async function mnistJudge(root: string): Promise<{ fid(runDir: string): Promise<number>; dispose(): void }> {
  const judge = join(root, 'judge');
  await train({ outDir: judge, quiet: true, config: validateRunConfig({ family: 'classifier', seed: 3, data: 'mnist', train: { steps: 300, batch: 64, checkpointEvery: 1000, sampleEvery: 1000 } }, 'test') });
  const extractor = classifierExtractor(judge);
  return {
    fid: async (runDir) => (await fidOf({ kind: 'data', spec: 'mnist' }, { kind: 'run', dir: runDir }, extractor, { n: 1000, seed: 5, quiet: true }, () => {})).value,
    dispose: () => extractor.dispose(),
  };
}

/**
 * A run of `config` in `dir` judged twice: FID at step `stopAt`, and at its last step after a resume (the
 * judge is made in `root` and disposed here).
 */
export async function fidEarlyAndLate(root: string, dir: string, config: RunConfig, stopAt: number): Promise<{ early: number; late: number }> {
  const judge = await mnistJudge(root);
  try {
    await train({ outDir: dir, config, quiet: true, stopAtStep: stopAt });
    const early = await judge.fid(dir);
    await train({ outDir: dir, resume: true, quiet: true });
    return { early, late: await judge.fid(dir) };
  } finally {
    judge.dispose();
  }
}
