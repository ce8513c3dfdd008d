import { readFileSync } from 'node:fs';

/** A layer of bench/conv-layers.json: [batch, height, width, in, out, kernel or [kh, kw], stride, padding or [rows, columns] on both sides]. */
export type ConvLayer = [number, number, number, number, number, number | [number, number], number, number | [number, number]];

/** A layer set of bench/conv-layers.json, each layer with its filter and padding spelled out. */
export function convLayerSet(name: string): { layer: ConvLayer; n: number; h: number; w: number; cin: number; cout: number; kh: number; kw: number; stride: number; ph: number; pw: number }[] {
  const layers = (JSON.parse(readFileSync(new URL('./conv-layers.json', import.meta.url), 'utf8')) as Record<string, ConvLayer[]>)[name];
  if (!Array.isArray(layers)) throw new Error(`no layer set ${name} in bench/conv-layers.json`);
  return layers.map((layer) => {
    const [n, h, w, cin, cout, k, stride, pad] = layer;
    const [kh, kw] = typeof k === 'number' ? [k, k] : k;
    const [ph, pw] = typeof pad === 'number' ? [pad, pad] : pad;
    return { layer, n, h, w, cin, cout, kh, kw, stride, ph, pw };
  });
}
