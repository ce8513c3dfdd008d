import { GantryError } from '../errors.ts';
import { Rng } from '../engine/rng.ts';
import { useBuiltAddon } from '../kernels/cpu/native-node.ts';
import { loadNativeAddon } from '../kernels/cpu/native.ts';

useBuiltAddon();

/** Times the native SGEMM on an n x n x n product: the practical compute ceiling of the machine. */
export function benchSgemm(n = 1024, repeats = 20): { workload: string; median_ms: number; gflops: number; kernel: string; threads: number } {
  const { addon, error } = loadNativeAddon();
  if (!addon) throw new GantryError(`the sgemm workload needs the native addon: ${error}`);
  const rng = new Rng(0, 'sgemm');
  const a = rng.fillNormal(new Float32Array(n * n));
  const b = rng.fillNormal(new Float32Array(n * n));
  const c = new Float32Array(n * n);
  for (let i = 0; i < 3; i++) addon.sgemm(false, false, n, n, n, 1, a, n, b, n, 0, c, n);
  const times: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    addon.sgemm(false, false, n, n, n, 1, a, n, b, n, 0, c, n);
    times.push(performance.now() - t0);
  }
  times.sort((x, y) => x - y);
  const median = times[Math.floor(times.length / 2)];
  const info = addon.info();
  return { workload: `sgemm${n}`, median_ms: Math.round(median * 1000) / 1000, gflops: Math.round((2 * n ** 3) / (median * 1e6) * 10) / 10, kernel: info.kernel, threads: info.threads };
}
