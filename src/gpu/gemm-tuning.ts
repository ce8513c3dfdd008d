import { GantryError } from '../errors.ts';
import { GpuContext, type Dispatch, type Region } from './context.ts';
import { withDawnFeature } from './matrix-products.ts';

/**
 * GEMM tiles and K-splits measured on the GPU at hand (GANTRY_GPU_TUNING=1), as cuDNN's benchmark mode
 * chooses its algorithms: gemmPlan's rules were fitted to an H100 (a grid of ~512 workgroups fills it),
 * and what fills an integrated GPU or a smaller card, or where a split's second pass costs more than it
 * gains, only timing tells.
 *
 * A product gemm() meets for the first time without a tile or split from its caller is run as gemmPlan
 * chooses and noted; tunePendingGemms (awaited between training steps, before a step is recorded) then
 * times each noted product under every candidate on buffers of its own, its dispatches run 5 times in a
 * timed pass, and keeps the fastest. Later calls of the same product (the same operands' WGSL,
 * sizes, groups and epilogue) take it. The choices are kept per GPU (a TuningStore: a file under
 * gantry's cache folder in Node), so a machine tunes each product once.
 *
 * A choice changes the order in which a product's sums are taken, so results move by float32 rounding
 * against gemmPlan's; a run resumed on the same machine takes the same choices and stays exact.
 */

export interface GemmChoice {
  tile: 'thin' | 64 | 128;
  splitK: number;
}

/** Where a GPU's choices live between processes. */
export interface TuningStore {
  load(): Record<string, GemmChoice>;
  save(choices: Record<string, GemmChoice>): void;
}

export interface Pending {
  /** Floats in each binding gemm() was given: A, B, C and the bias where there is one. */
  lengths: number[];
  /** gemmPlan's choice first: it stays unless another is faster. */
  candidates: GemmChoice[];
  /** The product's dispatches under a choice, on the given regions of a context of the tuner's. */
  build: (ctx: GpuContext, regions: Region[], choice: GemmChoice) => Dispatch[];
}

/** Most bytes a candidate's K-split partial sums may take: tuning must not hold more memory than the step. */
const MAX_PARTIAL_BYTES = 256 * 1024 * 1024;
/** Repeats of a candidate in its timed pass, so that its time is well above the timer's resolution. */
const REPEATS = 5;

const state = {
  store: null as TuningStore | null,
  choices: new Map<string, GemmChoice>(),
  pending: new Map<string, Pending>(),
  /** How many products have been tuned in this process (tests, benchmarks). */
  tuned: 0,
  /** How many have been noted: a program built once (DCGAN's hand-built step) compares it before and after. */
  noted: 0,
  /** Milliseconds spent timing them. */
  ms: 0,
};

/** Whether GANTRY_GPU_TUNING's value asks for tuning: 1 or 0 (absent: 0); anything else is an error naming both. */
export function gemmTuningRequested(value: string | undefined): boolean {
  if (value === undefined || value === '' || value === '0') return false;
  if (value === '1') return true;
  throw new GantryError(`GANTRY_GPU_TUNING is 1 (time each matrix product's tiles and splits on this GPU, once, and keep the fastest) or 0, not "${value}"`);
}

/** Dawn's flags with timestamp quantization off (as GANTRY_DAWN_FLAGS="disable-dawn-features=timestamp_quantization" asks). */
export function withExactTimestamps(flags: string[]): string[] {
  return withDawnFeature(flags, 'disable', 'timestamp_quantization');
}

/** Turns tuning on (startWebGpu, for GANTRY_GPU_TUNING=1), with the choices the store holds. */
export function enableGemmTuning(store: TuningStore): void {
  state.store = store;
  state.choices = new Map(Object.entries(store.load()));
  state.pending.clear();
}

/** Turns it off and forgets the choices (tests). */
export function disableGemmTuning(): void {
  state.store = null;
  state.choices.clear();
  state.pending.clear();
}

export function gemmTuningEnabled(): boolean {
  return state.store !== null;
}

/** Products measured so far in this process (benchmarks print it). */
export function gemmsTuned(): number {
  return state.tuned;
}

/** Seconds spent measuring them (benchmarks print it). */
export function gemmTuningSeconds(): number {
  return state.ms / 1000;
}

