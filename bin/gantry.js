#!/usr/bin/env node
// The installed package runs its compiled JavaScript (dist/, built by `npm pack`); a checkout runs the
// TypeScript sources through tsx, so `npm ci` needs no compile step.
import { existsSync } from 'node:fs';

const compiled = new URL('../dist/cli/main.js', import.meta.url);
let main;
if (existsSync(compiled)) {
  ({ main } = await import(compiled.href));
} else {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import('../src/cli/main.ts'));
}
process.exitCode = await main(process.argv.slice(2));
