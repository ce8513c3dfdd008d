// Convolution layers one by one: forward, input gradient and filter gradient, milliseconds (median of 11)
// and GFLOP/s. On the CPU, gantry's cpu kernels (the native ones where the addon loads); with --device
// webgpu, gantry's WGSL kernels (src/gpu/kernels/conv.ts), each product also timed on the GPU alone
// (timestamp queries, without the host's work of a call through tfjs; a 3x3 stride-1 product run by
// Winograd also by the other transform and as the implicit GEMM it replaces; with GANTRY_TENSOR_CORES=1 on a
// GPU with subgroup matrices, the forward and input gradient on the matrix tile too), and with --tfjs tfjs's own WebGPU
// kernels on the same layers beside them. Layer sets in bench/conv-layers.json: `vgg` (VGG19's 3x3 convolutions up to relu5_1 at
// pix2pixHD's 64x128 bench size), `dfgan` (DF-GAN's at 32x32, batch 16, as `gantry bench --family dfgan`
// runs them), `dcgan64` (batch 64: D's layers, whose input gradients are G's transposed convolutions, and
// G's first), `inception` (Inception-v3's distinct layers at FID's batch 50, forward only matters there),
// `pix2pixhd-global` (the official global generator at 512x1024). Beside it, the same layers in PyTorch:
// /usr/bin/python3 bench/convs_torch.py --set NAME --threads 2 (or --device cuda [--no-tf32]).
//   node --import tsx bench/convs.ts [--set NAME] [--device cpu|webgpu [--tfjs]] [--forward] [--json] [--avx2] [--cold]
// (--forward: forward only; --json: one JSON line last, the layers' times; --avx2: the AVX2 tiles where the
// CPU has AVX-512; --cold: each call with the next of 24 filters, not in cache, as a network's forward pass meets them)
import { parseArgs } from 'node:util';
import { initEngine, tf } from '../src/engine/index.ts';
import { loadNativeAddon } from '../src/kernels/cpu/native.ts';
import { flushTfjs, GpuContext } from '../src/gpu/context.ts';
import { withTfjsGpuKernels } from '../src/gpu/tfjs-kernels.ts';
import { matrixProductsOf } from '../src/gpu/matrix-products.ts';
import { Rng } from '../src/engine/rng.ts';
import { convLayerSet, gpuMs, gpuProducts, layerGeometry, type ConvLayer } from './conv-layers.ts';

const { values } = parseArgs({ options: { set: { type: 'string', default: 'vgg' }, device: { type: 'string', default: 'cpu' }, forward: { type: 'boolean' }, tfjs: { type: 'boolean' }, json: { type: 'boolean' }, avx2: { type: 'boolean' }, cold: { type: 'boolean' } } });
const FILTERS = values.cold ? 24 : 1;
const layers = convLayerSet(values.set!);
if (values.device !== 'cpu' && values.device !== 'webgpu') throw new Error('--device is cpu or webgpu');
const gpu = values.device === 'webgpu';
await initEngine({ device: values.device, log: () => {} });
if (values.avx2) loadNativeAddon().addon?.forceAvx2(true);
const device = gpu ? (tf.backend() as unknown as { device: GPUDevice }).device : null;

/**
 * The median of 11 timed calls (after 3), call i with filter i % FILTERS. On WebGPU each timing is of 5
 * calls submitted and waited for, divided by 5: the GPU's time, with tfjs's encoding of the calls.
 */
async function median(fn: (i: number) => tf.TensorInfo): Promise<number> {
  let i = 0;
  const reps = gpu ? 5 : 1;
  const run = async () => {
    for (let r = 0; r < reps; r++) tf.dispose(tf.engine().makeTensorFromTensorInfo(fn(i++ % FILTERS)));
    if (device) {
      flushTfjs();
      await device.queue.onSubmittedWorkDone();
    }
  };
  for (let k = 0; k < 3; k++) await run();
  const times: number[] = [];
  for (let k = 0; k < 11; k++) {
    const t0 = performance.now();
    await run();
    times.push((performance.now() - t0) / reps);
  }
  return times.sort((a, b) => a - b)[5];
}

const kernel = (name: string, inputs: Record<string, tf.Tensor>, attrs: Record<string, unknown>) => tf.engine().runKernel(name, inputs, attrs as tf.NamedAttrMap) as tf.TensorInfo;
/**
 * The layer's products timed (forward, input gradient, filter gradient), each call made inside `on`: as
 * registered, or withTfjsGpuKernels for tfjs's own.
 */
async function products(x: tf.Tensor4D, filters: tf.Tensor4D[], dy: tf.Tensor4D, common: Record<string, unknown>, filterShape: number[], on = (call: () => tf.TensorInfo) => call()): Promise<number[]> {
  const times = [await median((f) => on(() => kernel('Conv2D', { x, filter: filters[f] }, common)))];
  if (values.forward) return times;
  times.push(await median((f) => on(() => kernel('Conv2DBackpropInput', { dy, filter: filters[f] }, { ...common, inputShape: x.shape }))));
  times.push(await median(() => on(() => kernel('Conv2DBackpropFilter', { x, dy }, { ...common, filterShape }))));
  return times;
}

