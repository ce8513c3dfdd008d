// gantry's convolution GEMMs on WebGPU under every tile and K-split, layer by layer (bench/conv-layers.json's
// sets): the GPU time of each product as gemmPlan chooses it beside the fastest choice, to tell whether a
// layer that falls behind cuDNN (bench/gpu-session.ts, section 8) needs other choices or a better kernel.
// Each time is of the product's dispatches run 5 times in a timed pass (GpuContext.profile), median of 3;
// give GANTRY_DAWN_FLAGS="disable-dawn-features=timestamp_quantization" for times below Dawn's ~65 us rounding.
// With GANTRY_TENSOR_CORES=1 on a GPU with subgroup matrices, the products a draw runs (forward, input
// gradient) also on the matrix tile (16-bit inputs), 64 and 128 wide, under every K-split, apart: its fastest beside.
//   node --import tsx bench/gemm-tiles.ts [--set dcgan64] [--batch N] [--json]   (--batch: the layers' batch instead of their own)
import { parseArgs } from 'node:util';
import { initEngine } from '../src/engine/index.ts';
import { GpuContext } from '../src/gpu/context.ts';
import { matrixProductsOf } from '../src/gpu/matrix-products.ts';
import { candidateTiles, gemmPlan, THIN_MAX_N, type GemmTuning } from '../src/gpu/kernels/gemm.ts';
import { candidateSplits } from '../src/gpu/gemm-tuning.ts';
import { Rng } from '../src/engine/rng.ts';
import { convLayerSet, gpuMs, gpuProducts, layerGeometry, type ConvLayer } from './conv-layers.ts';

const { values } = parseArgs({ options: { set: { type: 'string', default: 'dcgan64' }, batch: { type: 'string' }, json: { type: 'boolean' } } });
const layers = convLayerSet(values.set!);
await initEngine({ device: 'webgpu', log: () => {} });
const ctx = GpuContext.fromTfjs();
const rng = new Rng(1, 'gemm-tiles');

const describe = (t: GemmTuning) => `${t.tile}${t.matrixWidth === 128 ? '128' : ''}${t.splitK! > 1 ? `/${t.splitK}` : ''}`;
const rows: { layer: ConvLayer; product: string; chosen: string; chosen_ms: number; best: string; best_ms: number; matrix?: string; matrix_ms?: number }[] = [];
for (const l of layers) {
  const { layer } = l;
  for (const { name: product, size: [M, N, K], dispatches } of gpuProducts(ctx, layerGeometry(l, values.batch ? Number(values.batch) : l.n), rng)) {
    const chosen = gemmPlan(M, N, K);
    // The candidates GANTRY_GPU_TUNING times (src/gpu/gemm-tuning.ts).
    const splits = candidateSplits(M, N, K, false);
    const choices: GemmTuning[] = candidateTiles(N).flatMap((tile) => splits.map((splitK) => ({ tile, splitK })));
    // gemmPlan's choice for the implicit GEMM (where training runs a product by Winograd, bench/convs.ts times both).
    let best = { t: chosen as GemmTuning, ms: await gpuMs(ctx, dispatches({ winograd: false })) };
    const chosenMs = best.ms;
    for (const t of choices) {
      if (t.tile === chosen.tile && t.splitK === chosen.splitK) continue;
      const ms = await gpuMs(ctx, dispatches({ ...t, winograd: false }));
      if (ms < best.ms) best = { t, ms };
    }
    let matrix: { t: GemmTuning; ms: number } | null = null;
    if (matrixProductsOf(ctx.device) && product !== 'filter gradient' && N > THIN_MAX_N) {
      for (const matrixWidth of [64, 128] as const) {
        for (const splitK of splits) {
          const ms = await gpuMs(ctx, dispatches({ tile: 'matrix', matrixWidth, splitK, winograd: false }));
          if (!matrix || ms < matrix.ms) matrix = { t: { tile: 'matrix', matrixWidth, splitK }, ms };
        }
      }
    }
    rows.push({ layer, product, chosen: describe(chosen), chosen_ms: chosenMs, best: describe(best.t), best_ms: best.ms, ...(matrix ? { matrix: describe(matrix.t), matrix_ms: matrix.ms } : {}) });
    const onMatrix = matrix ? `; on the matrix tile ${describe(matrix.t)} ${matrix.ms.toFixed(3)} ms (${(chosenMs / matrix.ms).toFixed(2)}x)` : '';
    console.log(`${JSON.stringify(layer)} ${product} (M ${M}, N ${N}, K ${K}): chosen ${describe(chosen)} ${chosenMs.toFixed(3)} ms; fastest ${describe(best.t)} ${best.ms.toFixed(3)} ms (${(chosenMs / best.ms).toFixed(2)}x)${onMatrix}`);
  }
}
if (values.json) console.log(JSON.stringify({ set: values.set, rows }));
ctx.dispose();
