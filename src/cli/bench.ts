import { GantryError, describeError } from '../errors.ts';
import { benchFamilyGenerate, benchFamilyStep } from '../bench/family-step.ts';
import { engineInfo, initEngine, type Device } from '../engine/index.ts';
import { benchDcganGenerate, benchDcganStep, WORKLOADS, type WorkloadName } from '../bench/dcgan-step.ts';
import { intArg, parseCommandArgs, refuseFlags } from './args.ts';
import { benchSgemm } from '../bench/sgemm.ts';
import { benchPix2PixHDStep } from '../bench/pix2pixhd-step.ts';
import { benchProject } from '../bench/project.ts';
import { SYNOPSIS } from './synopsis.ts';

export const BENCH_HELP = `${SYNOPSIS.BENCH}
  Times DESIGN.md's DCGAN training-step workload (or the native 1024^3 SGEMM) and prints one JSON line.
  --workload pix2pixhd times ../shared/peers/pix2pixhd_torch.py's step (64x128, labelNc 8, ngf 16, batch 1,
  VGG19 with random weights): [--height 64] [--width 128] [--label-nc 8] [--ngf 16] [--ndf 16] [--n-down 3]
  [--n-blocks 3] [--num-d 2] [--local] [--no-vgg], the peer's flags; compare with
  \`python3 pix2pixhd_torch.py --threads N\` at the same sizes. At 256x512 and up give --warmup 5: the first
  steps on the CPU fill the recycled arrays and run up to 3x slower.
  --family NAME times any family's train step as training runs it (on WebGPU recorded and replayed; --eager:
  not) on real data: [--data SPEC] (mnist, or shapes for the text and label-map families) [--model JSON] (the
  run config's model section) [--batch 16]; --profile (WebGPU) adds each replayed step's GPU time by kernel,
  every dispatch timed alone; --timeline (WebGPU) times as many more steps' compute passes on the GPU: each
  step's GPU span, the time inside its passes, and how long the GPU sat idle before it (medians).
  --generate times generator inference instead (batch 256 by default): G in evaluation mode, images/s; with
  --family, any family's generator as sample and eval draw (replayed on WebGPU, --draw-chunk N images at a
  time, by default as they do: 64 up to 64x64), beside the peers' --generate; --profile: each draw by kernel.
  --project (with --family) times projection (\`gantry project\`, squared error) instead: one Adam step on
  [--images 4] of the data's images' [--starts 8] vectors each, after [--warmup 20] steps, beside
  \`bench/generator_torch.py --project 4\`, and projection_ms, a whole 300-step projection of them.
  --no-native times tfjs's pure-JS kernels instead of gantry's.`;

