import { test } from 'node:test';
import assert from 'node:assert/strict';
import { slowWorkProgress } from '../../src/train/progress.ts';

/** A non-terminal stream that keeps what is written. */
function sink(): { stream: NodeJS.WriteStream; text: () => string } {
  const chunks: string[] = [];
  return { stream: { isTTY: false, write: (s: string) => chunks.push(s) } as unknown as NodeJS.WriteStream, text: () => chunks.join('') };
}

test('reading a data set: quick work prints nothing, slow work a progress line with a sane rate', () => {
  const quick = sink();
  const q = slowWorkProgress('reading quick', quick.stream);
  for (let i = 1; i <= 50; i++) q(i, 50);
  assert.equal(quick.text(), '');

  const slow = sink();
  const s = slowWorkProgress('reading slow', slow.stream);
  const t0 = Date.now();
  for (let i = 1; i <= 25; i++) {
    while (Date.now() - t0 < i * 100) { /* 10 files a second */ }
    s(i, 25);
  }
  const lines = slow.text().trim().split('\n');
  const last = lines[lines.length - 1].match(/^reading slow 25\/25 ([\d.]+) it\/s ETA 0s$/);
  assert.ok(last, lines.join('|'));
  // 10 a second, counted from the first file (the line starts only after two seconds).
  assert.ok(Number(last[1]) > 5 && Number(last[1]) < 12, last[1]);
});
