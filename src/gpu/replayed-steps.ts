import type * as tf from '@tensorflow/tfjs-core';
import type { PassTimeline } from './context.ts';
import { recordStep, type StepRecording } from './step-recording.ts';
import { gradientsRecorded } from '../engine/backward.ts';

interface Kind {
  /** Whether its first (eager) step has run. */
  warmedUp: boolean;
  /** The first recording's signature, waiting for a second recording to agree with it (its buffers are freed). */
  candidate: string[] | null;
  replaying: StepRecording | null;
  /** The signature both recordings agreed on: a later re-recording (after a stale one) must match it. */
  signature: string[] | null;
  refused: string | null;
}

/**
 * A model's train steps on WebGPU, each kind recorded once and replayed (step-recording.ts). A kind is
 * the family's key (which networks train: `stepKey`) with the shapes of the step's input tensors. Its first
 * step runs eagerly (pipelines compile, weights load lazily), the next two are recorded, and when both
 * recordings agree (the same dispatches, uniforms and constants: none of the step's host data escaped its
 * host inputs) the later one is replayed from then on. A kind whose recordings disagree, or that reads the
 * device inside the step, stays on the eager kernels, said once. A recording gone stale (a variable it
 * reads disposed, or its value off the device) is recorded again and must match; variables that other
 * kinds' steps or an assign moved to other buffers the replay copies in (step-recording.ts), so kinds that
 * take turns (D-only and full steps, a lazy R1's) each keep replaying.
 */
export class ReplayedSteps {
  /** In order of last use, the least recent first. */
  private readonly kinds = new Map<string, Kind>();
  /** Replayed steps so far (tests and benchmarks read it). */
  replayed = 0;
  /** Set: replays time their compute passes into it (benchmarks). */
  timeline: PassTimeline | null = null;

  /**
   * @param maxRecordings recordings held at once (each pins the buffers of one step): past it, the least
   *   recently used kind is forgotten, and recorded again if it comes back. Generators, whose batch sizes
   *   follow what a person asks for (a page's grid, editor and interpolation strips), set it; train steps
   *   have a few kinds.
   */
  constructor(private readonly log: (line: string) => void = () => {}, private readonly maxRecordings = Infinity) {}

  run<T extends Record<string, tf.Tensor>>(key: string | null, scopes: readonly object[], inputs: readonly tf.Tensor[], step: () => T): T {
    // A replay's outputs have no gradient: under a gradient pass (a projection by LPIPS) the step runs as written.
    if (key === null || gradientsRecorded()) return step();
    const name = `${key} (${inputs.map((t) => `${t.shape.join('x')} ${t.dtype}`).join(', ')})`;
    let kind = this.kinds.get(name);
    if (kind) this.kinds.delete(name);
    else kind = { warmedUp: false, candidate: null, replaying: null, signature: null, refused: null };
    this.kinds.set(name, kind);
    this.forgetLeastRecent();
    if (kind.refused) return step();
    if (kind.replaying) {
      if (!kind.replaying.stale()) {
        this.replayed++;
        return kind.replaying.replay(scopes, inputs, this.timeline) as T;
      }
      kind.replaying.dispose();
      kind.replaying = null;
    }
    if (!kind.warmedUp && !kind.signature) {
      kind.warmedUp = true;
      return step();
    }
    const { outputs, recording } = recordStep(scopes, inputs, step);
    if (recording.failure) {
      this.refuse(kind, name, recording.failure);
      recording.dispose();
      return outputs as T;
    }
    const signature = recording.signature();
    const reference = kind.signature ?? kind.candidate;
    kind.candidate = null;
    if (!reference) {
      // Only its signature is kept: two recordings' buffers at once would double the step's memory.
      kind.candidate = signature;
      recording.dispose();
      return outputs as T;
    }
    const at = firstDifference(reference, signature);
    if (at >= 0) {
      this.refuse(kind, name, `two recordings differ (${reference[at] ?? 'nothing'} / ${signature[at] ?? 'nothing'}): host data the step draws outside its host inputs, or a step whose operations change`);
      recording.dispose();
      return outputs as T;
    }
    kind.signature = signature;
    kind.replaying = recording;
    this.forgetLeastRecent();
    return outputs as T;
  }

  /** Dispatches a replay of each replayed kind issues (benchmarks print it: fewer, larger kernels are the GPU's fast path). */
  dispatches(): Record<string, number> {
    return Object.fromEntries([...this.kinds].filter(([, k]) => k.replaying).map(([name, k]) => [name, k.replaying!.commands.filter((c) => c.kind === 'dispatch').length]));
  }

  /** Each replayed kind's dispatches timed alone on the GPU (StepRecording.profile): benchmarks, after timing. */
  async profile(): Promise<Record<string, { label: string; ns: number }[]>> {
    const out: Record<string, { label: string; ns: number }[]> = {};
    for (const [name, kind] of this.kinds) if (kind.replaying) out[name] = await kind.replaying.profile();
    return out;
  }

  /** Kinds that run eagerly for good, with the reason. */
  refusals(): Record<string, string> {
    return Object.fromEntries([...this.kinds].filter(([, k]) => k.refused).map(([name, k]) => [name, k.refused!]));
  }

  dispose(): void {
    for (const kind of this.kinds.values()) kind.replaying?.dispose();
    this.kinds.clear();
  }

  /** Forgets the least recently used kinds while more than maxRecordings hold recordings, or more than 16 times as many kinds are known. */
  private forgetLeastRecent(): void {
    const holding = () => [...this.kinds.values()].filter((k) => k.replaying).length;
    for (const [name, kind] of this.kinds) {
      if (holding() <= this.maxRecordings && this.kinds.size <= 16 * this.maxRecordings) return;
      kind.replaying?.dispose();
      this.kinds.delete(name);
    }
  }

  private refuse(kind: Kind, name: string, reason: string): void {
    kind.refused = reason;
    kind.candidate = null;
    this.log(`gantry: the ${name} step is not replayed on WebGPU (${reason}); it runs on tfjs's eager kernels`);
  }
}

function firstDifference(a: string[], b: string[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) if (a[i] !== b[i]) return i;
  return -1;
}
