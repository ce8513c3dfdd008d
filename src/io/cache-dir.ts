import { homedir } from 'node:os';
import { join } from 'node:path';

/**
 * gantry's cache folder for one kind of thing (`stats`: real data's feature statistics; `pairs`: label-map
 * pairs fitted to a size, too large for memory): GANTRY_CACHE, else ~/.cache/gantry, then the kind. Anything
 * in it can be deleted; it is made again when needed.
 */
export function cacheFolder(kind: 'stats' | 'pairs'): string {
  return join(process.env.GANTRY_CACHE || join(homedir(), '.cache', 'gantry'), kind);
}
