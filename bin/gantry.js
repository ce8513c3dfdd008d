#!/usr/bin/env node
// A checkout runs its TypeScript sources, bundled again whenever they change (checkout-cli.js; through tsx
// where that cannot be done), so `npm ci` needs no compile step and a `dist/` left by `npm run build` never
// stands in for newer sources; the installed package (which ships dist/, not src/cli/) runs its compiled
// JavaScript.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { nodeVersionProblem } from './node-version.js';

const tooOld = nodeVersionProblem(process.versions.node);
if (tooOld) {
  console.error(tooOld);
  process.exit(1);
}

const sources = new URL('../src/cli/main.ts', import.meta.url);
let main;
if (existsSync(sources)) {
  const { bundledMain } = await import('./checkout-cli.js');
  main = await bundledMain(fileURLToPath(new URL('..', import.meta.url)));
  if (!main) {
    const { register } = await import('tsx/esm/api');
    register();
    ({ main } = await import(sources.href));
  }
} else {
  ({ main } = await import(new URL('../dist/cli/main.js', import.meta.url).href));
}
process.exitCode = await main(process.argv.slice(2));
