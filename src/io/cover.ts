/** Fitting pictures to a size by cover-and-crop; pure functions (Node and the browser). */

/** The size an image of srcW x srcH is scaled to so that it covers width x height (aspect ratio kept). */
export function coverSize(srcW: number, srcH: number, width: number, height: number): { w: number; h: number } {
  const scale = Math.max(width / srcW, height / srcH);
  return { w: Math.max(width, Math.round(srcW * scale)), h: Math.max(height, Math.round(srcH * scale)) };
}

/**
 * A label or instance map fitted like its image (resizeAndCenterCrop's scale and centre crop) but with
 * nearest-neighbour sampling: ids are never blended.
 */
export function nearestCoverCrop(map: Int32Array, srcW: number, srcH: number, width: number, height: number): Int32Array {
  const { w, h } = coverSize(srcW, srcH, width, height);
  const x0 = Math.floor((w - width) / 2);
  const y0 = Math.floor((h - height) / 2);
  const out = new Int32Array(width * height);
  for (let y = 0; y < height; y++) {
    const sy = Math.min(srcH - 1, Math.floor(((y + y0 + 0.5) * srcH) / h));
    for (let x = 0; x < width; x++) out[y * width + x] = map[sy * srcW + Math.min(srcW - 1, Math.floor(((x + x0 + 0.5) * srcW) / w))];
  }
  return out;
}
