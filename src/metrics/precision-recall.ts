import { GantryError, given } from '../errors.ts';
import { OutOfMemoryError, ensureMemoryFor } from '../engine/memory.ts';
import { nativeLinalg } from './linalg.ts';

/**
 * Precision and recall of a generator by k-nearest-neighbour balls in feature space (Kynkäänniemi et al.
 * 2019), as torch-fidelity's `prc` computes them, and density and coverage (Naeem et al. 2020) as clovaai's
 * prdc does. Every point's radius is its distance to its k-th nearest neighbour in its own set, itself
 * counted first (torch's kthvalue(k + 1)):
 * - precision: the share of fake points within (<=) some real point's radius (quality);
 * - recall: the share of real points within (<=) some fake point's radius (diversity);
 * - density: fake points' count of real balls (radius at the coverage k) they lie strictly inside, over k,
 *   averaged: about 1 when fakes are distributed as the reals are, and not fooled by outliers;
 * - coverage: the share of real points whose ball (strict) holds some fake point.
 *
 * Distances come in blocks from float32 matrix products (|a|^2 + |b|^2 - 2 a.b, the features first centred
 * on the real mean) whose error is bounded; a comparison that falls within that bound, and every radius, is
 * settled by the float64 distance from the features themselves. The results are therefore those of float64
 * distances, on every CPU and with or without the addon. Memory: the features and a centred copy, one
 * block of distances, and k + 5 candidates a point.
 */

export interface NeighbourhoodOptions {
  /** k of precision and recall: torch-fidelity's prc_neighborhood (3). */
  neighborhood?: number;
  /** k of density and coverage: prdc's recommendation (5). */
  coverageNeighborhood?: number;
  /** Points a side of one block of distances (1024: 4 MiB). */
  block?: number;
  /** Blocks done and their total, as the work goes on. */
  onProgress?: (done: number, total: number) => void;
}

export interface PrecisionRecall {
  precision: number;
  recall: number;
  /** torch-fidelity's F-score: 2 P R / max(1e-5, P + R). */
  fScore: number;
  density: number;
  coverage: number;
  neighborhood: number;
  coverageNeighborhood: number;
}

/** torch-fidelity's prc_neighborhood. */
export const PRC_NEIGHBORHOOD = 3;
/** prdc's recommended k for density and coverage. */
export const COVERAGE_NEIGHBORHOOD = 5;
const BLOCK = 1024;
/** Candidates kept a point beyond the k + 1 nearest, so that float32's misorderings are still inside. */
const SLACK = 4;

/** One feature set: its float32 rows, and the same centred on a shared point, with their squared norms. */
interface PointSet {
  raw: Float32Array;
  centred: Float32Array;
  norms: Float64Array;
  maxNorm: number;
  n: number;
}

function pointSet(raw: Float32Array, n: number, d: number, centre: Float64Array): PointSet {
  const centred = new Float32Array(n * d);
  const norms = new Float64Array(n);
  let maxNorm = 0;
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let k = 0; k < d; k++) {
      const v = Math.fround(raw[i * d + k] - centre[k]);
      centred[i * d + k] = v;
      s += v * v;
    }
    norms[i] = s;
    maxNorm = Math.max(maxNorm, s);
  }
  return { raw, centred, norms, maxNorm, n };
}

/** The squared distance between row i of a and row j of b, in float64 from their float32 values. */
function exactSquared(a: Float32Array, i: number, b: Float32Array, j: number, d: number): number {
  let s = 0;
  for (let k = 0, ai = i * d, bj = j * d; k < d; k++) {
    const t = a[ai + k] - b[bj + k];
    s += t * t;
  }
  return s;
}

/**
 * out[r * cols + c] = a[r0 + r] . b[c0 + c] over d: the addon's SGEMM, or a float64 loop without it
 * (more accurate still; both within the error bound below).
 */
function dotBlock(a: Float32Array, r0: number, rows: number, b: Float32Array, c0: number, cols: number, d: number, out: Float32Array): void {
  const addon = nativeLinalg();
  if (addon) {
    addon.sgemm(false, true, rows, cols, d, 1, a.subarray(r0 * d, (r0 + rows) * d), d, b.subarray(c0 * d, (c0 + cols) * d), d, 0, out, cols);
    return;
  }
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      let s = 0;
      for (let k = 0, ai = (r0 + r) * d, bj = (c0 + c) * d; k < d; k++) s += a[ai + k] * b[bj + k];
      out[r * cols + c] = s;
    }
  }
}

