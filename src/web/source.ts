import { GantryError } from '../errors.ts';

/**
 * Where an exported generator is: the URL of its folder or of its model.json (relative to the page), the
 * files themselves (an <input type="file" multiple> with model.json and weights.safetensors), or their
 * contents.
 */
export type GeneratorSource = string | URL | ArrayLike<File> | { model: unknown; weights: ArrayBuffer | Uint8Array };

/** A source's URL made absolute against the page (a worker's own location is its script's, so it is told this one). */
export function pageUrl(source: string | URL): URL {
  try {
    return new URL(source, typeof location === 'undefined' ? undefined : location.href);
  } catch {
    throw new GantryError(`"${String(source)}" is not a URL; give the folder gantry export wrote (e.g. "./site/")`);
  }
}
