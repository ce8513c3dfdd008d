import * as tf from '@tensorflow/tfjs-core';
import { GantryError } from '../errors.ts';
import { classConditions, encodeCaptions, NONE, type ConditionRows, type Generator } from '../explore/conditions.ts';
import { savedLevels } from '../explore/grid.ts';
import { vectorsToImages } from '../explore/render.ts';
import { settleGpuProducts } from '../models/step-runner.ts';
import { Progress } from '../train/progress.ts';
import { NumpyRandomState, TORCH_FIDELITY_SEED } from './numpy-random.ts';
import type { LpipsVgg16 } from './lpips.ts';

/** How the second end of each pair is reached from the first: torch-fidelity's ppl_z_interp_mode values. */
export const PPL_INTERPOLATIONS = ['lerp', 'slerp_any', 'slerp_unit'] as const;
export type PplInterpolation = typeof PPL_INTERPOLATIONS[number];
/**
 * What LPIPS is given: the images' unquantised values (StyleGAN's PPL; gantry's default), or their 8-bit
 * levels (torch-fidelity's default), whose rounding a step of 1e-4 mostly measures: most pixels keep their
 * level and the few that flip dominate, so the distance falls as epsilon, not epsilon squared, and the PPL
 * grows as 1 / epsilon.
 */
export const PPL_DTYPES = ['uint8', 'float32'] as const;
export type PplDtype = typeof PPL_DTYPES[number];

/** torch-fidelity's PPL defaults, but the unquantised images. */
export const PPL_DEFAULTS = { epsilon: 1e-4, interp: 'lerp' as PplInterpolation, resize: 64, dtype: 'float32' as PplDtype, discard: [1, 99] as [number, number] };

export interface PplOptions {
  /** Pairs of images (torch-fidelity's num_samples). */
  n: number;
  /** The step along the path (1e-4). */
  epsilon?: number;
  interp?: PplInterpolation;
  /** The square size LPIPS sees (64); null: the images' own size. */
  resize?: number | null;
  dtype?: PplDtype;
  /** Percentiles of the distances below and above which they are discarded ([1, 99]); null: none that side. */
  discard?: [number | null, number | null];
  /** NumPy's seed for the latent vectors and classes (torch-fidelity's 2020). */
  seed?: number;
  /** Pairs drawn and compared at once (64). */
  batch?: number;
  quiet?: boolean;
  /** A text run's captions: pair i is drawn with caption i (cycled). */
  captions?: string[];
}

/** Options with every default filled in. */
export type PplSettings = PplOptions & Required<Pick<PplOptions, 'epsilon' | 'interp' | 'resize' | 'dtype' | 'discard' | 'batch'>>;

export interface PplResult {
  /** Mean and standard deviation of the distances kept. */
  mean: number;
  std: number;
  n: number;
  kept: number;
  epsilon: number;
  interp: PplInterpolation;
  dtype: PplDtype;
  resize: number | null;
  /** LPIPS(ends) / epsilon^2 of every pair, in order, before the discard. */
  distances: Float32Array;
}

/**
 * Perceptual path length (Karras et al. 2019) as torch-fidelity computes it: for n pairs, latent vectors
 * z0, z1 ~ N(0, I) (NumPy's RandomState(seed).randn, all z0 then all z1) and, in a class-conditional run,
 * one class a pair (randint after both); the pair's ends are G(z0) and G(interp(z0, z1, epsilon)), drawn
 * with the same condition; the distance is LPIPS(ends) / epsilon^2; distances outside the discard
 * percentiles are dropped (NumPy's 'lower' and 'higher' percentiles) and the rest averaged. A text run
 * draws pair i with caption i of `captions`. Streamed a batch at a time: memory does not grow with n.
 */
