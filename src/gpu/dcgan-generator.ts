import * as tf from '@tensorflow/tfjs-core';
import { GpuContext, type Dispatch, type Region } from './context.ts';
import { convLayer, type DcganNetwork } from './dcgan-step.ts';
import { convInputGrad } from './kernels/conv.ts';
import { batchNormEval, batchNormStatsLength } from './kernels/norm.ts';
import { tanhForward } from './kernels/pointwise.ts';
import { PackedNetwork } from './packed-network.ts';
import { gemmsNoted } from './gemm-tuning.ts';

/**
 * DCGAN's generator in evaluation mode (running statistics) as one replayed list of dispatches, for
 * sampling on WebGPU: z [n, nz] -> images [n, S, S, C] in [-1, 1], built for one batch size.
 */
export class DcganGpuGenerator {
  private readonly ctx = GpuContext.fromTfjs();
  private readonly G: PackedNetwork;
  private readonly z: Region;
  private readonly out: Region;
  private readonly program: Dispatch[] = [];
  /** GANTRY_GPU_TUNING: some of its products were not timed yet when it was built (the model builds it again once they are). */
  readonly untuned: boolean;

  private readonly imageShape: [number, number, number, number];

  constructor(private readonly generator: DcganNetwork, readonly batch: number) {
    this.G = new PackedNetwork(this.ctx, generator.params, 'G.eval', false);
    const nz = generator.layers[0].inChannels;
    const last = generator.layers[generator.layers.length - 1];
    this.imageShape = [batch, ...last.outSize, last.outChannels];
    this.z = this.ctx.region(this.ctx.buffer(batch * nz, 'z'), batch * nz);
    let h = this.z;
    const noted = gemmsNoted();
    for (const l of generator.layers.map((layer) => convLayer(layer, batch))) {
      const size = l.geo.batch * l.geo.h * l.geo.w * l.geo.inC;
      const x = this.ctx.region(this.ctx.buffer(size, `${l.name}.x`), size);
      const y = this.ctx.region(this.ctx.buffer(size, `${l.name}.y`, true), size);
      // The matrix tile where GANTRY_TENSOR_CORES asked for it (a draw: ../matrix-products.ts), else float32's.
      this.program.push(...convInputGrad(this.ctx, `G.${l.name}`, l.geo, h, this.G.param(`${l.name}.weight`), x, false, { tile: 'matrix' }));
      if (l.norm) {
        const stats = this.ctx.region(this.ctx.buffer(batchNormStatsLength(l.geo.inC), 'stats'), batchNormStatsLength(l.geo.inC));
        this.program.push(...batchNormEval(this.ctx, `G.${l.name}`, { rows: size / l.geo.inC, channels: l.geo.inC, activation: 'relu' },
          { x, y, gamma: this.G.param(`${l.norm}.weight`), beta: this.G.param(`${l.norm}.bias`), running: this.G.running(l.norm), stats }));
      } else {
        this.program.push(tanhForward(this.ctx, `G.${l.name}`, size, x, y));
      }
      h = y;
    }
    this.out = h;
    this.untuned = gemmsNoted() > noted;
    this.refresh();
  }

  /** The tfjs data each weight had when last copied in: assign() gives a variable new data. */
  private uploaded: object[] = [];

  /** Copies the generator's weights in if any variable changed since (training, a loaded checkpoint). */
  refresh(): void {
    const current = this.generator.params.named().map(([, v]) => v.dataId);
    if (current.length === this.uploaded.length && current.every((id, i) => id === this.uploaded[i])) return;
    this.G.upload(null);
    this.uploaded = current;
  }

  /** Images for latent vectors z [batch, nz], as a tfjs tensor on the GPU. */
  generate(z: tf.Tensor2D): tf.Tensor4D {
    if (z.shape[0] !== this.batch) throw new Error(`the WebGPU generator was built for ${this.batch} vectors, got ${z.shape[0]}`);
    this.ctx.fromTensor(z, this.z);
    this.ctx.run(this.program);
    return this.ctx.toTensor(this.out, this.imageShape) as tf.Tensor4D;
  }

  /** GPU nanoseconds of each dispatch, and their labels (bench/profile-gpu-step.ts). */
  async profile(repeats = 10): Promise<[string, number][]> {
    const ns = await this.ctx.profile(this.program, repeats);
    return this.program.map((d, i) => [d.label, ns[i]]);
  }

  /** Waits for the GPU (timing). */
  idle(): Promise<void> {
    return this.ctx.idle();
  }

  dispose(): void {
    this.ctx.dispose();
  }
}
