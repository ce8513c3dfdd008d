#!/usr/bin/env node
// Runs gantry's TypeScript sources through tsx, so `npm ci` needs no separate compile step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
