/**
 * Label and instance maps as PNGs of their ids, in the page: written (a painted map downloaded for `gantry
 * translate --labels --instances`), 8-bit grey where every id is below 256, else 16-bit, as Cityscapes writes
 * its instance maps (ids such as 26001); and read (an instance map given to the painter) as the CLI reads
 * them (io/id-map.ts). A canvas neither writes nor reads 16-bit pixels, so the PNG is built and parsed here;
 * the browser's CompressionStream and DecompressionStream do zlib's format, which PNG's IDAT holds.
 */
import { GantryError } from '../errors.ts';

/** The largest id a 16-bit grey PNG holds. */
const MAX_ID = 0xffff;

/** PNG bytes of an id map [height * width], ids 0 .. 65535. */
export async function idMapPng(ids: ArrayLike<number>, width: number, height: number): Promise<Uint8Array> {
  if (ids.length !== width * height) throw new GantryError(`an id map of ${width}x${height} has ${width * height} ids, not ${ids.length}`);
  let largest = 0;
  for (let p = 0; p < ids.length; p++) {
    const id = ids[p];
    if (!(Number.isInteger(id) && id >= 0 && id <= MAX_ID)) throw new GantryError(`id ${id} at pixel ${p % width},${Math.floor(p / width)} is not a whole number from 0 to ${MAX_ID}, which a 16-bit PNG holds`);
    largest = Math.max(largest, id);
  }
  const depth = largest < 256 ? 8 : 16;
  const bytesPerPixel = depth / 8;
  // Each row: filter type 0 (none), then its pixels, big-endian.
  const raw = new Uint8Array(height * (1 + width * bytesPerPixel));
  for (let y = 0, o = 0; y < height; y++) {
    raw[o++] = 0;
    for (let x = 0; x < width; x++) {
      const id = ids[y * width + x];
      if (depth === 16) raw[o++] = id >> 8;
      raw[o++] = id & 0xff;
    }
  }
  const header = new Uint8Array(13);
  const view = new DataView(header.buffer);
  view.setUint32(0, width);
  view.setUint32(4, height);
  header.set([depth, 0, 0, 0, 0], 8); // grey, deflate, adaptive filtering, no interlace
  const idat = await deflate(raw);
  const parts = [Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', header), chunk('IDAT', idat), chunk('IEND', new Uint8Array(0))];
  return new Uint8Array(await new Blob(parts as BlobPart[]).arrayBuffer());
}

/**
 * The ids of a PNG as io/id-map.ts reads them: a grey PNG's values (8 or 16 bit), a palette PNG's indices, an
 * RGB(A) PNG's grey levels. `name` names the file in errors.
 */
export async function readIdMapPng(bytes: Uint8Array, name: string): Promise<{ width: number; height: number; ids: Int32Array }> {
  const fix = 'label and instance maps are grey (8 or 16 bit) or palette PNGs of ids';
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 8 || view.getUint32(0) !== 0x89504e47) throw new GantryError(`${name} is not a PNG; ${fix}`);
  let header: Uint8Array | null = null;
  const idat: Uint8Array[] = [];
  for (let p = 8; ; ) {
    if (p + 12 > bytes.length) throw new GantryError(`${name} is truncated (it ends before its IEND chunk); save it again`);
    const length = view.getUint32(p);
    const type = String.fromCharCode(...bytes.subarray(p + 4, p + 8));
    const data = bytes.subarray(p + 8, p + 8 + length);
    if (p + 12 + length > bytes.length) throw new GantryError(`${name} is truncated (its ${type} chunk is cut short); save it again`);
    if (crc32(bytes.subarray(p + 4, p + 8 + length)) !== view.getUint32(p + 8 + length)) throw new GantryError(`${name} is corrupt (its ${type} chunk fails its CRC check); save it again`);
    if (type === 'IHDR') header = data;
    else if (type === 'IDAT') idat.push(data);
    else if (type === 'IEND') break;
    p += 12 + length;
  }
  if (!header || header.length < 13) throw new GantryError(`${name} has no PNG header (IHDR); save it again`);
  const h = new DataView(header.buffer, header.byteOffset, 13);
  const [width, height, depth, colourType, interlace] = [h.getUint32(0), h.getUint32(4), header[8], header[9], header[12]];
  const channels = ({ 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 } as Record<number, number>)[colourType];
  if (!channels || colourType === 4 || !(depth === 8 || (depth === 16 && colourType === 0))) throw new GantryError(`${name} is a ${depth}-bit PNG of colour type ${colourType}; ${fix}`);
  if (interlace) throw new GantryError(`${name} is an interlaced PNG; save it without interlacing (${fix})`);
  const pixelBytes = (channels * depth) / 8;
  const rowBytes = width * pixelBytes;
  let raw: Uint8Array;
  try {
    raw = await inflate(idat);
  } catch {
    throw new GantryError(`${name} is corrupt (its image data does not inflate); save it again`);
  }
  if (raw.length < height * (1 + rowBytes)) throw new GantryError(`${name} is truncated (${raw.length} bytes of image data for ${width}x${height}); save it again`);
  const pixels = unfilter(raw, height, rowBytes, pixelBytes, name);
  const ids = new Int32Array(width * height);
  for (let p = 0; p < ids.length; p++) {
    const at = p * pixelBytes;
    if (depth === 16) ids[p] = (pixels[at] << 8) | pixels[at + 1];
    else if (channels >= 3 && (pixels[at] !== pixels[at + 1] || pixels[at] !== pixels[at + 2])) {
      throw new GantryError(`${name} is a colour PNG (pixel ${p % width},${Math.floor(p / width)} is ${pixels[at]},${pixels[at + 1]},${pixels[at + 2]}); save the ids as a grey or palette PNG (one id a pixel), not as colours`);
    } else ids[p] = pixels[at];
  }
  return { width, height, ids };
}

