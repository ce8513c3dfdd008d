import * as tf from '@tensorflow/tfjs-core';
import { GantryError } from '../errors.ts';
import { tokenize } from '../text/tokenizer.ts';
import type { OpenedRun } from '../train/run.ts';

/**
 * Images of latent vectors; conditional runs also get one conditioning vector per image: class weights
 * (cgan, acgan) or sentence vectors (gan-cls, dfgan). Used by the CLI's explore commands and the studio.
 */
export function vectorsToImages(run: OpenedRun, vectors: Float32Array[], conditions?: Float32Array[]): tf.Tensor4D {
  if (!run.model.generate) throw new GantryError(`this run (${run.config.family}) does not generate images`);
  return tf.tidy(() => {
    const z = tf.tensor2d(stackRows(vectors), [vectors.length, run.model.latentDim]);
    if (!conditions) return run.model.generate!(z);
    return run.model.generate!(z, tf.tensor2d(stackRows(conditions), [conditions.length, conditions[0].length]));
  });
}

export function stackRows(rows: Float32Array[]): Float32Array {
  const flat = new Float32Array(rows.reduce((n, r) => n + r.length, 0));
  let offset = 0;
  for (const r of rows) {
    flat.set(r, offset);
    offset += r.length;
  }
  return flat;
}

/** The captions of a text run's sample grids (empty for other runs). */
export function sampleCaptions(run: OpenedRun): string[] {
  return (run.config.model.sampleCaptions as string[] | undefined) ?? [];
}

/** Words of a caption that a text run never saw in training (each reads as one unknown word). */
export function unknownWords(run: OpenedRun, caption: string): string[] {
  const known = new Set((run.config.model.vocabulary as string[] | undefined) ?? []);
  return tokenize(caption).filter((w) => !known.has(w));
}

/** Sentence vectors of captions (a text run), one row each. */
export function captionVectors(run: OpenedRun, captions: string[]): Float32Array[] {
  if (!run.model.encodeText) throw new GantryError(`a ${run.config.family} run is not conditioned on text`);
  const phi = run.model.encodeText(captions);
  const values = phi.dataSync() as Float32Array;
  const d = phi.shape[1];
  phi.dispose();
  return captions.map((_, i) => values.slice(i * d, (i + 1) * d));
}
