import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { setNativeAddonLoader, type NativeAddon } from './native.ts';

/** Node's native addon, build/Release/gantry_native.node (built by `npm ci`); throws saying why it cannot load. */
export function loadBuiltAddon(): NativeAddon {
  if (process.env.GANTRY_NATIVE === '0') throw new Error('disabled by GANTRY_NATIVE=0');
  const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
  const path = join(root, 'build', 'Release', 'gantry_native.node');
  if (!existsSync(path)) throw new Error(`${path} is missing; run \`npm ci\` (needs python3, make and g++)`);
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
