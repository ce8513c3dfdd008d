/** How much of a download has arrived: bytes so far, of `total` where the server says how many (else null). */
export interface DownloadProgress {
  loaded: number;
  total: number | null;
}

/**
 * A response's body as bytes, telling `onProgress` as they arrive (a page's weights can be NVIDIA's
 * label2city generator, 730 MB). Where the server gives the length, the bytes go straight into one array
 * of that size, so the file is never held twice; a compressed body's length is not its bytes', so there
 * the total is unknown and the array grows.
 */
export async function readBytes(response: Response, onProgress?: (progress: DownloadProgress) => void): Promise<Uint8Array> {
  if (!onProgress || !response.body) return new Uint8Array(await response.arrayBuffer());
  const length = Number(response.headers.get('content-length'));
  const total = Number.isSafeInteger(length) && length > 0 && !response.headers.get('content-encoding') ? length : null;
  const reader = response.body.getReader();
  let bytes = new Uint8Array(total ?? 1 << 20);
  let loaded = 0;
  onProgress({ loaded, total });
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (loaded + value.length > bytes.length) {
      // More than the server said (or no length given): twice the size, so a large file is copied only a few times.
      const larger = new Uint8Array(Math.max(2 * bytes.length, loaded + value.length));
      larger.set(bytes.subarray(0, loaded));
      bytes = larger;
    }
    bytes.set(value, loaded);
    loaded += value.length;
    onProgress({ loaded, total });
  }
  return loaded === bytes.length ? bytes : bytes.subarray(0, loaded);
}

/**
 * Progress passed on to `post` at most every `everyMs`, and always when the file is complete; flush()
 * passes on the last one held back (where the total is unknown, the end is known only to the caller).
 */
export function throttledProgress(post: (progress: DownloadProgress) => void, everyMs: number, now = () => performance.now()) {
  let last = -Infinity;
  let held: DownloadProgress | null = null;
  return {
    tell(progress: DownloadProgress): void {
      const t = now();
      if (t - last >= everyMs || progress.loaded === progress.total) {
        last = t;
        held = null;
        post(progress);
      } else held = progress;
    },
    flush(): void {
      if (held) post(held);
      held = null;
    },
  };
}
