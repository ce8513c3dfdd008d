import { GantryError } from '../errors.ts';
import { readIdMap } from '../io/id-map.ts';
import { readStateDict } from '../io/torch.ts';
import { pix2pixhdFromTorch, type Pix2PixHD } from '../models/pix2pixhd.ts';
import type { Generator } from './conditions.ts';

/**
 * A generator trained by NVIDIA's pix2pixHD code (`--weights latest_net_G.pth --label-nc N`), for the
 * commands that draw with it: translate, export and studio. Its size is the one its test script would draw
 * at: `height` x `width` when both are given, else the first label map's own size scaled to `width`.
 */
export interface PretrainedOptions {
  weights: string;
  labelNc: number;
  height?: number;
  width?: number;
  /** A label map whose size (and aspect) the drawing size follows when no height is given. */
  sizeOf?: string;
}

export function openPretrained(o: PretrainedOptions): Generator & { model: Pix2PixHD } {
  let size: { mapHeight: number; mapWidth: number };
  if (o.height !== undefined) {
    if (o.width === undefined) throw new GantryError(`--height ${o.height} needs --width too (the size the generator draws at, e.g. --height 512 --width 1024)`);
    size = { mapHeight: o.height, mapWidth: o.width };
  } else if (o.sizeOf) {
    const map = readIdMap(o.sizeOf, 'label map');
    size = { mapHeight: map.height, mapWidth: map.width };
  } else {
    throw new GantryError('give the size to draw at, --height H --width W (NVIDIA\'s Cityscapes generators: 512 x 1024, or 1024 x 2048 for label2city_1024p), or --labels MAP.png|DIR to take it from a map');
  }
  const model = pix2pixhdFromTorch(readStateDict(o.weights), o.weights, { labelNc: o.labelNc, ...size, width: o.width });
  return { info: model.info, model };
}