/** PNG's filtered rows (a filter byte each) back to their bytes: None, Sub, Up, Average and Paeth. */
function unfilter(raw: Uint8Array, height: number, rowBytes: number, pixelBytes: number, name: string): Uint8Array {
  const out = new Uint8Array(height * rowBytes);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (rowBytes + 1)];
    const row = raw.subarray(y * (rowBytes + 1) + 1, (y + 1) * (rowBytes + 1));
    const at = y * rowBytes;
    for (let i = 0; i < rowBytes; i++) {
      const left = i >= pixelBytes ? out[at + i - pixelBytes] : 0;
      const up = y > 0 ? out[at - rowBytes + i] : 0;
      const upLeft = y > 0 && i >= pixelBytes ? out[at - rowBytes + i - pixelBytes] : 0;
      let predicted: number;
      if (filter === 0) predicted = 0;
      else if (filter === 1) predicted = left;
      else if (filter === 2) predicted = up;
      else if (filter === 3) predicted = (left + up) >> 1;
      else if (filter === 4) predicted = paeth(left, up, upLeft);
      else throw new GantryError(`${name} is corrupt (row ${y} has filter type ${filter}); save it again`);
      out[at + i] = (row[i] + predicted) & 0xff;
    }
  }
  return out;
}

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const [pa, pb, pc] = [Math.abs(p - a), Math.abs(p - b), Math.abs(p - c)];
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

async function deflate(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([bytes as BlobPart]).stream().pipeThrough(new CompressionStream('deflate'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

async function inflate(parts: Uint8Array[]): Promise<Uint8Array> {
  const stream = new Blob(parts as BlobPart[]).stream().pipeThrough(new DecompressionStream('deflate'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** A PNG chunk: length, type, data, and the CRC-32 of type and data. */
function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

let crcTable: Uint32Array | null = null;

/** CRC-32 (ISO 3309, the polynomial 0xEDB88320 reflected), as PNG checks its chunks. */
function crc32(bytes: Uint8Array): number {
  crcTable ??= Uint32Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  let c = 0xffffffff;
  for (const b of bytes) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
