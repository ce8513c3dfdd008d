// bin/node-version.js: the one line an unsupported Node.js gets before anything loads.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { nodeVersionProblem } from '../../bin/node-version.js';

test('Node.js versions without zlib.crc32 are named with the versions that work; the others pass', () => {
  for (const old of ['18.20.4', '20.0.0', '20.14.9', '21.7.3', '22.1.0', 'v16.0.0']) {
    const problem = nodeVersionProblem(old);
    assert.ok(problem, old);
    assert.match(problem, /needs Node\.js 20\.15 or later 20\.x, 22\.2 or later; this is v?\d/);
    assert.ok(problem.includes(old), problem);
  }
  for (const ok of ['20.15.0', '20.20.2', '22.2.0', '22.12.0', '24.1.0', '26.0.0', process.versions.node]) assert.equal(nodeVersionProblem(ok), undefined, ok);
  // package.json's engines say the same.
  const engines = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { engines: { node: string } }).engines.node;
  assert.equal(engines, '^20.15.0 || >=22.2.0');
});
