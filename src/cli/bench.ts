import { GantryError } from '../errors.ts';
import { engineInfo, initEngine, type Device } from '../engine/index.ts';
import { benchDcganGenerate, benchDcganStep, WORKLOADS, type WorkloadName } from '../bench/dcgan-step.ts';
import { intArg, parseCommandArgs } from './args.ts';
import { benchSgemm } from '../bench/sgemm.ts';

export const BENCH_HELP = `gantry bench [--workload dcgan32|dcgan64|sgemm1024] [--device cpu|webgpu] [--steps 20] [--warmup 3] [--batch 64] [--generate]
  Times DESIGN.md's DCGAN training-step workload (or the native 1024^3 SGEMM) and prints one JSON line.
  --generate times generator inference instead (batch 256 by default): G in evaluation mode, images/s.
  --no-native times tfjs's pure-JS kernels instead of gantry's.`;

export async function benchCommand(argv: string[]): Promise<void> {
  const { values } = parseCommandArgs('bench', argv, {
    workload: { type: 'string' }, device: { type: 'string' }, steps: { type: 'string' }, warmup: { type: 'string' },
    batch: { type: 'string' }, 'no-native': { type: 'boolean' }, generate: { type: 'boolean' },
  });
  await initEngine({ device: (values.device ?? 'cpu') as Device, nativeKernels: !values['no-native'] });
  if (values.workload === 'sgemm1024') {
    process.stdout.write(JSON.stringify(benchSgemm(1024, intArg('steps', values.steps, 1))) + '\n');
    return;
  }
  const workload = (values.workload ?? 'dcgan32') as WorkloadName;
  if (!(workload in WORKLOADS)) throw new GantryError(`--workload must be one of ${Object.keys(WORKLOADS).join(', ')}, sgemm1024`);
  const result = await (values.generate ? benchDcganGenerate : benchDcganStep)({
    workload,
    steps: intArg('steps', values.steps, 1),
    warmup: intArg('warmup', values.warmup),
    batch: intArg('batch', values.batch, 1),
  });
  const native = engineInfo()?.native;
  process.stdout.write(JSON.stringify({ ...result, native: native?.loaded ?? false, threads: native?.threads ?? 1 }) + '\n');
}
