/**
 * Floating-point operations of one DCGAN training step (DESIGN.md's workload), counting the
 * convolutions only (everything else is under 1%). A convolution's forward, input gradient and filter
 * gradient each cost 2 x MACs. Per step: G forward; D forward three times (real, detached fake, fake);
 * for the D loss, filter gradients of both D passes and input gradients of all but D's first layer;
 * for the G loss, D's input gradients (all layers) and G's filter gradients and input gradients
 * (all but the first layer, whose input is z). PyTorch does the same work.
 */
export function dcganStepFlops(size: number, channels: number, width: number, batch = 64, nz = 100): number {
  const stages = Math.log2(size) - 2;
  // G layers as [inChannels, outChannels, inSize]: a transposed conv costs in*out*k*k MACs per input pixel.
  const g: number[] = [];
  let c = width * 2 ** (stages - 1);
  g.push(nz * c * 16 * 1);
  let s = 4;
  for (let i = 1; i < stages; i++, s *= 2, c /= 2) g.push(c * (c / 2) * 16 * s * s);
  g.push(c * channels * 16 * s * s);
  // D layers: in*out*k*k MACs per output pixel.
  const d: number[] = [];
  let dc = width;
  let ds = size / 2;
  d.push(channels * dc * 16 * ds * ds);
  for (let i = 1; i < stages; i++, dc *= 2) {
    ds /= 2;
    d.push(dc * 2 * dc * 16 * ds * ds);
  }
  d.push(dc * 16);
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  const gAll = sum(g), dAll = sum(d);
  const macs = gAll + 3 * dAll + 2 * (dAll + (dAll - d[0])) + dAll + gAll + (gAll - g[0]);
  return 2 * batch * macs;
}