export async function benchCommand(argv: string[]): Promise<void> {
  const { values } = parseCommandArgs('bench', argv, {
    workload: { type: 'string' }, device: { type: 'string' }, steps: { type: 'string' }, warmup: { type: 'string' },
    batch: { type: 'string' }, 'no-native': { type: 'boolean' }, generate: { type: 'boolean' },
    height: { type: 'string' }, width: { type: 'string' }, local: { type: 'boolean' }, 'no-vgg': { type: 'boolean' },
    family: { type: 'string' }, data: { type: 'string' }, model: { type: 'string' }, eager: { type: 'boolean' }, profile: { type: 'boolean' }, timeline: { type: 'boolean' },
    'draw-chunk': { type: 'string' }, project: { type: 'boolean' }, images: { type: 'string' }, starts: { type: 'string' }, 'label-nc': { type: 'string' }, ngf: { type: 'string' }, ndf: { type: 'string' }, 'n-down': { type: 'string' }, 'n-blocks': { type: 'string' }, 'num-d': { type: 'string' },
  });
  // Each mode's own flags: one given to another mode is refused.
  const pix2pixhdFlags = ['height', 'width', 'local', 'no-vgg', 'label-nc', 'ngf', 'ndf', 'n-down', 'n-blocks', 'num-d'];
  if (values.family && values.workload) throw new GantryError(`give --family NAME or --workload ${values.workload}, not both`);
  const workload = values.workload ?? 'dcgan32';
  if (values.project && values.generate) throw new GantryError('give --project or --generate, not both');
  const projectFlags = ['images', 'starts'];
  refuseFlags('bench', values, values.family ? [...pix2pixhdFlags, ...(values.project ? ['eager', 'timeline', 'profile', 'draw-chunk', 'batch'] : [...projectFlags, ...(values.generate ? ['eager', 'timeline'] : ['draw-chunk'])])] : [
    'data', 'model', 'eager', 'profile', 'timeline', 'draw-chunk', 'project', ...projectFlags, ...(workload === 'pix2pixhd' ? ['generate'] : pix2pixhdFlags),
    ...(workload === 'sgemm1024' ? ['batch', 'generate', 'warmup', 'no-native', ...(values.device === 'cpu' ? [] : ['device'])] : []),
  ], values.family ? `--family${values.project ? ' --project' : values.generate ? ' --generate' : ' (a train step)'}` : `--workload ${workload}`);
  for (const flag of ['profile', 'timeline'] as const) {
    if (values[flag] && (!values.family || values.device !== 'webgpu' || values.eager)) throw new GantryError(`--${flag} times replayed steps on the GPU: give it with --family NAME --device webgpu (and without --eager)`);
  }
  await initEngine({ device: (values.device ?? 'cpu') as Device, nativeKernels: !values['no-native'] });
  if (workload === 'sgemm1024') {
    process.stdout.write(JSON.stringify(benchSgemm(1024, intArg('steps', values.steps, 1))) + '\n');
    return;
  }
  const native = engineInfo()?.native;
  // peak_rss_mb: the process's largest resident size (what /usr/bin/time -v reports; the peers print theirs).
  const print = (result: object) => process.stdout.write(JSON.stringify({ ...result, native: native?.loaded ?? false, threads: native?.threads ?? 1, peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024) }) + '\n');
  if (values.family) {
    let model: Record<string, unknown> = {};
    try {
      model = values.model ? JSON.parse(values.model) : {};
    } catch (err) {
      throw new GantryError(`--model: not JSON (${describeError(err)}); give the run config's model section, e.g. --model '{"imageSize": 64}'`);
    }
    const options = { family: values.family, data: values.data, model, batch: intArg('batch', values.batch, 1), steps: intArg('steps', values.steps, 1), warmup: intArg('warmup', values.warmup) };
    if (values.project) {
      print(await benchProject({ ...options, images: intArg('images', values.images, 1), starts: intArg('starts', values.starts, 1) }));
      return;
    }
    print(await (values.generate ? benchFamilyGenerate({ ...options, profile: values.profile, drawChunk: intArg('draw-chunk', values['draw-chunk'], 1) }) : benchFamilyStep({ ...options, replay: !values.eager, profile: values.profile, timeline: values.timeline })));
    return;
  }
  if (workload === 'pix2pixhd') {
    print(await benchPix2PixHDStep({
      height: intArg('height', values.height, 8), width: intArg('width', values.width, 8), local: values.local, vgg: !values['no-vgg'],
      labelNc: intArg('label-nc', values['label-nc'], 1), ngf: intArg('ngf', values.ngf, 1), ndf: intArg('ndf', values.ndf, 1),
      nDown: intArg('n-down', values['n-down'], 1), nBlocks: intArg('n-blocks', values['n-blocks']), numD: intArg('num-d', values['num-d'], 1),
      batch: intArg('batch', values.batch, 1), steps: intArg('steps', values.steps, 1), warmup: intArg('warmup', values.warmup),
    }));
    return;
  }
  if (!(workload in WORKLOADS)) throw new GantryError(`--workload must be one of ${Object.keys(WORKLOADS).join(', ')}, pix2pixhd, sgemm1024`);
  const result = await (values.generate ? benchDcganGenerate : benchDcganStep)({
    workload: workload as WorkloadName,
    steps: intArg('steps', values.steps, 1),
    warmup: intArg('warmup', values.warmup),
    batch: intArg('batch', values.batch, 1),
  });
  print(result);
}