/**
 * How far a block's squared distance can be from the float64 one, as a multiple of |a|^2 + |b|^2 (centred):
 * a float32 dot product over d terms errs by at most d units of 2^-24 times sum |a_k b_k| <= (|a|^2 + |b|^2) / 2,
 * and rounding the centred features moves the distance by at most 4 units; doubled for safety.
 */
function errorFactor(d: number): number {
  return (d + 8) * 2 ** -23;
}

/** Where a block distance v lies against a radius: -1 surely below, 1 surely above, 0 within its error. */
function side(v: number, tolerance: number, radius: number): number {
  return v < radius - tolerance ? -1 : v > radius + tolerance ? 1 : 0;
}

/** The blocks of an n x m distance matrix, in order; `symmetric`: only those on or above the diagonal. */
function blockPairs(n: number, m: number, block: number, symmetric: boolean): [number, number][] {
  const pairs: [number, number][] = [];
  for (let r = 0; r < n; r += block) for (let c = symmetric ? r : 0; c < m; c += block) pairs.push([r, c]);
  return pairs;
}

/** Rows r0.. of one set against columns c0.. of another: `dots` holds each pair's centred a . b, rows x cols. */
interface DotBlock {
  r0: number;
  c0: number;
  rows: number;
  cols: number;
  dots: Float32Array;
}

/** The products of set a's rows with set b's, block by block in blockPairs' order, each in the same buffer. */
function* dotBlocks(a: PointSet, b: PointSet, d: number, block: number, symmetric: boolean): Generator<DotBlock> {
  const dots = new Float32Array(block * block);
  for (const [r0, c0] of blockPairs(a.n, b.n, block, symmetric)) {
    const rows = Math.min(block, a.n - r0), cols = Math.min(block, b.n - c0);
    dotBlock(a.centred, r0, rows, b.centred, c0, cols, d, dots);
    yield { r0, c0, rows, cols, dots };
  }
}

/**
 * Squared radii of every point of a set: its distance to its k-th nearest neighbour (itself the 0th), for
 * each k of `ks`, in float64. The nearest few are found by the block distances, then measured exactly; a
 * point whose kept candidates cannot be shown to hold its true nearest is measured against all points.
 */
function squaredRadii(set: PointSet, d: number, ks: number[], block: number, tick: () => void): Float64Array[] {
  const { n, norms } = set;
  const want = Math.max(...ks) + 1;
  const keep = Math.min(n, want + SLACK);
  const values = new Float64Array(n * keep).fill(Infinity);
  const index = new Int32Array(n * keep);
  const insert = (row: number, v: number, j: number) => {
    const base = row * keep;
    if (!(v < values[base + keep - 1])) return;
    let at = keep - 1;
    while (at > 0 && values[base + at - 1] > v) {
      values[base + at] = values[base + at - 1];
      index[base + at] = index[base + at - 1];
      at--;
    }
    values[base + at] = v;
    index[base + at] = j;
  };
  for (const { r0, c0, rows, cols, dots } of dotBlocks(set, set, d, block, true)) {
    for (let r = 0; r < rows; r++) {
      const i = r0 + r;
      for (let c = 0; c < cols; c++) {
        const j = c0 + c;
        const v = norms[i] + norms[j] - 2 * dots[r * cols + c];
        insert(i, v, j);
        // Blocks above the diagonal stand for their mirror images too.
        if (r0 !== c0) insert(j, v, i);
      }
    }
    tick();
  }
  const radii = ks.map(() => new Float64Array(n));
  const factor = errorFactor(d);
  const exact = new Float64Array(Math.max(keep, n));
  for (let i = 0; i < n; i++) {
    const base = i * keep;
    const tolerance = factor * (norms[i] + set.maxNorm);
    // A point left out has a block distance >= the last kept one: it cannot be nearer than the want-th
    // kept one when the two are further apart than both errors.
    const complete = keep === n || values[base + keep - 1] - tolerance > values[base + want - 1] + tolerance;
    let count = 0;
    if (complete) {
      for (let c = 0; c < keep; c++) exact[count++] = exactSquared(set.raw, i, set.raw, index[base + c], d);
    } else {
      for (let j = 0; j < n; j++) exact[count++] = exactSquared(set.raw, i, set.raw, j, d);
    }
    const nearest = exact.subarray(0, count).sort();
    ks.forEach((k, at) => { radii[at][i] = nearest[k]; });
  }
  return radii;
}

/**
 * Precision, recall, density and coverage of fake features against real ones ([n, d] row-major float32,
 * e.g. Inception's pool3 or a gantry classifier's features).
 */
