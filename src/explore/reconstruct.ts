import * as tf from '@tensorflow/tfjs-core';
import { GantryError } from '../errors.ts';
import type { ImageDataset } from '../data/dataset.ts';
import { makeBatch } from '../data/sampler.ts';
import { Rng } from '../engine/rng.ts';
import type { OpenedRun } from '../train/run.ts';
import { toUint8Images, type GeneratedImages } from './grid.ts';

/** Images through the auto-encoder at once: memory stays that of one chunk however many are asked for. */
const CHUNK = 64;

/**
 * An auto-encoder run's reconstructions (`gantry reconstruct`): `n` images of `data` in a seeded order
 * (the same seed picks the same images), and what the run makes of each, as 8-bit pixels.
 */
export async function reconstructImages(run: OpenedRun, data: ImageDataset, n: number, seed: number): Promise<{ inputs: GeneratedImages; reconstructions: GeneratedImages }> {
  const reconstruct = run.model.reconstruct?.bind(run.model);
  if (!reconstruct) throw new GantryError(`a ${run.config.family} run does not reconstruct images; use a vae, vae-gan or unet-vae-gan run`);
  const pick = new Rng(seed, 'reconstruct').permutation(data.n).subarray(0, Math.min(n, data.n));
  const { height, width, channels } = data;
  const per = height * width * channels;
  const inputs = new Uint8Array(pick.length * per);
  const outputs = new Uint8Array(pick.length * per);
  for (let start = 0; start < pick.length; start += CHUNK) {
    const batch = makeBatch(data, pick.subarray(start, start + CHUNK));
    const recon = reconstruct(batch.images);
    inputs.set(await toUint8Images(batch.images), start * per);
    outputs.set(await toUint8Images(recon), start * per);
    tf.dispose([batch.images, batch.labels ?? [], recon]);
  }
  const batchOf = (pixels: Uint8Array): GeneratedImages => ({ n: pick.length, height, width, channels, pixels });
  return { inputs: batchOf(inputs), reconstructions: batchOf(outputs) };
}
