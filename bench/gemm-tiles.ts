// gantry's convolution GEMMs on WebGPU under every tile and K-split, layer by layer (bench/conv-layers.json's
// sets): the GPU time of each product as gemmPlan chooses it beside the fastest choice, to tell whether a
// layer that falls behind cuDNN (bench/gpu-session.ts, section 8) needs other choices or a better kernel.
// Each time is of the product's dispatches run 5 times in a timed pass (GpuContext.profile), median of 3;
// give GANTRY_DAWN_FLAGS="disable-dawn-features=timestamp_quantization" for times below Dawn's ~65 us rounding.
//   node --import tsx bench/gemm-tiles.ts [--set dcgan64] [--batch N] [--json]   (--batch: the layers' batch instead of their own)
import { parseArgs } from 'node:util';
import { initEngine } from '../src/engine/index.ts';
import { GpuContext, type Dispatch, type Region } from '../src/gpu/context.ts';
import { convFilterGrad, convForward, convInputGrad, outSize, residueTaps, spreadOverImage, type ConvGeometry } from '../src/gpu/kernels/conv.ts';
import { gemmPlan, THIN_MAX_N, type GemmTuning } from '../src/gpu/kernels/gemm.ts';
import { Rng } from '../src/engine/rng.ts';
import { convLayerSet, type ConvLayer } from './conv-layers.ts';

const { values } = parseArgs({ options: { set: { type: 'string', default: 'dcgan64' }, batch: { type: 'string' }, json: { type: 'boolean' } } });
const layers = convLayerSet(values.set!);
await initEngine({ device: 'webgpu', log: () => {} });
const ctx = GpuContext.fromTfjs();
const rng = new Rng(1, 'gemm-tiles');

function filled(n: number, label: string): Region {
  const r = ctx.region(ctx.buffer(n, label), n);
  ctx.write(r, rng.fillNormal(new Float32Array(n)));
  return r;
}

/** GPU milliseconds of one run of the dispatches: 5 runs in one timed pass each, median of 3 rounds. */
async function gpuMs(dispatches: Dispatch[]): Promise<number> {
  const rounds: number[] = [];
  for (let r = 0; r < 3; r++) rounds.push((await ctx.profile(dispatches, 5)).reduce((a, ns) => a + ns, 0) / 5 / 1e6);
  return rounds.sort((a, b) => a - b)[1];
}

const describe = (t: GemmTuning) => `${t.tile}${t.splitK! > 1 ? `/${t.splitK}` : ''}`;
const rows: { layer: ConvLayer; product: string; chosen: string; chosen_ms: number; best: string; best_ms: number }[] = [];
for (const { layer, n, h, w, cin: inC, cout: outC, kh, kw, stride, ph, pw } of layers) {
  const batch = values.batch ? Number(values.batch) : n;
  const g: ConvGeometry = { batch, h, w, inC, outC, kh, kw, sh: stride, sw: stride, padTop: ph, padBottom: ph, padLeft: pw, padRight: pw };
  const { oh, ow } = outSize(g);
  const x = filled(batch * h * w * inC, 'x');
  const wt = filled(kh * kw * inC * outC, 'w');
  const dy = filled(batch * oh * ow * outC, 'dy');
  const out = ctx.region(ctx.buffer(Math.max(x.length, wt.length, dy.length), 'out'));
  // Each product's GEMM (the first residue class's, for the input gradient) and its dispatches under a choice.
  const hq = Math.ceil(h / stride);
  const wq = Math.ceil(w / stride);
  const { tapsH, tapsW } = residueTaps(g, 0, 0);
  const products: [string, [number, number, number], (t: GemmTuning) => Dispatch[]][] = [
    ['forward', [batch * oh * ow, outC, kh * kw * inC], (t) => convForward(ctx, 'fwd', g, x, wt, out, {}, t)],
    ['input gradient', spreadOverImage(g) ? [batch, kh * kw * inC, outC] : [batch * hq * wq, inC, tapsH * tapsW * outC],
      (t) => convInputGrad(ctx, 'dgrad', g, dy, wt, out, false, t)],
    ['filter gradient', [kh * kw * inC, outC, batch * oh * ow], (t) => convFilterGrad(ctx, 'wgrad', g, x, dy, out, false, t)],
  ];
  for (const [product, [M, N, K], dispatches] of products) {
    const chosen = gemmPlan(M, N, K);
    const tiles: GemmTuning['tile'][] = N <= THIN_MAX_N ? ['thin'] : [64, 128];
    const choices: GemmTuning[] = tiles.flatMap((tile) => [1, 2, 4, 8, 16, 32].filter((s) => s === 1 || K / s >= 64).map((splitK) => ({ tile, splitK })));
    // As training runs it: each GEMM planning itself (the input gradient's other residue classes their own).
    let best = { t: chosen as GemmTuning, ms: await gpuMs(dispatches({})) };
    const chosenMs = best.ms;
    for (const t of choices) {
      if (t.tile === chosen.tile && t.splitK === chosen.splitK) continue;
      const ms = await gpuMs(dispatches(t));
      if (ms < best.ms) best = { t, ms };
    }
    rows.push({ layer, product, chosen: describe(chosen), chosen_ms: chosenMs, best: describe(best.t), best_ms: best.ms });
    console.log(`${JSON.stringify(layer)} ${product} (M ${M}, N ${N}, K ${K}): chosen ${describe(chosen)} ${chosenMs.toFixed(3)} ms; fastest ${describe(best.t)} ${best.ms.toFixed(3)} ms (${(chosenMs / best.ms).toFixed(2)}x)`);
  }
}
if (values.json) console.log(JSON.stringify({ set: values.set, rows }));
ctx.dispose();
