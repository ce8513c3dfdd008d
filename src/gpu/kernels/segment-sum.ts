import { alignFloats, type Dispatch, type GpuContext, type Region } from '../context.ts';
import { elementwise, INCLUSIVE_SCAN } from './image-ops.ts';

/**
 * Rows a segment sum takes: ranking them compares each with those before it, rows^2 / 2 comparisons
 * (2^31 here). A gather's gradient over more rows is left to tfjs's kernel.
 */
export const SEGMENT_SUM_MAX_ROWS = 1 << 16;

/**
 * y[s, :] = the sum of x[r, :] over the rows r whose id is s (ids int32 [rows], x [rows, width], y
 * [segments, width]; ids outside 0..segments-1 dropped, as TensorFlow's UnsortedSegmentSum): the gradient
 * of a gather, e.g. of a word-embedding table. Without float atomics, so the same input gives the same bits
 * on any GPU (tfjs's kernel adds floats in whatever order the GPU runs its threads): each segment's rows are
 * counted (integer atomics, exact), their lists laid out by a prefix sum of the counts, each row placed at
 * its rank among the earlier rows of its segment, and each output summed over its list in row order.
 */
export function segmentSum(ctx: GpuContext, rows: number, width: number, segments: number, x: Region, ids: Region, y: Region): Dispatch[] {
  if (rows > SEGMENT_SUM_MAX_ROWS) throw new Error(`segmentSum: ${rows} rows, past ${SEGMENT_SUM_MAX_ROWS}`);
  // One scratch buffer: each segment's row count, where its list starts, the lists (row numbers).
  const lengths = [segments, segments, Math.max(1, rows)];
  const offsets = lengths.map((_, i) => lengths.slice(0, i).reduce((a, l) => a + alignFloats(l), 0));
  const scratch = ctx.scratch(offsets[2] + alignFloats(lengths[2]), 'segment-sum.scratch');
  const [count, start, order] = lengths.map((length, i) => ({ buffer: scratch, offset: offsets[i], length }));
  const idsBinding = '@group(0) @binding(0) var<storage, read> Ids: array<i32>;';
  const clear = elementwise(ctx, 'segment-sum.clear', segments, '@group(0) @binding(0) var<storage, read_write> Count: array<u32>;', '    Count[i] = 0u;', [count]);
  const tally = elementwise(ctx, 'segment-sum.count', rows, `${idsBinding}
@group(0) @binding(1) var<storage, read_write> Count: array<atomic<u32>>;`, `    let s = Ids[i];
    if (s >= 0 && s < ${segments}) { atomicAdd(&Count[u32(s)], 1u); }`, [ids, count]);
  // Thread t of one workgroup lays out segments t * span .. (t + 1) * span - 1, after those below them.
  const span = Math.ceil(segments / 256);
  const layoutCode = /* wgsl */ `
@group(0) @binding(0) var<storage, read_write> Count: array<u32>;
@group(0) @binding(1) var<storage, read_write> Start: array<u32>;
${INCLUSIVE_SCAN}
@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) li: u32) {
  let first = li * ${span}u;
  let end = min(first + ${span}u, ${segments}u);
  var mine = 0u;
  for (var s = first; s < end; s++) { mine += Count[s]; }
  var next = inclusiveScan(li, mine) - mine;
  for (var s = first; s < end; s++) {
    Start[s] = next;
    next += Count[s];
  }
}`;
  const layout = ctx.dispatch('segment-sum.layout', layoutCode, [count, start], [1]);
  // Each row's rank among the earlier rows of its segment, the earlier ids read 256 at a time into workgroup memory.
  const groups = Math.max(1, Math.ceil(rows / 256));
  const gridX = Math.min(groups, 65535);
  const placeCode = /* wgsl */ `
${idsBinding}
@group(0) @binding(1) var<storage, read_write> Start: array<u32>;
@group(0) @binding(2) var<storage, read_write> Order: array<u32>;
var<workgroup> tile: array<i32, 256>;
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let base = (wg.y * ${gridX}u + wg.x) * 256u;
  let r = base + li;
  var s = -1;
  if (r < ${rows}u) { s = Ids[r]; }
  var rank = 0u;
  for (var t0 = 0u; t0 < base + 256u; t0 += 256u) {
    workgroupBarrier();
    var v = -1;
    if (t0 + li < ${rows}u) { v = Ids[t0 + li]; }
    tile[li] = v;
    workgroupBarrier();
    for (var j = 0u; j < 256u; j++) {
      if (t0 + j < r && tile[j] == s) { rank++; }
    }
  }
  if (r < ${rows}u && s >= 0 && s < ${segments}) { Order[Start[u32(s)] + rank] = r; }
}`;
  const place = ctx.dispatch('segment-sum.place', placeCode, [ids, start, order], [gridX, Math.ceil(groups / gridX)]);
  const sum = elementwise(ctx, 'segment-sum.sum', segments * width, `@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read_write> Count: array<u32>;
@group(0) @binding(2) var<storage, read_write> Start: array<u32>;
@group(0) @binding(3) var<storage, read_write> Order: array<u32>;
@group(0) @binding(4) var<storage, read_write> Y: array<f32>;`, `    let s = i / ${width}u;
    let k = i % ${width}u;
    let first = Start[s];
    var v = 0.0;
    for (var t = first; t < first + Count[s]; t++) { v += X[Order[t] * ${width}u + k]; }
    Y[i] = v;`, [x, count, start, order, y]);
  return [clear, tally, layout, place, sum];
}
