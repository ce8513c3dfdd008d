import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { relError, tf } from '../helpers.ts';
import { LpipsVgg16 } from '../../src/metrics/lpips.ts';
import { perceptualPathLength } from '../../src/metrics/ppl.ts';
import { Dcgan, dcganSchema } from '../../src/models/dcgan.ts';
import { assignPyTorchState, type Saved } from './dcgan-golden.ts';

const here = dirname(fileURLToPath(import.meta.url));
export const VGG16_W16 = join(here, 'vgg16_w16.pth');
export const LPIPS_W16 = join(here, 'lpips_w16.pth');
/** make_ppl.py's values. */
export const pplGolden = JSON.parse(readFileSync(join(here, 'ppl_golden.json'), 'utf8'));

/** NCHW values (uint8 or float32 bytes in base64) as an NHWC tensor. */
export function nhwc(base64: string, [n, c, h, w]: number[], type: 'uint8' | 'float32' = 'uint8'): tf.Tensor4D {
  const bytes = Buffer.from(base64, 'base64');
  const data = type === 'uint8' ? Float32Array.from(bytes) : new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
  return tf.tidy(() => tf.transpose(tf.tensor4d(data, [n, c, h, w]), [0, 2, 3, 1]) as tf.Tensor4D);
}

/**
 * torch-fidelity's LPIPS in PyTorch on VGG-16 at 1/16 width with seeded linear layers (test/golden/make_ppl.py):
 * 8-bit pairs at 64x64 (no resize), 28x28 grey (repeated to RGB, bilinear up), 72x72 (area, uneven cells),
 * 128x128 (area), 48x96 (bilinear: one side not above 64) and 40x40; unquantised pairs half a level apart,
 * resized and at their own 32x48. Within 1e-4 relative; no tensor left behind.
 */
export async function checkLpipsAgainstPyTorch(): Promise<void> {
  const g = pplGolden;
  const net = LpipsVgg16.load(VGG16_W16, LPIPS_W16);
  const tensors = tf.memory().numTensors;
  const cases: { name: string; a: tf.Tensor4D; b: tf.Tensor4D; want: number[]; resize?: number }[] = g.pairs.map((p: { shape_nchw: number[]; a: string; b: string; lpips: number[] }) => (
    { name: p.shape_nchw.join('x'), a: nhwc(p.a, p.shape_nchw), b: nhwc(p.b, p.shape_nchw), want: p.lpips, resize: 64 }));
  const f = g.floats;
  const fa = nhwc(f.a_f32, f.shape_nchw, 'float32');
  const fb = nhwc(f.b_f32, f.shape_nchw, 'float32');
  cases.push({ name: 'unquantised 64x64', a: fa, b: fb, want: f.lpips, resize: 64 });
  cases.push({ name: 'unquantised 32x48, not resized', a: tf.slice(fa, [0, 0, 0, 0], [1, 32, 48, 3]), b: tf.slice(fb, [0, 0, 0, 0], [1, 32, 48, 3]), want: g.floats_unresized.lpips });
  const before = tf.memory().numTensors;
  for (const c of cases) {
    const d = net.distance(c.a, c.b, c.resize);
    // Asynchronous reads: WebGPU has no synchronous read in Node.
    const err = relError(await d.data(), c.want);
    d.dispose();
    assert.ok(err < 1e-4, `${c.name}: relative error ${err} (${c.want})`);
  }
  assert.equal(tf.memory().numTensors, before);
  for (const c of cases) tf.dispose([c.a, c.b]);
  tf.dispose([fa, fb]);
  assert.equal(tf.memory().numTensors, tensors);
  net.dispose();
}

/**
 * LPIPS's gradient by its first image against PyTorch's autograd (test/golden/make_lpips_grad.py): a 32x32
 * pair bilinear up to 64, 28x28 grey (repeated to RGB), 66x66 area down to 64, 32x40 unresized. Within 1e-4
 * of each gradient's largest value; no tensor left behind.
 */
export async function checkLpipsGradientAgainstPyTorch(): Promise<void> {
  const golden = JSON.parse(readFileSync(join(here, 'lpips_grad_golden.json'), 'utf8'));
  const net = LpipsVgg16.load(VGG16_W16, LPIPS_W16);
  const before = tf.memory().numTensors;
  for (const c of golden.cases as { shape_nchw: number[]; resize: number | null; a: string; b: string; lpips: number[]; grad: string }[]) {
    const a = nhwc(c.a, c.shape_nchw, 'float32');
    const b = nhwc(c.b, c.shape_nchw, 'float32');
    const want = nhwc(c.grad, c.shape_nchw, 'float32');
    const { value, grad } = tf.valueAndGrad((x: tf.Tensor4D) => tf.sum(net.distance(x, b, c.resize ?? undefined)) as tf.Scalar)(a);
    const name = `${c.shape_nchw.join('x')} resized to ${c.resize}`;
    // Asynchronous reads: WebGPU has no synchronous read in Node.
    assert.ok(relError(await value.data(), [c.lpips.reduce((s, v) => s + v, 0)]) < 1e-4, `${name}: distance`);
    // Relative to the gradient's largest value: most pixels' gradients are tiny.
    const got = await grad.data();
    const expected = await want.data();
    const scale = Math.max(...expected.map(Math.abs));
    const worst = Math.max(...got.map((g, i) => Math.abs(g - expected[i])));
    assert.ok(worst < 1e-4 * scale, `${name}: gradient off by ${worst} of ${scale}`);
    tf.dispose([a, b, want, value, grad]);
  }
  assert.equal(tf.memory().numTensors, before);
  net.dispose();
}

/** make_dcgan_step.py's generator with make_ppl.py's weights (saved in the golden), in a gantry Dcgan. */
export function goldenGenerator(): Dcgan {
  const model = new Dcgan(dcganSchema.parse({ nz: pplGolden.dcgan.nz, ngf: 4, ndf: 4, channels: 1, imageSize: 32 }), 0);
  assignPyTorchState(model.networks.G, pplGolden.dcgan.G as Record<string, Saved>, 'G');
  return model;
}

/**
 * The whole of torch-fidelity's PPL in PyTorch (test/golden/make_ppl.py) on a DCGAN generator: latents,
 * interpolation, grey images to RGB, 8-bit quantisation or none, LPIPS, the division by epsilon squared,
 * the discard, mean and std. Pairs in batches of 7 there and 4 here. Within 2e-3; no tensor left behind.
 */
export async function checkPplAgainstPyTorch(): Promise<void> {
  const model = goldenGenerator();
  const lpips = LpipsVgg16.load(VGG16_W16, LPIPS_W16);
  const run = { info: model.info, model };
  const tensors = tf.memory().numTensors;
  for (const want of pplGolden.dcgan.runs) {
    const r = await perceptualPathLength(run, lpips, { n: want.n, epsilon: want.epsilon, interp: want.interp, dtype: want.dtype, discard: want.discard, batch: 4, quiet: true });
    const what = `${want.interp} ${want.dtype} epsilon ${want.epsilon}`;
    const err = relError(r.distances, want.distances);
    assert.ok(err < 2e-3, `${what}: distances' relative error ${err}`);
    assert.equal(r.kept, want.kept, what);
    assert.ok(relError([r.mean, r.std], [want.mean, want.std]) < 2e-3, `${what}: ${r.mean} ± ${r.std} vs ${want.mean} ± ${want.std}`);
  }
  assert.equal(tf.memory().numTensors, tensors);
  lpips.dispose();
  model.dispose();
}
