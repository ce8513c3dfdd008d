// sgemm's micro-kernels side by side on this CPU: the default (512-bit tiles where the CPU has AVX-512)
// and the AVX2 kernel alone (forced), on square and convolution-shaped products, GFLOP/s (median of 12).
//   node --import tsx bench/sgemm-kernels.ts
import { initEngine } from '../src/engine/index.ts';
import { loadNativeAddon } from '../src/kernels/cpu/native.ts';

await initEngine({ device: 'cpu' });
const addon = loadNativeAddon().addon;
if (!addon) throw new Error('the native addon is not built (npm ci builds it)');
// [M, N, K]: square; a small map's filter gradient (patches x channels); its transpose; a 1x1 convolution
const SHAPES = [[1024, 1024, 1024], [2304, 256, 256], [256, 256, 2304], [16384, 64, 32]];
console.log(`sgemm kernels (${addon.info().threads} threads; AVX-512 tiles ${addon.info().avx512 ? 'on' : 'not available'} by default)`);
for (const [M, N, K] of SHAPES) {
  const A = new Float32Array(M * K).fill(1.1);
  const B = new Float32Array(K * N).fill(0.9);
  const C = new Float32Array(M * N);
  const gflops = (avx2: boolean) => {
    addon.forceAvx2(avx2);
    const times: number[] = [];
    for (let r = 0; r < 15; r++) {
      const t0 = performance.now();
      addon.sgemm(false, false, M, N, K, 1, A, K, B, N, 0, C, N);
      if (r >= 3) times.push(performance.now() - t0);
    }
    addon.forceAvx2(false);
    return (2 * M * N * K) / times.sort((a, b) => a - b)[6] / 1e6;
  };
  const [wide, narrow, wide2, narrow2] = [gflops(false), gflops(true), gflops(false), gflops(true)];
  console.log(`${M}x${N}x${K}: default ${wide.toFixed(0)} / ${wide2.toFixed(0)} GFLOP/s, AVX2 kernel ${narrow.toFixed(0)} / ${narrow2.toFixed(0)} GFLOP/s`);
}
