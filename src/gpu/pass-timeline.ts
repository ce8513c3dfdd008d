/// <reference types="@webgpu/types" />
import type { GpuContext, PassTimeline } from './context.ts';

/** Where one step's time on the GPU went, from the timestamps of its compute passes. */
export interface StepOnGpu {
  /** From its first pass's start to its last pass's end. */
  span_ms: number;
  /** Inside its passes; the rest of the span the GPU waited for the host's next submission. */
  in_passes_ms: number;
  /** Since the previous step's last pass ended (null for the first step). */
  idle_before_ms: number | null;
}

/**
 * A timeline with room for `passes` passes (by default the most a query set holds, 4,096 timestamps); null
 * without timestamp queries.
 */
export function createPassTimeline(device: GPUDevice, passes = 2048): PassTimeline | null {
  if (!device.features.has('timestamp-query')) return null;
  return { querySet: device.createQuerySet({ type: 'timestamp', count: 2 * Math.min(passes, 2048) }), next: 0 };
}

/**
 * Each step's time on the GPU, a step being the passes timed into `timeline` from index `from` up to `to`
 * (its `next` before and after the step). Steps after the query set ran out are left out. Destroys the
 * timeline's query set.
 */
export async function stepsOnGpu(ctx: GpuContext, timeline: PassTimeline, steps: { from: number; to: number }[]): Promise<StepOnGpu[]> {
  const t = await ctx.readTimestamps(timeline.querySet, Math.max(2, timeline.next));
  timeline.querySet.destroy();
  const ms = (a: bigint, b: bigint) => Number(b - a) / 1e6;
  const out: StepOnGpu[] = [];
  let previousEnd: bigint | null = null;
  for (const { from, to } of steps) {
    if (to <= from) break;
    let inPasses = 0;
    for (let q = from; q < to; q += 2) inPasses += ms(t[q], t[q + 1]);
    out.push({ span_ms: ms(t[from], t[to - 1]), in_passes_ms: inPasses, idle_before_ms: previousEnd === null ? null : ms(previousEnd, t[from]) });
    previousEnd = t[to - 1];
  }
  return out;
}
