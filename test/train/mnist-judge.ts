import { join } from 'node:path';
import { classifierExtractor } from '../../src/metrics/features.ts';
import { fidOf } from '../../src/metrics/scores.ts';
import { train } from '../../src/train/trainer.ts';
import { validateRunConfig, type RunConfig } from '../../src/train/run-config.ts';
import { tempDir } from '../helpers.ts';

// Made at import, so that its removal is the file's (after its last test), not the first test's that trains the judge.
const judgeRoot = tempDir('gantry-judge-');
let judgeTrained: Promise<string> | undefined;

/**
 * The slow tests' judge of generated digits: a gantry classifier trained for 300 steps on the embedded
 * digits (once per test file, shared by its tests), and FID of a run's newest checkpoint against the
 * digits in its features (1,000 images a side; the real ones a seeded choice).
 */
export async function mnistJudge(): Promise<{ fid(runDir: string): Promise<number>; dispose(): void }> {
  judgeTrained ??= (async () => {
    const judge = join(judgeRoot, 'judge');
    await train({ outDir: judge, quiet: true, config: validateRunConfig({ family: 'classifier', seed: 3, data: 'mnist', train: { steps: 300, batch: 64, checkpointEvery: 1000, sampleEvery: 1000 } }, 'test') });
    return judge;
  })();
  const extractor = classifierExtractor(await judgeTrained);
  return {
    fid: async (runDir) => (await fidOf({ kind: 'data', spec: 'mnist' }, { kind: 'run', dir: runDir }, extractor, { n: 1000, seed: 5, quiet: true }, () => {})).value,
    dispose: () => extractor.dispose(),
  };
}

/** A run of `config` in `dir` judged twice: FID at step `stopAt`, and at its last step after a resume. */
export async function fidEarlyAndLate(dir: string, config: RunConfig, stopAt: number): Promise<{ early: number; late: number }> {
  const judge = await mnistJudge();
  try {
    await train({ outDir: dir, config, quiet: true, stopAtStep: stopAt });
    const early = await judge.fid(dir);
    await train({ outDir: dir, resume: true, quiet: true });
    return { early, late: await judge.fid(dir) };
  } finally {
    judge.dispose();
  }
}
