import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { resumeAdvice, shellWord, trainHow } from '../src/errors.ts';

test('shellWord: a pasted command gives the shell back each path and spec as one word, unchanged; plain ones stay unquoted', () => {
  const words = ['runs/dcgan', '/tmp/a b/ü run&<x>', "it's", 'cifar10:/d?classes=a,b', '$HOME/*', 'a"b\\c', '', '-x', 'line\nbreak'];
  const echoed = execFileSync('bash', ['-c', `printf '%s\\0' ${words.map(shellWord).join(' ')}`], { encoding: 'utf8' });
  assert.deepEqual(echoed.split('\0').slice(0, -1), words);
  assert.equal(shellWord('runs/dcgan-2_b.x'), 'runs/dcgan-2_b.x');
  assert.equal(resumeAdvice('runs/my run'), "continue with `gantry train --resume --out 'runs/my run'`");
  assert.equal(trainHow('dcgan', 'folder:my pics', 'runs/a'), "`gantry train dcgan --data 'folder:my pics' --out runs/a`");
});
