import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * docs/architecture.md's layers, held to: every import in src/ goes to its own layer or one above it in
 * the table, but for the upward imports the page lists by name. A new upward import fails here until it
 * is undone or written into the page with its reason.
 */
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const doc = readFileSync(join(root, 'docs', 'architecture.md'), 'utf8');
const paths = (text: string) => [...text.matchAll(/`(src\/[^`]+)`/g)].map((m) => m[1]);

/** The table's rows, top (imported by all below) first: the paths of each row's first column. */
const layers = doc.slice(doc.indexOf('| folder |'), doc.indexOf('The imports that go up')).split('\n')
  .filter((line) => line.startsWith('| `src/')).map((line) => paths(line.split('|')[1]));
/** "- `from`, ... → `to`, ...: why" after the table. */
const allowed = new Set(doc.slice(doc.indexOf('The imports that go up'), doc.indexOf('## Node and the browser')).split('\n- ').slice(1).flatMap((item) => {
  const [from, to] = item.slice(0, item.indexOf(':', item.indexOf('→'))).split('→').map(paths);
  return from.flatMap((f) => to.map((t) => `${f} → ${t}`));
}));

/** A file's layer: the row naming it or the longest folder holding it. */
function layerOf(file: string): number {
  let best = -1;
  let length = -1;
  layers.forEach((row, i) => row.forEach((p) => {
    if ((p.endsWith('/') ? file.startsWith(p) : file === p) && p.length > length) [best, length] = [i, p.length];
  }));
  return best;
}

function sources(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
}

test('src/ keeps to docs/architecture.md\'s layers: no import goes to a layer below its own but those the page lists', () => {
  assert.ok(layers.length >= 15 && allowed.size >= 5, `read ${layers.length} layers and ${allowed.size} allowed imports from the page`);
  const unplaced: string[] = [];
  const upward: string[] = [];
  const used = new Set<string>();
  for (const file of sources('src')) {
    const own = layerOf(file);
    if (own < 0) unplaced.push(file);
    for (const [, spec] of readFileSync(join(root, file), 'utf8').matchAll(/(?:\bfrom|\bimport\()\s*'(\.{1,2}\/[^']+)'/g)) {
      const target = relative(root, resolve(root, dirname(file), spec));
      const layer = layerOf(target);
      if (layer < 0) unplaced.push(target);
      else if (layer > own) {
        const pair = `${file} → ${target}`;
        if (allowed.has(pair)) used.add(pair);
        else upward.push(pair);
      }
    }
  }
  assert.deepEqual([...new Set(unplaced)], [], 'files in no layer of the table');
  assert.deepEqual(upward, [], 'imports of a layer below the importer\'s');
  assert.deepEqual([...allowed].filter((pair) => !used.has(pair)), [], 'listed upward imports that no longer exist (take them off the page)');
});
