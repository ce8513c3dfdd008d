import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { setNativeAddonLoader, type NativeAddon } from './native.ts';

/**
 * How to build a missing addon: a checkout (its TypeScript sources beside it) builds it in `npm ci`; an
 * installed package in its install script, which npm 12 and later run for a dependency only where the
 * project lists it in allowScripts.
 */
function buildAdvice(root: string): string {
  if (existsSync(join(root, 'src', 'cli', 'main.ts'))) return 'run `npm ci` (needs python3, make and g++)';
  return 'npm builds it when it installs gantry, and npm 12 and later do that only where your project allows gantry\'s install script: ' +
    'run `npm install-scripts approve gantry`, then `npm rebuild gantry` (needs python3, make and g++)';
}

/** Node's native addon, build/Release/gantry_native.node (built on install); throws saying why it cannot load and how to build it. */
export function loadBuiltAddon(): NativeAddon {
  if (process.env.GANTRY_NATIVE === '0') throw new Error('disabled by GANTRY_NATIVE=0');
  const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
  const path = join(root, 'build', 'Release', 'gantry_native.node');
  if (!existsSync(path)) throw new Error(`${path} is missing; ${buildAdvice(root)}`);
  try {
    return createRequire(import.meta.url)(path) as NativeAddon;
  } catch (err) {
    throw new Error(`${path} failed to load: ${(err as Error).message}`);
  }
}

/** Makes the built addon the one gantry's kernels use (Node's engine, the FID linear algebra, benchmarks). */
export function useBuiltAddon(): void {
  setNativeAddonLoader(loadBuiltAddon);
}
