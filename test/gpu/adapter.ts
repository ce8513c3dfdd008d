import { initEngine } from '../../src/engine/index.ts';
import { GantryError } from '../../src/errors.ts';

/**
 * Starts the engine on WebGPU for a test file. WebGPU needs an adapter (Dawn on Vulkan/Metal/D3D12): the GPU
 * machine, or a CPU with Mesa 24+'s lavapipe (README, "On a GPU"). Without one: the reason to skip the file's
 * tests with; with one: false.
 */
export async function startWebGpuOrSkip(log: (line: string) => void = () => {}): Promise<string | false> {
  try {
    await initEngine({ device: 'webgpu', log });
    return false;
  } catch (err) {
    if (!(err instanceof GantryError)) throw err;
    return `no WebGPU adapter here (${err.message.slice(0, 80)}...)`;
  }
}
