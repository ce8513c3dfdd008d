// A node:test reporter that writes each test file's time (the sum of its top-level tests' durations, in
// seconds) into test/durations.json, which scripts/test-files.mjs orders the files by. Files not run keep
// their entries; files that no longer exist lose theirs. Used by `npm run test:durations`.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(fileURLToPath(import.meta.url), '..', '..');
const listFile = join(root, 'test', 'durations.json');

export default async function* durations(source) {
  const measured = {};
  for await (const event of source) {
    if ((event.type === 'test:pass' || event.type === 'test:fail') && event.data.nesting === 0 && event.data.file) {
      const file = relative(root, event.data.file);
      measured[file] = (measured[file] ?? 0) + (event.data.details?.duration_ms ?? 0) / 1000;
    }
  }
  const list = existsSync(listFile) ? JSON.parse(readFileSync(listFile, 'utf8')) : {};
  for (const [file, s] of Object.entries(measured)) list[file] = Math.round(s * 10) / 10;
  const kept = Object.fromEntries(Object.entries(list).filter(([file]) => existsSync(join(root, file))).sort(([a], [b]) => a.localeCompare(b)));
  writeFileSync(listFile, `${JSON.stringify(kept, null, 1)}\n`);
  yield `test/durations.json: ${Object.keys(measured).length} files timed\n`;
}