export async function perceptualPathLength(run: Generator, lpips: LpipsVgg16, options: PplOptions): Promise<PplResult> {
  const { info } = run;
  const o = pplSettings(options);
  if (info.latentDim === 0) throw new GantryError(`a ${info.family} run has no latent space for a path length to walk; PPL scores runs that draw images from latent vectors`);
  if (info.conditioning.kind === 'labelMap') throw new GantryError(`a ${info.family} run draws its images from label maps; PPL walks the latent spaces of runs without them`);
  if (info.conditioning.kind === 'text' && !o.captions?.length) throw new GantryError(`a ${info.family} run draws its images with captions; give its captions`);
  const { epsilon, interp, resize, dtype, discard, batch } = o;
  const latents = new PplLatents(o.n, info.latentDim, o.seed ?? TORCH_FIDELITY_SEED, info.conditioning.kind === 'class' ? info.conditioning.numClasses : 0);
  const distances = new Float32Array(o.n);
  const progress = new Progress(o.n, 0, 'ppl (lpips-vgg16)', process.stderr, o.quiet);
  try {
    for (let start = 0; start < o.n; start += batch) {
      const count = Math.min(batch, o.n - start);
      const { z0, z1, classes } = latents.next(count);
      const ends = z1.map((b, i) => interpolateLatent(z0[i], b, epsilon, interp));
      const conditions: ConditionRows = classes ? classConditions(info, classes)
        : info.conditioning.kind === 'text' ? await encodeCaptions(run, Array.from({ length: count }, (_, i) => o.captions![(start + i) % o.captions!.length]))
        : NONE;
      // Each end drawn in a call of its own with the same conditions: a generator that reads more than z
      // and its condition (u-net-vae-gan's skip noise, by position in the call) gives both ends the same.
      const d = tf.tidy(() => {
        const levels = (vectors: Float32Array[]) => {
          const images = vectorsToImages(run, vectors, conditions);
          return dtype === 'uint8' ? savedLevels(images) : tf.mul(tf.add(images, 1), 127.5) as tf.Tensor4D;
        };
        return tf.div(lpips.distance(levels(z0), levels(ends), resize ?? undefined), epsilon * epsilon);
      });
      distances.set(await d.data() as Float32Array, start);
      d.dispose();
      progress.update(start + count);
      await settleGpuProducts();
    }
  } finally {
    progress.done();
  }
  return { ...summarizeDistances(distances, discard[0], discard[1]), n: o.n, epsilon, interp, dtype, resize, distances };
}

/** The options with torch-fidelity's defaults filled in, each checked: one message for the first wrong one. */
export function pplSettings(o: PplOptions): PplSettings {
  const s: PplSettings = { ...o, epsilon: o.epsilon ?? PPL_DEFAULTS.epsilon, interp: o.interp ?? PPL_DEFAULTS.interp, resize: o.resize === undefined ? PPL_DEFAULTS.resize : o.resize, dtype: o.dtype ?? PPL_DEFAULTS.dtype, discard: o.discard ?? PPL_DEFAULTS.discard, batch: o.batch ?? 64 };
  if (!Number.isInteger(s.n) || s.n < 1) throw new GantryError(`PPL: n (pairs) must be a whole number >= 1, got ${s.n}`);
  if (!(s.epsilon > 0 && s.epsilon < 1)) throw new GantryError(`PPL: epsilon must be a small positive number (torch-fidelity's is 1e-4), got ${s.epsilon}`);
  if (!PPL_INTERPOLATIONS.includes(s.interp)) throw new GantryError(`PPL: interp must be one of ${PPL_INTERPOLATIONS.join(', ')}, got "${s.interp}"`);
  if (!PPL_DTYPES.includes(s.dtype)) throw new GantryError(`PPL: dtype must be uint8 or float32, got "${s.dtype}"`);
  if (s.resize !== null && !(Number.isInteger(s.resize) && s.resize >= 16)) throw new GantryError(`PPL: resize must be a whole number >= 16 (VGG-16 halves it four times), got ${s.resize}`);
  if (!Number.isInteger(s.batch) || s.batch < 1) throw new GantryError(`PPL: batch must be a whole number >= 1, got ${s.batch}`);
  if (s.seed !== undefined && !(Number.isInteger(s.seed) && s.seed >= 0 && s.seed <= 0xffffffff)) throw new GantryError(`PPL: seed must be a whole number in 0 .. 2^32 - 1 (NumPy's RandomState), got ${s.seed}`);
  const [lo, hi] = s.discard;
  for (const p of [lo, hi]) if (p !== null && !(p > 0 && p < 100)) throw new GantryError(`PPL: discard percentiles must lie strictly between 0 and 100, got ${p}`);
  if (lo !== null && hi !== null && lo >= hi) throw new GantryError(`PPL: the lower discard percentile (${lo}) must be below the higher (${hi})`);
  return s;
}

