/**
 * DCGAN's layers (Radford et al., as pytorch/examples/dcgan builds them): the one description that both
 * the tfjs networks (src/models/dcgan.ts) and the replayed WebGPU step (src/gpu/) are built from.
 *
 * Images need not be square: the generator starts from a base map of h0 x w0 whose shorter side is 4
 * (4x4 for square images, 4x8 for 2:1), doubles both sides per stage, and the discriminator mirrors it
 * down to the same base map, which its last convolution (a kernel of the base map's size) reads whole.
 */
export interface DcganShape {
  height: number;
  width: number;
  channels: number;
  nz: number;
  ngf: number;
  ndf: number;
}

export interface DcganLayer {
  /** The parameter name prefix: the layer's index in PyTorch's nn.Sequential ("main.3"). */
  name: string;
  /** A transposed convolution (G) or a convolution (D). */
  transposed: boolean;
  inChannels: number;
  outChannels: number;
  /** [kh, kw] */
  kernel: [number, number];
  stride: number;
  padding: number;
  /** Input and output maps, [h, w]. */
  inSize: [number, number];
  outSize: [number, number];
  /** Name of the batch norm after the convolution (followed by ReLU in G, LeakyReLU 0.2 in D), or null. */
  norm: string | null;
}

/** Number of 2x stages between the base map and the image. */
export function dcganStages(shape: Pick<DcganShape, 'height' | 'width'>): number {
  return Math.log2(Math.min(shape.height, shape.width)) - 2;
}

export function dcganArchitecture(shape: DcganShape): { g: DcganLayer[]; d: DcganLayer[] } {
  const { height: H, width: W, channels, nz, ngf, ndf } = shape;
  const n = dcganStages(shape);
  const base: [number, number] = [H >> n, W >> n];
  const at = (stage: number): [number, number] => [base[0] << stage, base[1] << stage];
  const g: DcganLayer[] = [];
  let c = ngf * 2 ** (n - 1);
  // z [1x1xnz] -> base map [4x4xc] (4x8 for 2:1 images)
  g.push({ name: 'main.0', transposed: true, inChannels: nz, outChannels: c, kernel: base, stride: 1, padding: 0, inSize: [1, 1], outSize: base, norm: 'main.1' });
  // each block doubles the size and halves the channels: 8x8x(c/2), 16x16x(c/4), ...
  for (let i = 1; i < n; i++) {
    g.push({ name: `main.${3 * i}`, transposed: true, inChannels: c, outChannels: c / 2, kernel: [4, 4], stride: 2, padding: 1, inSize: at(i - 1), outSize: at(i), norm: `main.${3 * i + 1}` });
    c /= 2;
  }
  // H x W x channels, then tanh
  g.push({ name: `main.${3 * n}`, transposed: true, inChannels: c, outChannels: channels, kernel: [4, 4], stride: 2, padding: 1, inSize: at(n - 1), outSize: at(n), norm: null });

  const d: DcganLayer[] = [];
  c = ndf;
  // H/2 x W/2 x ndf, no batch norm on the first layer
  d.push({ name: 'main.0', transposed: false, inChannels: channels, outChannels: c, kernel: [4, 4], stride: 2, padding: 1, inSize: at(n), outSize: at(n - 1), norm: null });
  // each block halves the size and doubles the channels, down to the base map
  for (let i = 1; i < n; i++) {
    d.push({ name: `main.${3 * i - 1}`, transposed: false, inChannels: c, outChannels: 2 * c, kernel: [4, 4], stride: 2, padding: 1, inSize: at(n - i), outSize: at(n - i - 1), norm: `main.${3 * i}` });
    c *= 2;
  }
  // base map -> one logit
  d.push({ name: `main.${3 * n - 1}`, transposed: false, inChannels: c, outChannels: 1, kernel: base, stride: 1, padding: 0, inSize: base, outSize: [1, 1], norm: null });
  return { g, d };
}
