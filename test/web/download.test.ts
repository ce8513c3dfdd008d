import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readBytes, throttledProgress, type DownloadProgress } from '../../src/web/download.ts';

/** A response whose body arrives in the given chunks, with the given headers. */
function response(chunks: Uint8Array[], headers: Record<string, string> = {}): Response {
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const c of chunks) controller.enqueue(c);
      controller.close();
    },
  });
  return new Response(body, { headers });
}

/** n bytes in chunks of `size`, each byte its index mod 251. */
function chunked(n: number, size: number): { whole: Uint8Array; chunks: Uint8Array[] } {
  const whole = Uint8Array.from({ length: n }, (_, i) => i % 251);
  const chunks: Uint8Array[] = [];
  for (let i = 0; i < n; i += size) chunks.push(whole.slice(i, i + size));
  return { whole, chunks };
}

async function read(res: Response): Promise<{ bytes: Uint8Array; seen: DownloadProgress[] }> {
  const seen: DownloadProgress[] = [];
  const bytes = await readBytes(res, (p) => seen.push({ ...p }));
  return { bytes, seen };
}

test('readBytes: with the length given, progress counts up to it chunk by chunk and the bytes land in one array of that size', async () => {
  const { whole, chunks } = chunked(100_000, 7_000);
  const { bytes, seen } = await read(response(chunks, { 'content-length': String(whole.length) }));
  assert.deepEqual(bytes, whole);
  assert.equal(bytes.buffer.byteLength, whole.length, 'no larger array behind it');
  assert.equal(seen.length, chunks.length + 1, 'once at the start, then once a chunk');
  assert.deepEqual(seen[0], { loaded: 0, total: whole.length });
  assert.deepEqual(seen.at(-1), { loaded: whole.length, total: whole.length });
  assert.ok(seen.every((p, i) => i === 0 || p.loaded > seen[i - 1].loaded), 'counts only up');
});

test('readBytes: no length, or a compressed body, gives a total of null and still every byte (past the first 1 MiB array)', async () => {
  const { whole, chunks } = chunked(3_000_000, 65_536);
  for (const headers of [{}, { 'content-length': '1000', 'content-encoding': 'gzip' }] as Record<string, string>[]) {
    const { bytes, seen } = await read(response(chunks, headers));
    assert.deepEqual(bytes, whole);
    assert.ok(seen.every((p) => p.total === null), JSON.stringify(headers));
    assert.equal(seen.at(-1)!.loaded, whole.length);
  }
});

test('readBytes: a server that sends more or fewer bytes than it said gives what it sent (the decoder names a truncated file)', async () => {
  const { whole, chunks } = chunked(50_000, 4_096);
  assert.deepEqual((await read(response(chunks, { 'content-length': '20000' }))).bytes, whole);
  const short = await read(response(chunks, { 'content-length': '80000' }));
  assert.deepEqual(short.bytes, whole);
  assert.deepEqual(short.seen.at(-1), { loaded: whole.length, total: 80_000 });
});

test('readBytes: without onProgress, the body as it is', async () => {
  const { whole, chunks } = chunked(10_000, 3_000);
  assert.deepEqual(await readBytes(response(chunks, { 'content-length': '10000' })), whole);
});

test('loadGenerator: an onProgress that is not a function is one error, before anything is fetched', async () => {
  const { loadGenerator } = await import('../../src/web/index.ts');
  await assert.rejects(loadGenerator('./site/', { onProgress: 3 as never }), /^GantryError: loadGenerator\(\): onProgress must be a function \(\{ loaded, total \}\) => \.\.\., not number$/);
});

test('throttledProgress: at most one report per interval, the complete file always, and flush() gives the last one held back', () => {
  let clock = 0;
  const posted: DownloadProgress[] = [];
  const progress = throttledProgress((p) => posted.push(p), 50, () => clock);
  for (let loaded = 0; loaded <= 1000; loaded += 10, clock += 1) progress.tell({ loaded, total: 1000 });
  // 101 reports over 100 ms: the first, one 50 ms later, one 50 ms after that (at 1000: complete).
  assert.deepEqual(posted.map((p) => p.loaded), [0, 500, 1000]);
  progress.flush();
  assert.equal(posted.length, 3, 'nothing held back after the complete file');
  // Without a total the end is the caller's to know: flush() passes on the last count.
  posted.length = 0;
  clock = 1000;
  const unknown = throttledProgress((p) => posted.push(p), 50, () => clock);
  for (let loaded = 0; loaded <= 60; loaded += 10, clock += 1) unknown.tell({ loaded, total: null });
  assert.deepEqual(posted.map((p) => p.loaded), [0]);
  unknown.flush();
  assert.deepEqual(posted.map((p) => p.loaded), [0, 60]);
});
