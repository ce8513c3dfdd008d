import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeIdMap } from '../../src/io/id-map.ts';

const here = dirname(fileURLToPath(import.meta.url));

/** pix2pixhd_golden.json (make_pix2pixhd.py): PyTorch's images of its label maps by the generators of the .pth files beside it. */
export interface Pix2PixHDGolden {
  size: [number, number, number];
  config: { labelNc: number };
  labels: number[];
  instances: number[];
  fake: { data: number[] };
  fakeLocal: { data: number[] };
  /** Random images in [-1, 1] (NHWC), and the feature encoder's instance means of them. */
  real: number[];
  encoded: { data: number[] };
}

export function readPix2PixHDGolden(): Pix2PixHDGolden {
  return JSON.parse(readFileSync(join(here, 'pix2pixhd_golden.json'), 'utf8'));
}

/**
 * The golden label and instance maps as PNG files, as a user gives them: DIR/labels/mapK.png,
 * DIR/inst/mapK.png; the two folders and their files in order.
 */
export function writePix2PixHDGoldenMaps(g: Pix2PixHDGolden, dir: string): { labels: string; instances: string; labelFiles: string[]; instanceFiles: string[] } {
  const [n, h, w] = g.size;
  const [labels, instances] = [join(dir, 'labels'), join(dir, 'inst')];
  for (const sub of [labels, instances]) mkdirSync(sub, { recursive: true });
  const [labelFiles, instanceFiles]: string[][] = [[], []];
  for (let i = 0; i < n; i++) {
    const part = (ids: number[]) => ids.slice(i * h * w, (i + 1) * h * w);
    labelFiles.push(join(labels, `map${i}.png`));
    instanceFiles.push(join(instances, `map${i}.png`));
    writeFileSync(labelFiles[i], encodeIdMap({ width: w, height: h, ids: part(g.labels) }));
    writeFileSync(instanceFiles[i], encodeIdMap({ width: w, height: h, ids: part(g.instances) }, 16));
  }
  return { labels, instances, labelFiles, instanceFiles };
}

/** The largest difference in 8-bit levels between drawn RGB(A) pixels and PyTorch's images in [-1, 1] (image `i` of `want`). */
export function levelsOff(pixels: ArrayLike<number>, channels: number, want: { data: number[] }, i: number, area: number): number {
  let worst = 0;
  for (let p = 0; p < area; p++) for (let c = 0; c < 3; c++) {
    const expected = Math.round((want.data[(i * area + p) * 3 + c] + 1) * 127.5);
    worst = Math.max(worst, Math.abs(pixels[p * channels + c] - expected));
  }
  return worst;
}
