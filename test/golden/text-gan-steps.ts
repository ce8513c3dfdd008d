import { tf } from '../helpers.ts';
import type { TextToImageGan } from '../../src/models/text-to-image.ts';
import { checkGoldenSteps, type GoldenStep } from './golden-steps.ts';

/**
 * A text-to-image family's GAN steps against its golden files (checkGoldenSteps; the files hold G's and D's
 * tensors, and each step its sentence vectors, the fixed caption encoder's output, as `sentences`). The
 * caption encoder is not trained (textSteps 0): each step's batch reads the file's sentence vectors.
 */
export async function checkTextGanSteps(name: string, build: (config: Record<string, unknown>, seed: number) => TextToImageGan, rngOf: Parameters<typeof checkGoldenSteps>[0]['rngOf'], losses: string[], lrOf: (net: string) => number): Promise<void> {
  await checkGoldenSteps<TextToImageGan>({
    name,
    build,
    nets: ['G', 'D'],
    section: (config) => ({ ...config, textSteps: 0, vocabulary: ['a', 'caption'] }),
    batchOf: (step: GoldenStep, images, model) => {
      const n = images.shape[0];
      model.text.stepVectors = () => tf.tensor2d(step.sentences as number[], [n, model.text.config.embedDim]);
      return { images, captions: Array(n).fill('a caption') };
    },
    rngOf,
    losses,
    lrOf,
  });
}