export function precisionRecall(real: Float32Array, nReal: number, fake: Float32Array, nFake: number, d: number, options: NeighbourhoodOptions = {}): PrecisionRecall {
  const k = options.neighborhood ?? PRC_NEIGHBORHOOD;
  const kc = options.coverageNeighborhood ?? COVERAGE_NEIGHBORHOOD;
  for (const [name, v] of [['neighborhood', k], ['coverageNeighborhood', kc]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new GantryError(`${given(name)} must be a whole number >= 1, got ${v}`);
  }
  const need = Math.max(k, kc) + 1;
  if (nReal < need || nFake < k + 1) {
    throw new GantryError(`precision and recall with ${k} neighbours (density and coverage with ${kc}) need at least ${need} real and ${k + 1} fake images; got ${nReal} and ${nFake} (give more images, ${given('n')}, or fewer neighbours)`);
  }
  for (const [which, f, n] of [['real', real, nReal], ['fake', fake, nFake]] as const) {
    for (let i = 0; i < n * d; i++) {
      if (!Number.isFinite(f[i])) throw new GantryError(`the ${which} images' features hold ${f[i]} (image ${Math.floor(i / d)}): no distance can be measured; a generator that draws non-finite values has diverged`);
    }
  }
  const block = options.block ?? BLOCK;
  try {
    // The centred copies of both sets, and the radii and candidates.
    ensureMemoryFor((nReal + nFake) * (4 * d + 12 * (need + SLACK) + 24) + block * block * 4);
  } catch (err) {
    if (!(err instanceof OutOfMemoryError)) throw err;
    throw new GantryError(`${err.summary}: precision and recall hold a copy of the ${nReal} real and ${nFake} fake images' features; score fewer images (${given('n')})`);
  }
  const centre = new Float64Array(d);
  for (let i = 0; i < nReal; i++) for (let c = 0; c < d; c++) centre[c] += real[i * d + c];
  for (let c = 0; c < d; c++) centre[c] /= nReal;
  const r = pointSet(real, nReal, d, centre);
  const f = pointSet(fake, nFake, d, centre);

  const total = blockPairs(nReal, nReal, block, true).length + blockPairs(nFake, nFake, block, true).length + blockPairs(nFake, nReal, block, false).length;
  let done = 0;
  const tick = () => options.onProgress?.(++done, total);
  const [realRadius, realCoverageRadius] = squaredRadii(r, d, [k, kc], block, tick);
  const [fakeRadius] = squaredRadii(f, d, [k], block, tick);

  const inReal = new Uint8Array(nFake); // precision: fake j within some real ball
  const inFake = new Uint8Array(nReal); // recall: real i within some fake ball
  const covered = new Uint8Array(nReal); // coverage: real i's (coverage) ball holds a fake point
  let insideCount = 0; // density: fake-in-real-ball pairs
  const factor = errorFactor(d);
  for (const { r0: f0, c0: r0, rows, cols, dots } of dotBlocks(f, r, d, block, false)) {
    for (let a = 0; a < rows; a++) {
      const j = f0 + a;
      for (let b = 0; b < cols; b++) {
        const i = r0 + b;
        const v = f.norms[j] + r.norms[i] - 2 * dots[a * cols + b];
        const tolerance = factor * (f.norms[j] + r.norms[i]);
        let exact = -1; // the float64 distance, measured once when some comparison needs it
        if (!inReal[j]) {
          let s = side(v, tolerance, realRadius[i]);
          if (s === 0) s = (exact = exact >= 0 ? exact : exactSquared(fake, j, real, i, d)) <= realRadius[i] ? -1 : 1;
          if (s < 0) inReal[j] = 1;
        }
        if (!inFake[i]) {
          let s = side(v, tolerance, fakeRadius[j]);
          if (s === 0) s = (exact = exact >= 0 ? exact : exactSquared(fake, j, real, i, d)) <= fakeRadius[j] ? -1 : 1;
          if (s < 0) inFake[i] = 1;
        }
        let s = side(v, tolerance, realCoverageRadius[i]);
        if (s === 0) s = (exact = exact >= 0 ? exact : exactSquared(fake, j, real, i, d)) < realCoverageRadius[i] ? -1 : 1;
        if (s < 0) {
          insideCount++;
          covered[i] = 1;
        }
      }
    }
    tick();
  }
  const share = (flags: Uint8Array) => flags.reduce((s, x) => s + x, 0) / flags.length;
  const precision = share(inReal);
  const recall = share(inFake);
  return {
    precision,
    recall,
    fScore: (2 * precision * recall) / Math.max(1e-5, precision + recall),
    density: insideCount / (kc * nFake),
    coverage: share(covered),
    neighborhood: k,
    coverageNeighborhood: kc,
  };
}