/** The measured choice for a product, or undefined (not tuned yet: noted when `pending` is given). */
export function tunedGemm(key: string, pending: () => Pending): GemmChoice | undefined {
  if (!state.store) return undefined;
  const chosen = state.choices.get(key);
  if (!chosen && !state.pending.has(key)) {
    state.pending.set(key, pending());
    state.noted++;
  }
  return chosen;
}

/**
 * Products noted so far in this process. A program built once and replayed (DCGAN's hand-built step and
 * generator) that noted some when built runs gemmPlan's choices for them: it is built again once they are
 * timed (pendingGemms() back to 0).
 */
export function gemmsNoted(): number {
  return state.noted;
}

/** Products noted and not tuned yet. */
export function pendingGemms(): number {
  return state.pending.size;
}

/** Candidate K-splits for a product: 1 and powers of two whose slices keep 64 of K and whose partial sums fit. */
export function candidateSplits(M: number, N: number, K: number, batched: boolean): number[] {
  if (batched) return [1];
  return [1, 2, 4, 8, 16, 32].filter((s) => s === 1 || (K / s >= 64 && s * M * N * 4 <= MAX_PARTIAL_BYTES));
}

/**
 * Times every pending product under each of its candidates and keeps the fastest (ties: the earlier, so
 * gemmPlan's choice stays unless another beats it), then saves the choices. Where there is work, `log`
 * hears how much before and how long it took after (and, once, a product whose timing failed). Without
 * WebGPU's timestamp queries nothing is timed and the products keep gemmPlan's choice.
 */
export async function tunePendingGemms(device: GPUDevice, log: (line: string) => void = () => {}): Promise<number> {
  if (!state.store || state.pending.size === 0) return 0;
  const work = [...state.pending];
  state.pending.clear();
  if (!device.features.has('timestamp-query')) {
    for (const [key, p] of work) state.choices.set(key, p.candidates[0]);
    return 0;
  }
  const t0 = performance.now();
  log(`gantry: timing ${work.length} GPU matrix product${work.length === 1 ? '' : 's'} under ${work.reduce((t, [, p]) => t + p.candidates.length, 0)} tiles and splits (GANTRY_GPU_TUNING; once per product on this GPU)`);
  let failed: string | null = null;
  for (const [key, p] of work) {
    // Its own pipelines: the losing candidates' are dropped with it (WebGPU cannot destroy a pipeline).
    const ctx = new GpuContext(device, 'own');
    let best = { choice: p.candidates[0], ns: Infinity };
    try {
      const regions = p.lengths.map((n, i) => ctx.region(ctx.buffer(n, `tuning.${i}`), n));
      for (const choice of p.candidates) {
        // A candidate this device refuses (its workgroup memory, say) is left out, not reported as the step's error.
        device.pushErrorScope('validation');
        let ns = Infinity;
        try {
          ns = (await ctx.profile(p.build(ctx, regions, choice), REPEATS)).reduce((a, b) => a + b, 0);
        } finally {
          if (await device.popErrorScope()) ns = Infinity;
        }
        if (ns < best.ns) best = { choice, ns };
      }
      state.tuned++;
    } catch (err) {
      // Timing is an optimisation: a product it fails on keeps gemmPlan's choice, said once.
      failed ??= `${key}: ${(err as Error).message}`;
      best = { choice: p.candidates[0], ns: Infinity };
    } finally {
      state.choices.set(key, best.choice);
      ctx.dispose();
    }
  }
  if (failed) log(`gantry: timing a GPU product failed (${failed}); such products keep gantry's own choice`);
  state.store.save(Object.fromEntries(state.choices));
  state.ms += performance.now() - t0;
  log(`gantry: GPU products timed in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return work.length;
}

/**
 * A product's identity for its choice: its size and a hash of everything that shapes its WGSL and grid
 * (gemm's spec without its label, and whether it adds a bias).
 */
export function gemmKey(M: number, N: number, K: number, shape: unknown): string {
  const text = JSON.stringify(shape);
  // FNV-1a, two lanes: 64 bits of hash for a few thousand products at most.
  let h1 = 0x811c9dc5;
  let h2 = 0x01000193;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193);
    h2 = Math.imul(h2 ^ c, 0x5bd1e995);
  }
  return `${M}x${N}x${K}:${(h1 >>> 0).toString(16).padStart(8, '0')}${(h2 >>> 0).toString(16).padStart(8, '0')}`;
}
