import { readFileSync } from 'node:fs';
import type { Rng } from '../src/engine/rng.ts';
import type { Dispatch, GpuContext, Region } from '../src/gpu/context.ts';
import { convFilterGrad, convForward, convInputGrad, outSize, residueClasses, spreadOverImage, winogradOf, type ConvGeometry, type ConvProduct, type ConvTuning } from '../src/gpu/kernels/conv.ts';

/** A layer of bench/conv-layers.json: [batch, height, width, in, out, kernel or [kh, kw], stride, padding or [rows, columns] on both sides]. */
export type ConvLayer = [number, number, number, number, number, number | [number, number], number, number | [number, number]];

/** A layer set of bench/conv-layers.json, each layer with its filter and padding spelled out. */
export function convLayerSet(name: string): { layer: ConvLayer; n: number; h: number; w: number; cin: number; cout: number; kh: number; kw: number; stride: number; ph: number; pw: number }[] {
  const layers = (JSON.parse(readFileSync(new URL('./conv-layers.json', import.meta.url), 'utf8')) as Record<string, ConvLayer[]>)[name];
  if (!Array.isArray(layers)) throw new Error(`no layer set ${name} in bench/conv-layers.json`);
  return layers.map((layer) => {
    const [n, h, w, cin, cout, k, stride, pad] = layer;
    const [kh, kw] = typeof k === 'number' ? [k, k] : k;
    const [ph, pw] = typeof pad === 'number' ? [pad, pad] : pad;
    return { layer, n, h, w, cin, cout, kh, kw, stride, ph, pw };
  });
}

/** A layer of a set as gantry's GPU kernels take it, at its own batch or another. */
export function layerGeometry(l: ReturnType<typeof convLayerSet>[number], batch = l.n): ConvGeometry {
  return { batch, h: l.h, w: l.w, inC: l.cin, outC: l.cout, kh: l.kh, kw: l.kw, sh: l.stride, sw: l.stride, padTop: l.ph, padBottom: l.ph, padLeft: l.pw, padRight: l.pw };
}

export interface GpuProduct {
  name: ConvProduct;
  /** The implicit GEMM's M, N and K (the input gradient's: its residue classes' rows together, their longest K). */
  size: [number, number, number];
  /** The Winograd transform it runs by where the tuning does not say (a 3x3 stride-1 convolution, channels and tiles enough): F(m x m, 3x3), or null. */
  winograd: 2 | 4 | null;
  /** Its dispatches under a tuning (a tile and K-split chosen by gemmPlan where absent). */
  dispatches: (t: ConvTuning) => Dispatch[];
}

/**
 * A layer's three products as gantry's WGSL kernels run them, on buffers of normal noise (freed with the
 * context), for timing them on the GPU alone: x, the filter and dy as inputs, one output buffer.
 */
export function gpuProducts(ctx: GpuContext, g: ConvGeometry, rng: Rng): GpuProduct[] {
  const { oh, ow } = outSize(g);
  const filled = (n: number, label: string): Region => ctx.upload(rng.fillNormal(new Float32Array(n)), label);
  const x = filled(g.batch * g.h * g.w * g.inC, 'x');
  const w = filled(g.kh * g.kw * g.inC * g.outC, 'w');
  const dy = filled(g.batch * oh * ow * g.outC, 'dy');
  const out = ctx.region(ctx.buffer(Math.max(x.length, w.length, dy.length), 'out'));
  const classes = residueClasses(g);
  return [
    { name: 'forward', size: [g.batch * oh * ow, g.outC, g.kh * g.kw * g.inC], winograd: winogradOf(ctx, g, 'forward')?.m ?? null, dispatches: (t) => convForward(ctx, 'fwd', g, x, w, out, {}, t) },
    {
      name: 'input gradient',
      size: spreadOverImage(g) ? [g.batch, g.kh * g.kw * g.inC, g.outC] : [classes.reduce((s, c) => s + c.M, 0), g.inC, Math.max(...classes.map((c) => c.K))],
      winograd: spreadOverImage(g) ? null : winogradOf(ctx, g, 'input gradient')?.m ?? null,
      dispatches: (t) => convInputGrad(ctx, 'dgrad', g, dy, w, out, false, t),
    },
    { name: 'filter gradient', size: [g.kh * g.kw * g.inC, g.outC, g.batch * oh * ow], winograd: winogradOf(ctx, g, 'filter gradient')?.m ?? null, dispatches: (t) => convFilterGrad(ctx, 'wgrad', g, x, dy, out, false, t) },
  ];
}

/**
 * GPU milliseconds of one run of the dispatches: each timed alone, 5 runs in a timed pass (GpuContext.profile),
 * median of 3 rounds. Give GANTRY_DAWN_FLAGS="disable-dawn-features=timestamp_quantization" for times below
 * Dawn's ~65 us rounding.
 */
export async function gpuMs(ctx: GpuContext, dispatches: Dispatch[]): Promise<number> {
  const rounds: number[] = [];
  for (let r = 0; r < 3; r++) rounds.push((await ctx.profile(dispatches, 5)).reduce((a, ns) => a + ns, 0) / 5 / 1e6);
  return rounds.sort((a, b) => a - b)[1];
}
