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
