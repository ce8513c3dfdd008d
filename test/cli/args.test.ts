import { test } from 'node:test';
import assert from 'node:assert/strict';
import { intArg, numberArg, parseCommandArgs } from '../../src/cli/args.ts';
import { closestName } from '../../src/errors.ts';

const options = { n: { type: 'string' }, quiet: { type: 'boolean' }, expr: { type: 'string' } } as const;

test('a negative number after a flag is its value, so the check that follows names it', () => {
  const { values } = parseCommandArgs('sample', ['--n', '-1', '--expr', '-0.5', '--quiet'], options);
  assert.deepEqual({ ...values }, { n: '-1', expr: '-0.5', quiet: true });
  assert.throws(() => intArg('n', values.n, 1), /^GantryError: --n must be a whole number >= 1, got "-1"$/);
  assert.equal(numberArg('expr', values.expr), -0.5);
  // Anything else that starts with a dash is still read as a flag, and the message says so.
  assert.throws(() => parseCommandArgs('sample', ['--n', '-x'], options), /Option '--n' argument is ambiguous.*see `gantry sample --help`/);
  assert.throws(() => parseCommandArgs('sample', ['--quiet', '-1'], options), /^GantryError: unknown flag -1; see `gantry sample --help`$/);
});

test('an unknown flag names the flag it most likely meant, and nothing when none is close', () => {
  assert.throws(() => parseCommandArgs('sample', ['--quite'], options), /^GantryError: unknown flag --quite \(did you mean --quiet\?\); see `gantry sample --help`$/);
  assert.throws(() => parseCommandArgs('sample', ['--EXPR', 'x'], options), /unknown flag --EXPR \(did you mean --expr\?\)/);
  assert.throws(() => parseCommandArgs('sample', ['--colour'], options), /^GantryError: unknown flag --colour; see/);
});

test('closestName: within a third of the letters (at least one edit), swaps of neighbours one edit', () => {
  const known = ['steps', 'batch', 'seed', 'sampleEvery', 'n'];
  assert.equal(closestName('stpes', known), 'steps');
  assert.equal(closestName('SampleEvry', known), 'sampleEvery');
  assert.equal(closestName('seeds', known), 'seed');
  assert.equal(closestName('m', known), 'n');
  assert.equal(closestName('bench', known), undefined, 'two edits in five letters is too far');
  assert.equal(closestName('steps', []), undefined);
});
