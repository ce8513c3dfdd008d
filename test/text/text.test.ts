import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setup, tf } from '../helpers.ts';
import { Rng } from '../../src/engine/rng.ts';
import { ParamSet } from '../../src/nn/params.ts';
import { SentenceEncoder } from '../../src/text/encoder.ts';
import { buildVocabulary, PAD_ID, tokenize, Tokenizer, UNKNOWN_ID } from '../../src/text/tokenizer.ts';
import { contrastiveLoss, retrievalAccuracy } from '../../src/losses/contrastive.ts';

await setup();

test('tokenizer: lower-case words, vocabulary by frequency, ids padded to the longest caption, unknown words', () => {
  assert.deepEqual(tokenize("This bird's wings are BLUE, with 2 white bars."), ['this', 'bird', 's', 'wings', 'are', 'blue', 'with', '2', 'white', 'bars']);
  const vocab = buildVocabulary(['a red bird', 'a blue bird', 'a bird'], 10);
  assert.deepEqual(vocab, ['a', 'bird', 'blue', 'red']);
  assert.deepEqual(buildVocabulary(['a red bird', 'a blue bird', 'a bird'], 2), ['a', 'bird']);
  const tok = new Tokenizer(vocab, 4);
  const { ids, words } = tok.encode(['a red bird', 'a green bird flying high', 'bird']);
  assert.equal(words, 4, 'cut at maxWords');
  assert.deepEqual(Array.from(ids), [2, 5, 3, PAD_ID, 2, UNKNOWN_ID, 3, UNKNOWN_ID, 3, PAD_ID, PAD_ID, PAD_ID]);
  assert.equal(tok.encode(['a bird', 'bird']).words, 2, 'padded only to the longest caption');
  assert.equal(tok.encode(['']).words, 1);
  assert.deepEqual(tok.unknownWords('a green bird'), ['green']);
  assert.equal(tok.tableSize, 6);
});

function encoder(seed = 1): { enc: SentenceEncoder; tok: Tokenizer; params: ParamSet } {
  const tok = new Tokenizer(buildVocabulary(['a small red circle on a blue background', 'a large green square on a white background'], 100), 12);
  const params = new ParamSet();
  const enc = new SentenceEncoder(params, 's', { tableSize: tok.tableSize, wordDim: 8, hidden: 16, outDim: 6 }, new Rng(seed));
  return { enc, tok, params };
}

test('sentence encoder: unit vectors, word order matters, and padding changes nothing', () => {
  const { enc, tok, params } = encoder();
  const a = 'a small red circle on a blue background';
  const b = 'a small blue circle on a red background';
  const together = enc.apply(tok.encode([a, b, 'red circle']));
  const values = together.arraySync() as number[][];
  for (const row of values) assert.ok(Math.abs(Math.hypot(...row) - 1) < 1e-5);
  assert.ok(values[0].some((v, i) => Math.abs(v - values[1][i]) > 1e-3), 'swapping the colours changes the vector');
  // "red circle" alone (2 words) and padded to 8 words beside the others: the same vector.
  const alone = enc.apply(tok.encode(['red circle'])).arraySync() as number[][];
  assert.ok(alone[0].every((v, i) => Math.abs(v - values[2][i]) < 1e-6), `padding changed the vector: ${alone[0]} vs ${values[2]}`);
  tf.dispose(together);
  params.dispose();
});

test('contrastive loss: value against float64 arithmetic, repeated captions share the target, gradient by finite differences', () => {
  const rng = new Rng(4);
  const unit = (n: number, d: number) => tf.tidy(() => {
    const x = tf.tensor2d(rng.fillNormal(new Float32Array(n * d)), [n, d]);
    return tf.div(x, tf.norm(x, 2, 1, true)) as tf.Tensor2D;
  });
  const t = unit(4, 5);
  const v = unit(4, 5);
  const captions = ['x', 'y', 'x', 'z'];
  const T = t.arraySync() as number[][];
  const V = v.arraySync() as number[][];
  const tau = 0.3;
  const logits = T.map((ti) => V.map((vj) => ti.reduce((s, x, k) => s + x * vj[k], 0) / tau));
  const target = captions.map((ci) => captions.map((cj) => (ci === cj ? 1 / captions.filter((c) => c === ci).length : 0)));
  const ce = (L: number[][]) => L.reduce((sum, row, i) => {
    const lse = Math.log(row.reduce((s, x) => s + Math.exp(x), 0));
    return sum - row.reduce((s, x, j) => s + target[i][j] * (x - lse), 0);
  }, 0) / L.length;
  const expected = 0.5 * (ce(logits) + ce(logits[0].map((_, j) => logits.map((r) => r[j]))));
  const loss = contrastiveLoss(t, v, captions, tau);
  assert.ok(Math.abs(loss.dataSync()[0] - expected) < 1e-5, `${loss.dataSync()[0]} vs ${expected}`);
  // Text 0 ("x") is closest to image 0 or 2 (both "x"), or not: the accuracy counts either as right.
  const acc = retrievalAccuracy(t, v, captions).dataSync()[0];
  const best = T.map((ti) => V.map((vj) => ti.reduce((s, x, k) => s + x * vj[k], 0))).map((r) => r.indexOf(Math.max(...r)));
  assert.equal(acc, best.filter((j, i) => captions[j] === captions[i]).length / 4);
  tf.dispose([loss]);

  // Gradient through the encoder and the loss, against central differences of a few word-table entries.
  const { enc, tok, params } = encoder(2);
  const caps = ['a small red circle on a blue background', 'a large green square on a white background', 'a red square'];
  const images = unit(3, 6);
  const ids = tok.encode(caps);
  const f = () => contrastiveLoss(enc.apply(ids), images, caps, 0.5);
  const { grads } = tf.variableGrads(f, [enc.table]);
  const g = grads[enc.table.name].dataSync();
  const table = enc.table.dataSync().slice();
  for (const i of [0, 9, 17, 30]) {
    const at = (delta: number) => {
      const w = table.slice();
      w[i] += delta;
      enc.table.assign(tf.tensor(w, enc.table.shape));
      return tf.tidy(() => f().dataSync()[0]);
    };
    const numeric = (at(1e-2) - at(-1e-2)) / 2e-2;
    assert.ok(Math.abs(numeric - g[i]) < 2e-3 + 0.05 * Math.abs(numeric), `table[${i}]: analytic ${g[i]}, numeric ${numeric}`);
  }
  tf.dispose([t, v, images, ...Object.values(grads)]);
  params.dispose();
});
