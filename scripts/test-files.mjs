// The test files of `npm test` (every *.test.ts but the slow ones) or, with --slow, of `npm run test:slow`,
// printed longest first by test/durations.json (seconds per file, from a run on a 2-core machine). node's
// runner starts files in the order given, two at a time: long files first keep both workers busy to the end,
// where in path order the last long file ran alone (test:slow's weight-average test, 200 s). A file not in
// the list is taken as long and goes first. `npm run test:durations` writes the list anew.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(fileURLToPath(import.meta.url), '..', '..');
const slow = process.argv.includes('--slow');

function testFiles(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return testFiles(path);
    return e.name.endsWith('.test.ts') ? [relative(root, path)] : [];
  });
}

const seconds = JSON.parse(readFileSync(join(root, 'test', 'durations.json'), 'utf8'));
const files = testFiles(join(root, 'test'))
  .filter((f) => f.endsWith('.slow.test.ts') === slow)
  .sort()
  .sort((a, b) => (seconds[b] ?? Infinity) - (seconds[a] ?? Infinity));
console.log(files.join('\n'));
