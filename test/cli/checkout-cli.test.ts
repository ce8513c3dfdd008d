import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { gantryCli, tempDir } from '../helpers.ts';
import { bundledMain } from '../../bin/checkout-cli.js';

type Main = (argv: string[]) => Promise<string>;

/** A checkout in miniature: src/cli/main.ts and a module it imports, and node_modules with esbuild. */
function miniCheckout(): string {
  const root = tempDir();
  mkdirSync(join(root, 'src', 'cli'), { recursive: true });
  mkdirSync(join(root, 'node_modules'));
  symlinkSync(join(process.cwd(), 'node_modules', 'esbuild'), join(root, 'node_modules', 'esbuild'));
  writeFileSync(join(root, 'src', 'where.ts'), 'export const where: string = import.meta.url;\nexport const word = "first";\n');
  writeFileSync(join(root, 'src', 'cli', 'main.ts'), 'import { where, word } from "../where.ts";\nexport async function main(argv: string[]): Promise<string> { return `${word} ${where} ${argv.join(" ")}`; }\n');
  return root;
}

const bundles = (root: string) => readdirSync(join(root, 'node_modules', '.cache', 'gantry-cli'));

test('a checkout\'s CLI runs its sources bundled, built again when a file changes, each module with its own import.meta.url', async () => {
  const root = miniCheckout();
  const where = pathToFileURL(join(root, 'src', 'where.ts')).href;
  const first = await bundledMain(root) as Main;
  assert.equal(await first(['a']), `first ${where} a`);
  assert.equal(bundles(root).length, 1);
  await bundledMain(root);
  assert.equal(bundles(root).length, 1, 'unchanged sources: the same bundle');

  writeFileSync(join(root, 'src', 'where.ts'), 'export const where: string = import.meta.url;\nexport const word = "second";\n');
  const second = await bundledMain(root) as Main;
  assert.equal(await second(['b']), `second ${where} b`, 'an edit is seen at once');
  writeFileSync(join(root, 'src', 'extra.ts'), 'export {};\n');
  await bundledMain(root);
  assert.equal(bundles(root).length, 3, 'a new file is a new bundle; the recent ones are kept for processes still running them');

  const [oldest] = bundles(root).map((name) => join(root, 'node_modules', '.cache', 'gantry-cli', name)).sort((a, b) => statSync(a).mtimeMs - statSync(b).mtimeMs);
  const eightDaysAgo = new Date(Date.now() - 8 * 24 * 3600 * 1000);
  utimesSync(oldest, eightDaysAgo, eightDaysAgo);
  writeFileSync(join(root, 'src', 'extra.ts'), 'export const more = 1;\n');
  await bundledMain(root);
  assert.equal(bundles(root).length, 3, 'a bundle unused for a week is deleted when another is built');
  assert.ok(!existsSync(oldest));
});

test('a checkout whose sources cannot be bundled, or whose cache cannot be written, falls back (null: tsx runs src/)', async () => {
  const broken = miniCheckout();
  writeFileSync(join(broken, 'src', 'where.ts'), 'export const where = ;\n');
  assert.equal(await bundledMain(broken), null);
  const readOnly = miniCheckout();
  writeFileSync(join(readOnly, 'node_modules', '.cache'), 'a file where the cache folder would go');
  assert.equal(await bundledMain(readOnly), null);
});

test('gantry from this checkout: the bundle finds the native addon and package.json by the sources\' paths', () => {
  const r = gantryCli(['--version']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^gantry \d+\.\d+\.\d+\n.*CPU kernels: native \(/);
});
