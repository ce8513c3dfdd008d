import { test } from 'node:test';
import assert from 'node:assert/strict';
import { intArg, numberArg, parseCommandArgs } from '../../src/cli/args.ts';

const options = { n: { type: 'string' }, quiet: { type: 'boolean' }, expr: { type: 'string' } } as const;

test('a negative number after a flag is its value, so the check that follows names it', () => {
  const { values } = parseCommandArgs('sample', ['--n', '-1', '--expr', '-0.5', '--quiet'], options);
  assert.deepEqual({ ...values }, { n: '-1', expr: '-0.5', quiet: true });
  assert.throws(() => intArg('n', values.n, 1), /^GantryError: --n must be a whole number >= 1, got "-1"$/);
  assert.equal(numberArg('expr', values.expr), -0.5);
  // Anything else that starts with a dash is still read as a flag, and the message says so.
  assert.throws(() => parseCommandArgs('sample', ['--n', '-x'], options), /Option '--n' argument is ambiguous.*see `gantry sample --help`/);
  assert.throws(() => parseCommandArgs('sample', ['--quiet', '-1'], options), /Unknown option '-1'/);
});
