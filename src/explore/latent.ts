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
  /** Files of latent vectors (`latent:FILE.json`, as `gantry project` writes them) averaged in with the seeds. */
  files: string[];
  text: string;
}

/** Reads the vector of a `latent:FILE.json` term (the CLI reads files; a page has none). */
export type LatentFileReader = (path: string, dim: number) => Float32Array;

const noFiles: LatentFileReader = (path) => {
  throw new GantryError(`latent:${path}: latent files are read by the command line (gantry arith); here name vectors by seed:N`);
};

/** One vector of an expression: a seed's, or a latent file's (a path without spaces, commas or brackets, ending .json). */
const REF = String.raw`(?:seed:\d+|latent:[^\s,()]+?\.json)`;

/**
 * Parses latent arithmetic such as `seed:12 - seed:40 + mean(seed:1,seed:2,seed:3)`
 * (the DCGAN paper's "smiling woman - neutral woman + neutral man", with seeds for faces), where a term
 * may also be `latent:FILE.json`, a vector `gantry project` found for an image of yours.
 */
export function parseLatentExpression(expr: string): ArithTerm[] {
  const what = inWords('--expr', 'parseLatentExpression()');
  const terms: ArithTerm[] = [];
  const re = new RegExp(String.raw`\s*([+-])?\s*(${REF}|mean\(\s*${REF}(?:\s*,\s*${REF})*\s*\))\s*`, 'y');
  let pos = 0;
  while (pos < expr.length) {
    re.lastIndex = pos;
    const m = re.exec(expr);
    if (!m || m[0].length === 0) {
      throw new GantryError(`${what}: cannot read "${expr.slice(pos)}"; write terms like seed:12, mean(seed:1,seed:2) or latent:me.json joined by + and -`);
    }
    if (!m[1] && terms.length > 0) throw new GantryError(`${what}: put + or - between terms (before "${m[2]}")`);
    const seeds = [...m[2].matchAll(/seed:(\d+)/g)].map((s) => Number(s[1]));
    const files = [...m[2].matchAll(/latent:([^\s,()]+?\.json)/g)].map((f) => f[1]);
    terms.push({ sign: m[1] === '-' ? -1 : 1, seeds, files, text: m[2] });
    pos = re.lastIndex;
  }
  if (terms.length === 0) throw new GantryError(`${what}: the expression is empty; e.g. "seed:12 - seed:40 + seed:7"`);
  return terms;
}

/** A term's vector: the mean of its seeds' vectors (truncated where asked) and its files' vectors (as written). */
export function termVector(term: ArithTerm, dim: number, truncation?: number, readFile: LatentFileReader = noFiles): Float32Array {
  const out = new Float32Array(dim);
  const count = term.seeds.length + term.files.length;
  const add = (z: Float32Array) => {
    for (let i = 0; i < dim; i++) out[i] += z[i] / count;
  };
  for (const s of term.seeds) add(latentForSeed(s, dim, truncation));
  for (const f of term.files) add(readFile(f, dim));
  return out;
}

export function evaluateLatentExpression(terms: ArithTerm[], dim: number, truncation?: number, readFile: LatentFileReader = noFiles): Float32Array {
  const out = new Float32Array(dim);
  for (const t of terms) {
    const v = termVector(t, dim, truncation, readFile);
    for (let i = 0; i < dim; i++) out[i] += t.sign * v[i];
  }
  return out;
}

/** What `arith` draws: each term's vector, then the expression's result (the CLI and the studio). */
export function arithmeticVectors(terms: ArithTerm[], dim: number, truncation?: number, readFile: LatentFileReader = noFiles): Float32Array[] {
  return [...terms.map((t) => termVector(t, dim, truncation, readFile)), evaluateLatentExpression(terms, dim, truncation, readFile)];
}