/**
 * torch-fidelity's latent draws for n pairs, a batch at a time: z0 (n x dim normals), then z1 (n x dim),
 * then the classes (n), each read from its own copy of the stream skipped to where that part starts.
 */
export class PplLatents {
  private readonly z0: NumpyRandomState;
  private readonly z1: NumpyRandomState;
  private readonly labels: NumpyRandomState | null;

  constructor(n: number, private readonly dim: number, seed: number, private readonly classes: number) {
    this.z0 = new NumpyRandomState(seed);
    this.z1 = skippedNormals(seed, n * dim);
    this.labels = classes > 0 ? skippedNormals(seed, 2 * n * dim) : null;
  }

  next(count: number): { z0: Float32Array[]; z1: Float32Array[]; classes: number[] | null } {
    const draw = (r: NumpyRandomState) => Array.from({ length: count }, () => r.fillNormal(new Float32Array(this.dim)));
    const z0 = draw(this.z0);
    const z1 = draw(this.z1);
    const classes = this.labels ? Array.from({ length: count }, () => this.labels!.randint(this.classes)) : null;
    return { z0, z1, classes };
  }
}

function skippedNormals(seed: number, count: number): NumpyRandomState {
  const r = new NumpyRandomState(seed);
  for (let i = 0; i < count; i++) r.normal();
  return r;
}

/**
 * The point t of the way from a to b as torch-fidelity's batch_interp computes it: 'lerp' a + (b - a) t;
 * 'slerp_any' along the great circle of the two vectors' directions, scaling a and b (lerp where either
 * is ~0 or they are ~collinear); 'slerp_unit' that, normalised. Rounded to float32 as PyTorch's are.
 */
export function interpolateLatent(a: Float32Array, b: Float32Array, t: number, mode: PplInterpolation): Float32Array {
  const out = new Float32Array(a.length);
  const t32 = Math.fround(t);
  const lerp = () => {
    for (let i = 0; i < a.length; i++) out[i] = a[i] + Math.fround(Math.fround(b[i] - a[i]) * t32);
    return out;
  };
  if (mode === 'lerp') return lerp();
  // explore/latent.ts's slerp is the one gantry's own commands walk; this one keeps torch-fidelity's edge
  // rules (its 1e-7, a lerp for ends near zero, parallel or opposite), so that the pairs are its pairs.
  const eps = 1e-7;
  const [la, lb] = [norm(a), norm(b)];
  const [na, nb] = [Math.max(la, eps), Math.max(lb, eps)];
  let d = 0;
  for (let i = 0; i < a.length; i++) d += (a[i] / na) * (b[i] / nb);
  if (la / na < eps || lb / nb < eps || d > 1 - eps || d < -1 + eps) lerp();
  else {
    const omega = Math.acos(d);
    const denom = Math.max(Math.sin(omega), eps);
    const ca = Math.sin((1 - t32) * omega) / denom;
    const cb = Math.sin(t32 * omega) / denom;
    for (let i = 0; i < a.length; i++) out[i] = ca * a[i] + cb * b[i];
  }
  if (mode === 'slerp_unit') {
    const n = Math.max(norm(out), eps);
    for (let i = 0; i < out.length; i++) out[i] /= n;
  }
  return out;
}

/**
 * Mean and standard deviation (NumPy's, population) of the distances between NumPy's `lower` percentile
 * `lo` and its `higher` percentile `hi`, both included (torch-fidelity's discard; null: no bound that side).
 */
export function summarizeDistances(distances: Float32Array, lo: number | null, hi: number | null): { mean: number; std: number; kept: number } {
  const sorted = Float32Array.from(distances).sort();
  const last = sorted.length - 1;
  const low = lo === null ? -Infinity : sorted[Math.floor(last * (lo / 100))];
  const high = hi === null ? Infinity : sorted[Math.ceil(last * (hi / 100))];
  const kept = distances.filter((d) => low <= d && d <= high);
  let sum = 0;
  for (const d of kept) sum += d;
  const mean = sum / kept.length;
  let sq = 0;
  for (const d of kept) sq += (d - mean) ** 2;
  return { mean, std: Math.sqrt(sq / kept.length), kept: kept.length };
}

function norm(v: Float32Array): number {
  let s = 0;
  for (const x of v) s += x * x;
  return Math.sqrt(s);
}
