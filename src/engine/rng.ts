/**
 * Seeded random numbers. Every random draw in gantry (weight init, noise, data order) comes from a
 * stream derived from (seed, purpose, index), so a seed fixes a whole run and a resumed run redraws
 * exactly what an uninterrupted one would have drawn: the RNG "state" of a run is its seed and step.
 */

/** 32-bit FNV-1a of a string, mixed with a number: turns (seed, purpose, index) into stream seeds. */
function hashParts(parts: readonly (string | number)[]): number {
  let h = 0x811c9dc5;
  for (const part of parts) {
    const s = typeof part === 'number' ? `#${part}` : `$${part}`;
    for (let i = 0; i < s.length; i++) {
      h ^= s.charCodeAt(i);
      h = Math.imul(h, 0x01000193) >>> 0;
    }
  }
  return h >>> 0;
}

/** splitmix32: spreads one 32-bit seed over the four words of xoshiro's state. */
function splitmix32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

export interface RngState {
  words: number[];
  spare: number | null;
}

/** xoshiro128** generator with a Box-Muller normal cache; its state is plain numbers. */
export class Rng {
  private s: Uint32Array;
  private spare: number | null = null;

  constructor(seed: number, ...purpose: (string | number)[]) {
    const mix = splitmix32(purpose.length ? hashParts([seed, ...purpose]) : seed >>> 0);
    this.s = new Uint32Array([mix(), mix(), mix(), mix()]);
    if (this.s.every((w) => w === 0)) this.s[0] = 1;
  }

  /** A new independent stream for a named purpose, e.g. rng.derive('noise', step). */
  derive(...purpose: (string | number)[]): Rng {
    return new Rng(this.nextU32(), ...purpose);
  }

  nextU32(): number {
    const s = this.s;
    const result = Math.imul(rotl(Math.imul(s[1], 5) >>> 0, 7), 9) >>> 0;
    const t = (s[1] << 9) >>> 0;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return result;
  }

  /** Uniform in [0, 1) with 32 bits of resolution. */
  uniform(): number {
    return this.nextU32() / 4294967296;
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.uniform() * n);
  }

  normal(): number {
    if (this.spare !== null) {
      const v = this.spare;
      this.spare = null;
      return v;
    }
    let u = 0;
    while (u === 0) u = this.uniform();
    const v = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /**
   * out[i] = mean + std * normal() for each i in turn: the same values, and the same state after, as that
   * loop, with nextU32 written out on local words (a step's noise can be millions of values, drawn on the
   * host every step; the locals hold int32, which the state array takes back modulo 2^32).
   */
  fillNormal(out: Float32Array, mean = 0, std = 1): Float32Array {
    const n = out.length;
    let i = 0;
    if (n > 0 && this.spare !== null) {
      out[i++] = mean + std * this.spare;
      this.spare = null;
    }
    const state = this.s;
    let s0 = state[0] | 0;
    let s1 = state[1] | 0;
    let s2 = state[2] | 0;
    let s3 = state[3] | 0;
    while (i < n) {
      let u = 0;
      let word = 0;
      let t = 0;
      while (u === 0) {
        word = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
        t = s1 << 9;
        s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3; s2 ^= t; s3 = (s3 << 11) | (s3 >>> 21);
        u = word / 4294967296;
      }
      word = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
      t = s1 << 9;
      s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3; s2 ^= t; s3 = (s3 << 11) | (s3 >>> 21);
      const v = word / 4294967296;
      // Box-Muller as normal(): the cosine's value now, the sine's next (or kept as the spare).
      const r = Math.sqrt(-2 * Math.log(u));
      out[i++] = mean + std * (r * Math.cos(2 * Math.PI * v));
      const sine = r * Math.sin(2 * Math.PI * v);
      if (i < n) out[i++] = mean + std * sine;
      else this.spare = sine;
    }
    state[0] = s0;
    state[1] = s1;
    state[2] = s2;
    state[3] = s3;
    return out;
  }

  /** Fisher-Yates permutation of 0..n-1. */
  permutation(n: number): Int32Array {
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = p[i];
      p[i] = p[j];
      p[j] = t;
    }
    return p;
  }

  getState(): RngState {
    return { words: [...this.s], spare: this.spare };
  }

  setState(state: RngState): void {
    this.s = new Uint32Array(state.words);
    this.spare = state.spare;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
