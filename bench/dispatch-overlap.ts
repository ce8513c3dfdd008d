// Whether the GPU runs the independent dispatches of one compute pass at the same time, and what one merged
// dispatch gains over several (a strided input gradient's residue classes, four GEMMs for stride 2, were
// four dispatches and are now the groups of one: src/gpu/kernels/conv.ts). For GEMMs of one shape
// (default: one class of a DCGAN generator layer at batch 64, 4096 x 128 x 1024), the GPU time of one pass
// holding
//   a. 4 GEMMs, each writing its own buffer;   b. 4 GEMMs writing disjoint quarters of one buffer;
//   c. 1 GEMM four times as tall (the same work in one dispatch);   d. 1 GEMM (a quarter of the work).
// a and b near 4 d with c well under them: the dispatches ran one after another, and merging pays; a near c:
// they overlapped already. Timestamps at the pass's start and end, median of 7 passes after 2.
//   GANTRY_DAWN_FLAGS=disable-dawn-features=timestamp_quantization node --import tsx bench/dispatch-overlap.ts [--m 4096] [--n 128] [--k 1024] [--split 1] [--json]
import { parseArgs } from 'node:util';
import { initEngine } from '../src/engine/index.ts';
import { createPassTimeline, stepsOnGpu } from '../src/gpu/pass-timeline.ts';
import { GpuContext, type Dispatch, type Region } from '../src/gpu/context.ts';
import { gemm, rowMajorByK, rowMajorByOuter, type GemmSpec } from '../src/gpu/kernels/gemm.ts';
import { Rng } from '../src/engine/rng.ts';

const { values } = parseArgs({ options: { m: { type: 'string', default: '4096' }, n: { type: 'string', default: '128' }, k: { type: 'string', default: '1024' }, split: { type: 'string', default: '1' }, json: { type: 'boolean' } } });
const [M, N, K, splitK] = [values.m, values.n, values.k, values.split].map(Number);
if (![M, N, K, splitK].every((v) => Number.isInteger(v) && v > 0)) throw new Error('--m, --n, --k and --split are positive integers');
await initEngine({ device: 'webgpu', log: () => {} });
const ctx = GpuContext.fromTfjs();
if (!ctx.device.features.has('timestamp-query')) throw new Error('this WebGPU adapter has no timestamp-query feature');
const rng = new Rng(1, 'dispatch-overlap');

function filled(n: number, label: string): Region {
  return ctx.upload(rng.fillNormal(new Float32Array(n)), label);
}

// A [4M, K] row-major, B [K, N] row-major; class i reads rows i*M.. of A.
const a = filled(4 * M * K, 'A');
const b = filled(K * N, 'B');
const spec = (m: number): GemmSpec => ({ label: `gemm${m}`, M: m, N, K, a: rowMajorByK(K), b: rowMajorByOuter(N) });
const rows = (i: number): Region => ({ buffer: a.buffer, offset: i * M * K, length: M * K });
const product = (m: number, from: Region, to: Region): Dispatch[] => gemm(ctx, spec(m), from, b, to, { splitK });

const separate = Array.from({ length: 4 }, (_, i) => ctx.region(ctx.buffer(M * N, `C${i}`), M * N));
const shared = ctx.buffer(4 * M * N, 'C');
const quarter = (i: number): Region => ({ buffer: shared, offset: i * M * N, length: M * N });
const cases: [string, Dispatch[]][] = [
  ['a. 4 GEMMs, 4 output buffers', [0, 1, 2, 3].flatMap((i) => product(M, rows(i), separate[i]))],
  ['b. 4 GEMMs, quarters of one buffer', [0, 1, 2, 3].flatMap((i) => product(M, rows(i), quarter(i)))],
  ['c. 1 GEMM, 4x as tall', product(4 * M, a, ctx.region(shared, 4 * M * N))],
  ['d. 1 GEMM (a quarter of the work)', product(M, rows(0), separate[0])],
];

/** GPU milliseconds of one compute pass holding the dispatches (GpuContext.run's pass timeline), median of 7 after 2. */
async function passMs(dispatches: Dispatch[]): Promise<number> {
  const times: number[] = [];
  for (let r = 0; r < 9; r++) {
    const timeline = createPassTimeline(ctx.device, 1);
    if (!timeline) throw new Error('this adapter has no timestamp-query feature');
    ctx.timeline = timeline;
    ctx.run(dispatches, dispatches.length);
    ctx.timeline = null;
    const [pass] = await stepsOnGpu(ctx, timeline, [{ from: 0, to: 2 }]);
    if (r >= 2) times.push(pass.in_passes_ms);
  }
  return times.sort((x, y) => x - y)[3];
}

const results: { case: string; dispatches: number; ms: number }[] = [];
console.log(`GEMM ${M} x ${N} x ${K}, K-split ${splitK}: one compute pass each`);
for (const [name, dispatches] of cases) {
  const ms = await passMs(dispatches);
  results.push({ case: name, dispatches: dispatches.length, ms });
  console.log(`${name.padEnd(40)} ${String(dispatches.length).padStart(2)} dispatches  ${ms.toFixed(3)} ms`);
}
const [sep, , merged, one] = results.map((r) => r.ms);
console.log(`4 dispatches / (4 x one): ${(sep / (4 * one)).toFixed(2)} (1: one after another); merged / 4 dispatches: ${(merged / sep).toFixed(2)} (under 1: merging pays)`);
if (values.json) console.log(JSON.stringify({ M, N, K, splitK, results }));
ctx.dispose();
