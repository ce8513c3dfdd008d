import { test } from 'node:test';
import { initEngine } from '../../src/engine/index.ts';
import { GantryError } from '../../src/errors.ts';
import { checkDcganStepsAgainstPyTorch } from '../golden/dcgan-golden.ts';

// WebGPU needs a GPU adapter (Dawn on Vulkan/Metal/D3D12). CI and the CPU machines have none: these
// tests are skipped there, with the reason shown, and run on the GPU machine (see bench/gpu.sh).
let noGpu: string | false = false;
try {
  await initEngine({ device: 'webgpu', log: (line) => console.log(line) });
} catch (err) {
  if (!(err instanceof GantryError)) throw err;
  noGpu = `no WebGPU adapter here (${err.message.slice(0, 80)}...)`;
}

test('WebGPU: DCGAN training steps match PyTorch (losses, weights, running statistics)', { skip: noGpu }, checkDcganStepsAgainstPyTorch);
