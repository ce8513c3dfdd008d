import { Rng } from '../engine/rng.ts';
import { GantryError, inWords } from '../errors.ts';

/**
 * Latent vectors named by seeds: `seed:12` is the vector N(0, I) drawn from stream ('latent', 12),
 * the same in sample, interpolate and arith, so a face seen in one command can be used in another.
 */
export function latentForSeed(seed: number, dim: number, truncation?: number): Float32Array {
  const rng = new Rng(seed, 'latent');
  const z = rng.fillNormal(new Float32Array(dim));
  if (truncation === undefined) return z;
  // The truncation trick: numbers beyond ±truncation are drawn again (from the same stream, after the
  // vector), trading variety for typical images. Without it the vector is exactly seed:N's.
  for (let i = 0; i < dim; i++) while (Math.abs(z[i]) > truncation) z[i] = rng.normal();
  return z;
}

/** Spherical interpolation: follows the great circle, so interpolants keep the norm typical of N(0, I). */
export function slerp(a: Float32Array, b: Float32Array, t: number): Float32Array {
  let dot = 0, na = 0, nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  // A run without a latent space (pix2pixhd, a classifier) has one point in it; its caller says what the run does instead.
  if (a.length === 0) return new Float32Array(0);
  if (na === 0 || nb === 0) throw new GantryError('spherical interpolation needs two non-zero vectors (a zero vector has no direction)');
  const cos = Math.min(1, Math.max(-1, dot / Math.sqrt(na * nb)));
  const omega = Math.acos(cos);
  const out = new Float32Array(a.length);
  if (omega < 1e-6) {
    for (let i = 0; i < a.length; i++) out[i] = (1 - t) * a[i] + t * b[i];
    return out;
  }
  const sa = Math.sin((1 - t) * omega) / Math.sin(omega);
  const sb = Math.sin(t * omega) / Math.sin(omega);
  for (let i = 0; i < a.length; i++) out[i] = sa * a[i] + sb * b[i];
  return out;
}

export interface ArithTerm {
  sign: 1 | -1;
  /** The seeds averaged into this term (one for `seed:N`, several for `mean(...)`). */
  seeds: number[];
  text: string;
}

/**
 * Parses latent arithmetic such as `seed:12 - seed:40 + mean(seed:1,seed:2,seed:3)`
 * (the DCGAN paper's "smiling woman - neutral woman + neutral man", with seeds for faces).
 */
export function parseLatentExpression(expr: string): ArithTerm[] {
  const what = inWords('--expr', 'parseLatentExpression()');
  const terms: ArithTerm[] = [];
  const re = /\s*([+-])?\s*(seed:\d+|mean\(\s*seed:\d+(?:\s*,\s*seed:\d+)*\s*\))\s*/y;
  let pos = 0;
  while (pos < expr.length) {
    re.lastIndex = pos;
    const m = re.exec(expr);
    if (!m || m[0].length === 0) {
      throw new GantryError(`${what}: cannot read "${expr.slice(pos)}"; write terms like seed:12, mean(seed:1,seed:2) joined by + and -`);
    }
    if (!m[1] && terms.length > 0) throw new GantryError(`${what}: put + or - between terms (before "${m[2]}")`);
    const seeds = [...m[2].matchAll(/seed:(\d+)/g)].map((s) => Number(s[1]));
    terms.push({ sign: m[1] === '-' ? -1 : 1, seeds, text: m[2] });
    pos = re.lastIndex;
  }
  if (terms.length === 0) throw new GantryError(`${what}: the expression is empty; e.g. "seed:12 - seed:40 + seed:7"`);
  return terms;
}

export function termVector(term: ArithTerm, dim: number, truncation?: number): Float32Array {
  const out = new Float32Array(dim);
  for (const s of term.seeds) {
    const z = latentForSeed(s, dim, truncation);
    for (let i = 0; i < dim; i++) out[i] += z[i] / term.seeds.length;
  }
  return out;
}

export function evaluateLatentExpression(terms: ArithTerm[], dim: number, truncation?: number): Float32Array {
  const out = new Float32Array(dim);
  for (const t of terms) {
    const v = termVector(t, dim, truncation);
    for (let i = 0; i < dim; i++) out[i] += t.sign * v[i];
  }
  return out;
}

/** What `arith` draws: each term's vector, then the expression's result (the CLI and the studio). */
export function arithmeticVectors(terms: ArithTerm[], dim: number, truncation?: number): Float32Array[] {
  return [...terms.map((t) => termVector(t, dim, truncation)), evaluateLatentExpression(terms, dim, truncation)];
}
