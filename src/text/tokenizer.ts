/**
 * Words of captions as integer ids for the text encoder. Ids 0 and 1 are reserved: 0 pads a caption to
 * the fixed length, 1 stands for a word the vocabulary lacks; word i of the vocabulary is id i + 2.
 */
export const PAD_ID = 0;
export const UNKNOWN_ID = 1;
const RESERVED = 2;

/** Lower-case words and numbers; punctuation splits words and is dropped ("bird's" -> bird, s). */
export function tokenize(text: string): string[] {
  return text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
}

/** The most frequent words of the captions (ties alphabetical), at most maxSize of them. */
export function buildVocabulary(captions: Iterable<string>, maxSize: number): string[] {
  const counts = new Map<string, number>();
  for (const c of captions) for (const w of tokenize(c)) counts.set(w, (counts.get(w) ?? 0) + 1);
  return [...counts]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .slice(0, maxSize)
    .map(([w]) => w);
}

export interface EncodedCaptions {
  ids: Int32Array;
  /** Ids per caption. */
  words: number;
}

export class Tokenizer {
  private readonly ids: Map<string, number>;

  constructor(readonly vocabulary: string[], readonly maxWords: number) {
    this.ids = new Map(vocabulary.map((w, i) => [w, i + RESERVED]));
  }

  /** Size of the embedding table: the vocabulary and the two reserved ids. */
  get tableSize(): number {
    return this.vocabulary.length + RESERVED;
  }

  /**
   * Ids [captions.length * words], row by row: each caption's first `words` words, then padding, where
   * `words` is the longest caption's length (at most maxWords): trailing padding changes nothing in the
   * encoder, so a batch of short captions is not padded to maxWords. `fixed`: always maxWords words (a
   * train step's shapes stay the same from batch to batch, as a replayed WebGPU step needs).
   */
  encode(captions: string[], fixed = false): EncodedCaptions {
    const tokens = captions.map((c) => tokenize(c).slice(0, this.maxWords));
    const words = fixed ? this.maxWords : tokens.reduce((most, t) => Math.max(most, t.length), 1);
    const ids = new Int32Array(captions.length * words).fill(PAD_ID);
    tokens.forEach((t, i) => t.forEach((w, j) => {
      ids[i * words + j] = this.ids.get(w) ?? UNKNOWN_ID;
    }));
    return { ids, words };
  }

  /** Words of a caption the model never saw in training (they all read as one unknown word). */
  unknownWords(caption: string): string[] {
    return tokenize(caption).filter((w) => !this.ids.has(w));
  }
}
