import { GantryError, inWords } from '../errors.ts';
import { readNpz, writeNpz } from '../io/npy.ts';
import type { FeatureStats } from './frechet.ts';

/** How to make a statistics file, in the user's words. */
const statsHow = () => inWords('`gantry eval stats`', 'featureStats()');

/**
 * pytorch-fid's statistics files: an .npz with `mu` [d] and `sigma` [d, d] (float64). gantry's also hold `n`,
 * `half_split_fid` for small N, and `features`, the feature network's id (a string), which pytorch-fid ignores.
 */
export function readStatsFile(path: string): FeatureStats {
  const { arrays, texts, others } = readNpz(path);
  const { mu, sigma } = arrays;
  for (const name of ['mu', 'sigma']) {
    if (others[name]) throw new GantryError(`${path}: ${name} holds ${others[name]} values; FID statistics are float64 (or float32), make them again with ${statsHow()}`);
  }
  if (!mu || !sigma) throw new GantryError(`${path} has no "mu" and "sigma" arrays; it is not a FID statistics file (make one with ${statsHow()})`);
  const d = mu.shape[0];
  if (mu.shape.length !== 1 || sigma.shape.join('x') !== `${d}x${d}`) throw new GantryError(`${path}: mu is ${mu.shape.join('x')} and sigma ${sigma.shape.join('x')}; expected [d] and [d, d]`);
  const bad = [['mu', mu.data], ['sigma', sigma.data]].find(([, v]) => !(v as Float64Array).every(Number.isFinite));
  if (bad) throw new GantryError(`${path}: ${bad[0]} holds NaN or infinite values; the statistics are broken, make them again with ${statsHow()}`);
  const n = arrays.n ? Number(arrays.n.data[0]) : 0;
  const halfSplitFid = arrays.half_split_fid ? Number(arrays.half_split_fid.data[0]) : undefined;
  const features = texts.features;
  return { mu: Float64Array.from(mu.data), sigma: Float64Array.from(sigma.data), n, ...(halfSplitFid !== undefined ? { halfSplitFid } : {}), ...(features ? { features } : {}) };
}

export function writeStatsFile(path: string, stats: FeatureStats): void {
  const d = stats.mu.length;
  writeNpz(path, {
    mu: { shape: [d], data: stats.mu },
    sigma: { shape: [d, d], data: stats.sigma },
    n: { shape: [], data: Float64Array.of(stats.n) },
    ...(stats.halfSplitFid !== undefined ? { half_split_fid: { shape: [], data: Float64Array.of(stats.halfSplitFid) } } : {}),
  }, stats.features ? { features: stats.features } : {});
}