const names = ['forward', 'input gradient', 'filter gradient'];
const total = [0, 0, 0];
const rows: { layer: ConvLayer; gflop: number; ms: number[]; gpu_ms?: number[]; winograd?: (WinogradTimes | null)[]; matrix_ms?: (number | null)[]; scaled_ms?: number[]; tfjs_ms?: number[] }[] = [];
const rng = new Rng(1, 'convs');

/**
 * On WebGPU, the GPU time alone of gantry's dispatches for each product (the ms above add the host's work
 * of each call through tfjs, which a replayed step does not do).
 */
interface WinogradTimes {
  /** The transform gantry chose, the other one's time, and the implicit GEMM's it replaces. */
  m: 2 | 4;
  other_ms: number;
  gemm_ms: number;
}

async function gpuOnly(l: (typeof layers)[number]): Promise<{ ms: number[]; winograd: (WinogradTimes | null)[]; matrix_ms?: (number | null)[]; scaled_ms?: number[] }> {
  const ctx = new GpuContext(device!);
  const ms: number[] = [];
  const winograd: (WinogradTimes | null)[] = [];
  // With GANTRY_TENSOR_CORES on a device that gives them, the products a draw runs (forward; the input
  // gradient is a transposed convolution's forward) on the matrix tile too.
  const matrix = matrixProductsOf(device!) ? [] as (number | null)[] : undefined;
  // And every product as a training step runs it there (GANTRY_TENSOR_CORES=train: operands scaled per workgroup).
  const scaled = matrix ? [] as number[] : undefined;
  for (const p of gpuProducts(ctx, layerGeometry(l), rng)) {
    if (values.forward && p.name !== 'forward') continue;
    ms.push(await gpuMs(ctx, p.dispatches({})));
    const m = p.winograd;
    winograd.push(m ? { m, other_ms: await gpuMs(ctx, p.dispatches({ winograd: m === 4 ? 2 : 4 })), gemm_ms: await gpuMs(ctx, p.dispatches({ winograd: false })) } : null);
    matrix?.push(p.name === 'filter gradient' ? null : await gpuMs(ctx, p.dispatches({ tile: 'matrix' })));
    scaled?.push(await gpuMs(ctx, p.dispatches({ tile: 'matrix', scaled: true })));
  }
  ctx.dispose();
  return { ms, winograd, ...(matrix ? { matrix_ms: matrix, scaled_ms: scaled } : {}) };
}

for (const l of layers) {
  const { layer, n, h, w, cin, cout, kh, kw, stride, ph, pw } = l;
  const x = tf.randomNormal([n, h, w, cin]) as tf.Tensor4D;
  const filters = Array.from({ length: FILTERS }, () => tf.randomNormal([kh, kw, cin, cout]) as tf.Tensor4D);
  const common = { strides: stride, pad: ph === pw ? ph : [[0, 0], [ph, ph], [pw, pw], [0, 0]], dataFormat: 'NHWC', dilations: 1 };
  const dy = tf.tidy(() => tf.randomNormal((tf.engine().makeTensorFromTensorInfo(kernel('Conv2D', { x, filter: filters[0] }, common)) as tf.Tensor4D).shape)) as tf.Tensor4D;
  const ms = await products(x, filters, dy, common, [kh, kw, cin, cout]);
  const tfjsMs = gpu && values.tfjs ? await products(x, filters, dy, common, [kh, kw, cin, cout], withTfjsGpuKernels) : undefined;
  const alone = device?.features.has('timestamp-query') ? await gpuOnly(l) : undefined;
  const gpuTimes = alone?.ms;
  const gflop = (2 * dy.size * cin * kh * kw) / 1e9;
  ms.forEach((t, i) => (total[i] += t));
  rows.push({ layer, gflop, ms, gpu_ms: gpuTimes, winograd: alone?.winograd, matrix_ms: alone?.matrix_ms, scaled_ms: alone?.scaled_ms, tfjs_ms: tfjsMs });
  const byGemm = (i: number) => {
    const w = alone?.winograd[i];
    return w ? ` by F(${w.m}x${w.m}); F(${6 - w.m}x${6 - w.m}) ${w.other_ms.toFixed(3)} ms, the implicit GEMM ${w.gemm_ms.toFixed(3)} ms` : '';
  };
  const onMatrix = (i: number) => `${typeof alone?.matrix_ms?.[i] === 'number' ? `; matrix tile ${alone.matrix_ms[i]!.toFixed(3)} ms` : ''}${alone?.scaled_ms ? `; scaled ${alone.scaled_ms[i].toFixed(3)} ms` : ''}`;
  const cell = (t: number, i: number) => `${names[i]} ${t.toFixed(2)} ms (${(gflop / t * 1e3).toFixed(0)} GFLOP/s${gpuTimes ? `; GPU alone ${gpuTimes[i].toFixed(3)} ms${byGemm(i)}${onMatrix(i)}` : ''}${tfjsMs ? `; tfjs's kernels ${tfjsMs[i].toFixed(2)} ms` : ''})`;
  console.log(`${n}x${h}x${w} ${cin}->${cout} ${kh}x${kw}/${stride}: ${ms.map(cell).join(', ')}`);
  tf.dispose([x, ...filters, dy]);
}
console.log(`total: ${total.slice(0, values.forward ? 1 : 3).map((t, i) => `${names[i]} ${t.toFixed(1)} ms`).join(', ')}`);
if (values.json) console.log(JSON.stringify({ set: values.set, device: values.device, layers: rows }));

