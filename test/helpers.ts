import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { initEngine, tf } from '../src/engine/index.ts';

/** Starts the engine with the native kernels (when built), quietly. */
export async function setup(): Promise<void> {
  await initEngine({ log: () => {} });
}

/** Runs fn with these environment variables set (undefined: unset), then puts them back as they were. */
export function withEnv<T>(env: Record<string, string | undefined>, fn: () => T): T {
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  const apply = (vars: Record<string, string | undefined>) => {
    for (const [k, v] of Object.entries(vars)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
  apply(env);
  try {
    return fn();
  } finally {
    apply(saved);
  }
}

/** A temporary folder removed when the test file ends. */
export function tempDir(prefix = 'gantry-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} != ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

export function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

/** The largest difference relative to the largest reference value (golden comparisons); lengths must match. */
export function relError(got: ArrayLike<number>, want: ArrayLike<number>): number {
  if (got.length !== want.length) throw new Error(`length ${got.length} != ${want.length}`);
  let diff = 0;
  let scale = 1e-12;
  for (let i = 0; i < want.length; i++) {
    diff = Math.max(diff, Math.abs(got[i] - want[i]));
    scale = Math.max(scale, Math.abs(want[i]));
  }
  return diff / scale;
}

/** The CLI's entry point, as `gantry` runs it. */
export const GANTRY_BIN = fileURLToPath(new URL('../bin/gantry.js', import.meta.url));

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the CLI in a child process, as a user would. `env` adds to the test's environment (undefined
 * removes a variable); a GANTRY_VGG_WEIGHTS of the caller's is left out unless given, so what a test
 * trains never depends on the shell it ran from.
 */
export function gantryCli(args: string[], options: { env?: Record<string, string | undefined>; cwd?: string; timeoutMs?: number } = {}): CliRun {
  const { GANTRY_VGG_WEIGHTS: _, ...inherited } = process.env;
  const env: Record<string, string | undefined> = { ...inherited, ...options.env };
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete env[k];
  const r = spawnSync(process.execPath, [GANTRY_BIN, ...args], { encoding: 'utf8', timeout: options.timeoutMs ?? 600_000, cwd: options.cwd, env });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/**
 * A test that runs the whole test file again without the native addon (GANTRY_NATIVE=0), so the kernels'
 * JavaScript loops (the browser's) pass the same checks as the native ones.
 */
export function testWithoutAddon(fileUrl: string): void {
  test('the same checks pass on the JavaScript loops (no native addon)', { skip: process.env.GANTRY_NATIVE === '0' && 'this is that run' }, () => {
    // NODE_TEST_CONTEXT would make the inner runner report to this one instead of printing.
    const { NODE_TEST_CONTEXT: _, ...env } = process.env;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=tap', fileURLToPath(fileUrl)], { env: { ...env, GANTRY_NATIVE: '0' }, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /# pass [1-9]/);
    assert.match(r.stdout, /# fail 0/);
  });
}

export { tf };
