import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { unpickleStrings } from '../../src/io/pickle.ts';

const pickles = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'pickles');
const TRAIN = ['001.Cardinal/cardinal_0', '001.Cardinal/cardinal_1', '002.Blue_Jay/jay_0', '002.Blue_Jay/jay_1'];

test('lists of names pickled by Python in protocols 0, 2 and 4 read as Python wrote them (make_pickles.py)', () => {
  assert.deepEqual(unpickleStrings(readFileSync(join(pickles, 'train_p2.pickle')), 'p2'), TRAIN);
  assert.deepEqual(unpickleStrings(readFileSync(join(pickles, 'train_p4.pickle')), 'p4'), TRAIN);
  assert.deepEqual(unpickleStrings(readFileSync(join(pickles, 'test_p0.pickle')), 'p0'), ['001.Cardinal/cardinal_2', '002.Blue_Jay/jay_2']);
});

test('Python 2\'s protocol 0 str literals (STRING) with their escapes, and its byte strings in protocol 2', () => {
  // What Python 2's pickle.dump(['a/b', "it's", 'tab\there', 'caf\xe9'], f) writes (protocol 0).
  const py2 = Buffer.from("(lp0\nS'a/b'\np1\naS\"it's\"\np2\naS'tab\\there'\np3\naS'caf\\xe9'\np4\na.", 'latin1');
  assert.deepEqual(unpickleStrings(py2, 'py2'), ['a/b', "it's", 'tab\there', 'caf\u00e9']);
  // Protocol 2: SHORT_BINSTRING (a Python 2 str), then the MEMO of a repeated name (BINGET).
  const p2 = Buffer.concat([Buffer.from([0x80, 0x02, 0x5d, 0x71, 0x00, 0x28, 0x55, 3]), Buffer.from('a/b'), Buffer.from([0x71, 0x01, 0x68, 0x01, 0x65, 0x2e])]);
  assert.deepEqual(unpickleStrings(p2, 'p2'), ['a/b', 'a/b']);
});

test('a pickle of anything but a list of names, or one that would call code, is refused', () => {
  assert.throws(() => unpickleStrings(Buffer.from('(lp0\nI1\na.', 'latin1'), 'numbers.pickle'), /numbers\.pickle is not a list of names/);
  const call = Buffer.from("cos\nsystem\n(S'echo'\ntR.", 'latin1');
  assert.throws(() => unpickleStrings(call, 'evil.pickle'), /evil\.pickle holds Python objects, not a list of names/);
  assert.throws(() => unpickleStrings(Buffer.from('(lp0\n', 'latin1'), 'cut.pickle'), /pickle ended without STOP/);
});
