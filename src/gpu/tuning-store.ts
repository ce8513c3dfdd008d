import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../io/atomic.ts';
import { cacheFolder } from '../io/cache-dir.ts';
import type { GemmChoice, TuningStore } from './gemm-tuning.ts';

/**
 * A GPU's GEMM choices (gemm-tuning.ts) in gantry's cache folder, one JSON file per adapter and driver.
 * A file that cannot be read or parsed counts as empty (the products are timed again); one that cannot be
 * written is said once, and the choices then last as long as the process.
 */
export function tuningFile(adapter: string, warn: (line: string) => void = (line) => process.stderr.write(line + '\n')): TuningStore {
  const dir = cacheFolder('gpu-tuning');
  const path = join(dir, `${adapter.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 120) || 'adapter'}.json`);
  let warned = false;
  const store: TuningStore = {
    load: () => {
      try {
        const parsed = JSON.parse(readFileSync(path, 'utf8')) as unknown;
        return parsed && typeof parsed === 'object' ? Object.fromEntries(Object.entries(parsed).filter(([, c]) => validChoice(c))) as Record<string, GemmChoice> : {};
      } catch {
        return {};
      }
    },
    save: (choices) => {
      try {
        mkdirSync(dir, { recursive: true });
        // Another process on this GPU may have timed other products since this one read the file: both kept.
        writeFileAtomic(path, JSON.stringify({ ...store.load(), ...choices }, null, 1));
      } catch (err) {
        if (!warned) warn(`gantry: cannot keep the GPU's tuned products in ${path} (${(err as Error).message}); they will be timed again next time (point GANTRY_CACHE at a folder gantry may write)`);
        warned = true;
      }
    },
  };
  return store;
}

function validChoice(c: unknown): c is GemmChoice {
  const { tile, splitK } = (c ?? {}) as Partial<GemmChoice>;
  return (tile === 'thin' || tile === 64 || tile === 128) && Number.isInteger(splitK) && splitK! >= 1 && splitK! <= 64;
}
