// Where a pix2pixHD training step's resident memory goes (the bench workload, any size), sampled after
// every kernel: the pool's arrays that tensors hold (float-pool.ts: kernel outputs and drawn weights; the
// VGG19 weights and anything read from a file are not among them), the free arrays kept for the next
// step, all ArrayBuffers (held, free, others, and those let go but not yet freed) and the process's
// resident size. Prints a line every --every kernels and the resident peak's breakdown.
//   node --import tsx bench/memory-step.ts [--height 256 --width 512] [--official] [--steps 2] [--every 200]
// --official: NVIDIA's global network (ngf 64, nDown 4, nBlocks 9, ndf 64, labelNc 35); else the peer's defaults.
// Compare with `/usr/bin/time -v python3 ../shared/peers/pix2pixhd_torch.py` at the same flags.
import { parseArgs } from 'node:util';
import { initEngine, tf } from '../src/engine/index.ts';
import { benchPix2PixHDStep } from '../src/bench/pix2pixhd-step.ts';
import { peakPooledHeldBytes, pooledFreeBytes, pooledHeldBytes } from '../src/kernels/cpu/float-pool.ts';

const { values } = parseArgs({ options: {
  height: { type: 'string', default: '64' }, width: { type: 'string', default: '128' }, official: { type: 'boolean' },
  steps: { type: 'string', default: '2' }, every: { type: 'string', default: '200' }, 'no-vgg': { type: 'boolean' },
} });
await initEngine({ device: 'cpu' });
const gb = (bytes: number) => `${(bytes / 1e9).toFixed(2)} GB`;
const sample = (kernel: number) => {
  const { rss, arrayBuffers } = process.memoryUsage();
  return { kernel, rss, held: pooledHeldBytes(), free: pooledFreeBytes(), arrayBuffers };
};
const describe = (s: ReturnType<typeof sample>) => `resident ${gb(s.rss)}: pool arrays held ${gb(s.held)}, free arrays ${gb(s.free)}, all ArrayBuffers ${gb(s.arrayBuffers)}`;

// Every kernel goes through Engine.runKernelFunc, the gradients' included.
const engine = tf.engine() as unknown as { runKernelFunc: (...args: unknown[]) => unknown };
const run = engine.runKernelFunc.bind(engine);
const every = Number(values.every);
let kernels = 0;
let peak = sample(0);
engine.runKernelFunc = (...args: unknown[]) => {
  const out = run(...args);
  kernels++;
  const rss = process.memoryUsage.rss();
  if (rss > peak.rss || kernels % every === 0) {
    const s = sample(kernels);
    if (rss > peak.rss) peak = s;
    if (kernels % every === 0) console.log(`kernel ${kernels}: ${describe(s)}`);
  }
  return out;
};

const official = values.official ? { ngf: 64, nDown: 4, nBlocks: 9, ndf: 64, labelNc: 35 } : {};
const r = await benchPix2PixHDStep({ ...official, height: Number(values.height), width: Number(values.width), steps: Number(values.steps), warmup: 1, vgg: !values['no-vgg'] });
console.log(JSON.stringify(r));
console.log(`peak at kernel ${peak.kernel} of ${kernels}: ${describe(peak)}`);
console.log(`most pool bytes held at once: ${gb(peakPooledHeldBytes())}; largest resident size: ${gb(process.resourceUsage().maxRSS * 1024)}`);
