import { statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

/**
 * gantry's cache folder for one kind of thing (`stats`: real data's feature statistics; `pairs`: label-map
 * pairs fitted to a size, too large for memory; `images`: a folder's images fitted to a size, where decoding
 * them was slow; `gpu-tuning`: the GEMM choices measured on a GPU): GANTRY_CACHE, else ~/.cache/gantry, then the kind. Anything in it can be deleted; it is
 * made again when needed.
 */
export function cacheFolder(kind: 'stats' | 'pairs' | 'images' | 'gpu-tuning'): string {
  return join(process.env.GANTRY_CACHE || join(homedir(), '.cache', 'gantry'), kind);
}

/** What identifies a file's content without reading it, for a cache's key: its full path, size and modification time. */
export function fileIdentity(path: string): [string, number, number] {
  const s = statSync(path);
  return [resolve(path), s.size, s.mtimeMs];
}
