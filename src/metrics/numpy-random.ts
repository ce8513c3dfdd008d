/**
 * NumPy's legacy `np.random.RandomState(seed)` (MT19937), as far as torch-fidelity uses it: its
 * `permutation(n)` (also what `choice(n, m, replace=False)` draws, the first m of one), so that KID's subsets
 * and IS's shuffle pick the same samples as torch-fidelity's, whose default seed is 2020; `randn` and
 * `randint`, so that PPL walks from the same latent vectors and classes.
 */
/** torch-fidelity's default rng_seed, for KID's subsets and IS's shuffle. */
export const TORCH_FIDELITY_SEED = 2020;

export class NumpyRandomState {
  private readonly mt = new Uint32Array(624);
  private index = 624;
  /** The legacy normal sampler's second value, kept for the next call (NumPy's has_gauss / gauss). */
  private gauss: number | null = null;

  /** RandomState(seed) for an integer seed: MT19937's init_genrand. */
  constructor(seed: number) {
    if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new RangeError(`seed must be an integer in 0 .. 2^32 - 1, got ${seed}`);
    this.mt[0] = seed >>> 0;
    for (let i = 1; i < 624; i++) {
      const prev = this.mt[i - 1] ^ (this.mt[i - 1] >>> 30);
      this.mt[i] = (Math.imul(1812433253, prev) + i) >>> 0;
    }
  }

  /** MT19937's next tempered 32-bit output (genrand_int32). */
  nextU32(): number {
    const mt = this.mt;
    if (this.index >= 624) {
      for (let i = 0; i < 624; i++) {
        const y = (mt[i] & 0x80000000) | (mt[(i + 1) % 624] & 0x7fffffff);
        mt[i] = mt[(i + 397) % 624] ^ (y >>> 1) ^ (y & 1 ? 0x9908b0df : 0);
      }
      this.index = 0;
    }
    let y = mt[this.index++];
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  /** A uniform integer in 0 .. max (max < 2^32), by masked rejection: NumPy's random_interval. */
  interval(max: number): number {
    if (max === 0) return 0;
    let mask = max;
    mask |= mask >>> 1;
    mask |= mask >>> 2;
    mask |= mask >>> 4;
    mask |= mask >>> 8;
    mask |= mask >>> 16;
    mask >>>= 0;
    for (;;) {
      const value = (this.nextU32() & mask) >>> 0;
      if (value <= max) return value;
    }
  }

  /** np.random.RandomState.permutation(n): 0 .. n-1 shuffled by Fisher-Yates from the top, as NumPy's legacy shuffle. */
  permutation(n: number): Int32Array {
    const out = Int32Array.from({ length: n }, (_, i) => i);
    for (let i = n - 1; i > 0; i--) {
      const j = this.interval(i);
      const t = out[i];
      out[i] = out[j];
      out[j] = t;
    }
    return out;
  }

  /** A double in [0, 1) of 53 random bits: NumPy's random_standard_uniform on MT19937 (two 32-bit outputs). */
  nextDouble(): number {
    const a = this.nextU32() >>> 5;
    const b = this.nextU32() >>> 6;
    return (a * 67108864 + b) / 9007199254740992;
  }

  /**
   * One standard normal value as the legacy `randn` draws it: Marsaglia's polar method, two values per
   * accepted pair, the first kept for the next call (legacy_gauss).
   */
  normal(): number {
    if (this.gauss !== null) {
      const kept = this.gauss;
      this.gauss = null;
      return kept;
    }
    let x1: number, x2: number, r2: number;
    do {
      x1 = 2 * this.nextDouble() - 1;
      x2 = 2 * this.nextDouble() - 1;
      r2 = x1 * x1 + x2 * x2;
    } while (r2 >= 1 || r2 === 0);
    const f = Math.sqrt(-2 * Math.log(r2) / r2);
    this.gauss = f * x1;
    return f * x2;
  }

  /** `randn(...)` filling `out` in order (NumPy's C order), as float32 as torch-fidelity's `.float()` makes it. */
  fillNormal(out: Float32Array): Float32Array {
    for (let i = 0; i < out.length; i++) out[i] = this.normal();
    return out;
  }

  /** `randint(0, high)` for one value (legacy int64: masked rejection on 32-bit outputs while high <= 2^32). */
  randint(high: number): number {
    if (!Number.isInteger(high) || high < 1 || high > 0x100000000) throw new RangeError(`randint: high must be an integer in 1 .. 2^32, got ${high}`);
    return this.interval(high - 1);
  }
}
