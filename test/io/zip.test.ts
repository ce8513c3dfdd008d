import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readZip, writeZip } from '../../src/io/zip.ts';

/** Archives written by Python's zipfile (test/fixtures/zip/make_zips.py). */
const fixtures = join(import.meta.dirname, '..', 'fixtures', 'zip');
const fixture = (name: string) => new Uint8Array(readFileSync(join(fixtures, name)));

/** make_zips.py's entries. */
const ENTRIES = new Map([
  ['archive/data.pkl', Uint8Array.from({ length: 768 }, (_, i) => i % 256)],
  ['archive/data/0', new Uint8Array(Buffer.from('gantry reads ZIP64 '.repeat(40)))],
  ['archive/version', new Uint8Array(Buffer.from('3\n'))],
]);

const plain = (entries: Map<string, Uint8Array>) => new Map([...entries].map(([k, v]) => [k, Buffer.from(v).toString('hex')]));

test('ZIP64 archives from Python\'s zipfile: sizes and offsets in the entries\' extra fields, count and offset in the ZIP64 end record', () => {
  for (const name of ['zip64.zip', 'zip64-eocd.zip']) assert.deepEqual(plain(readZip(fixture(name))), plain(ENTRIES), name);
});

test('a written archive reads back', () => {
  const entries = [...ENTRIES].map(([name, data]) => ({ name, data }));
  assert.deepEqual(plain(readZip(writeZip(entries))), plain(ENTRIES));
});

test('a damaged archive is refused with its reason, never a RangeError', () => {
  const bytes = fixture('zip64-eocd.zip');
  assert.throws(() => readZip(bytes.subarray(0, bytes.length - 30)), /^Error: no ZIP end-of-central-directory record \(truncated\?\)$/);
  // The ZIP64 locator pointing past its own place.
  const locator = Buffer.from(bytes).lastIndexOf(Buffer.from([0x50, 0x4b, 0x06, 0x07]));
  const pastEnd = bytes.slice();
  new DataView(pastEnd.buffer).setBigUint64(locator + 8, 1n << 40n, true);
  assert.throws(() => readZip(pastEnd), /^Error: bad ZIP64 end-of-central-directory record$/);
  // An entry's length field past the end of the file.
  const longName = bytes.slice();
  const dir = Buffer.from(bytes).indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
  new DataView(longName.buffer).setUint16(dir + 30, 0xfff0, true);
  assert.throws(() => readZip(longName), /^Error: damaged ZIP archive: a record points past the end of the file \(truncated\?\)$/);
  // One byte of a stored entry changed.
  const changed = bytes.slice();
  changed[changed.indexOf(200)] ^= 1;
  assert.throws(() => readZip(changed), /^Error: ZIP entry archive\/data\.pkl fails its CRC-32 check/);
  assert.throws(() => readZip(fixture('bzip2.zip')), /^Error: ZIP entry weights uses compression method 12; only stored and deflate are read$/);
});
