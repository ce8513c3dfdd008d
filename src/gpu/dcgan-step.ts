import * as tf from '@tensorflow/tfjs-core';
import type { DcganLayer } from '../nn/dcgan-architecture.ts';
import type { ParamSet } from '../nn/params.ts';
import type { Adam } from '../optim/adam.ts';
import { GpuContext, type Dispatch, type PassTimeline, type Region } from './context.ts';
import { convFilterGrad, convForward, convInputGrad, outSize, type ConvGeometry, type ConvTuning } from './kernels/conv.ts';
import { matrixTrainingTuning } from './matrix-products.ts';
import { batchNormBackward, batchNormForward, batchNormStatsLength, type BatchNormBuffers, type BatchNormLayout } from './kernels/norm.ts';
import { adamUpdate, bceDiscriminatorLoss, leakyRelu, leakyReluGrad, nonSaturatingGeneratorLoss, tanhForward, tanhGrad } from './kernels/pointwise.ts';
import { PackedNetwork } from './packed-network.ts';
import { gemmsNoted } from './gemm-tuning.ts';

/**
 * DCGAN's whole training step (Dcgan.trainStepWithNoise: G forward, D on real and detached fake, D's
 * Adam, G's loss through the updated D, G's Adam) as one fixed list of ~260 WebGPU dispatches over
 * buffers allocated once. Each step writes the batch and the noise, the two Adam step sizes, and
 * submits; nothing is read back. Losses come out as tfjs tensors that stay on the GPU until logged.
 */

export interface Layer {
  name: string;
  geo: ConvGeometry;
  /** Batch norm after the convolution, or none (D's first layer, both last layers). */
  norm: string | null;
}

/** A DCGAN network as the replayed step sees it: its layers (src/nn/dcgan-architecture.ts) and tensors. */
export interface DcganNetwork {
  layers: DcganLayer[];
  params: ParamSet;
}

/**
 * A DCGAN layer as a convolution of the WGSL kernels. A transposed convolution is recorded as the
 * convolution that maps its output back to its input: its geometry's input is the layer's output.
 */
export function convLayer(l: DcganLayer, batch: number): Layer {
  const from = l.transposed ? l.outSize : l.inSize;
  const [inC, outC] = l.transposed ? [l.outChannels, l.inChannels] : [l.inChannels, l.outChannels];
  const [p, s] = [l.padding, l.stride];
  return { name: l.name, geo: { batch, h: from[0], w: from[1], inC, outC, kh: l.kernel[0], kw: l.kernel[1], sh: s, sw: s, padTop: p, padBottom: p, padLeft: p, padRight: p }, norm: l.norm };
}

/** One forward pass through D, its activations kept for the backward pass. */
interface DPass {
  /** Convolution outputs, then activations, per layer (the last layer's x is the logits). */
  x: Region[];
  y: Region[];
  stats: Region[];
}

export class DcganGpuStep {
  private readonly ctx: GpuContext;
  private readonly G: PackedNetwork;
  private readonly D: PackedNetwork;
  private readonly gLayers: Layer[];
  private readonly dLayers: Layer[];
  private readonly images: Region;
  private readonly z: Region;
  /** lossD and lossG, each at the start of its own buffer (so they turn into tensors with one copy). */
  private readonly losses: { D: Region; G: Region };
  private readonly adamUniform: { G: GPUBuffer; D: GPUBuffer };
  /** Its products' tile: the scaled matrix tile where GANTRY_TENSOR_CORES=train asks (../matrix-products.ts). */
  private readonly tuning: ConvTuning = matrixTrainingTuning();
  private readonly program: Dispatch[];
  /** GANTRY_GPU_TUNING: some of its products were not timed yet when it was built (the model builds it again once they are). */
  readonly untuned: boolean;

  constructor(nets: { G: DcganNetwork; D: DcganNetwork }, private readonly optimizers: { G: Adam; D: Adam }, readonly batch: number) {
    this.ctx = GpuContext.fromTfjs();
    this.G = new PackedNetwork(this.ctx, nets.G.params, 'G');
    this.D = new PackedNetwork(this.ctx, nets.D.params, 'D');
    this.gLayers = nets.G.layers.map((l) => convLayer(l, batch));
    this.dLayers = nets.D.layers.map((l) => convLayer(l, batch));
    const [first] = nets.D.layers;
    this.images = this.alloc(batch * first.inSize[0] * first.inSize[1] * first.inChannels, 'images');
    const nz = nets.G.layers[0].inChannels;
    this.z = this.alloc(batch * nz, 'z');
    this.losses = { D: this.ctx.region(this.ctx.buffer(1, 'lossD', true), 1), G: this.ctx.region(this.ctx.buffer(1, 'lossG', true), 1) };
    this.adamUniform = { G: this.ctx.uniform(new Float32Array(4), 'G.adam.u'), D: this.ctx.uniform(new Float32Array(4), 'D.adam.u') };
    const noted = gemmsNoted();
    this.program = this.build();
    this.untuned = gemmsNoted() > noted;
    this.G.upload(optimizers.G);
    this.D.upload(optimizers.D);
  }

  private alloc(n: number, label: string): Region {
    return this.ctx.region(this.ctx.buffer(n, label), n);
  }

  private outElems(g: ConvGeometry): number {
    const { oh, ow } = outSize(g);
    return g.batch * oh * ow * g.outC;
  }

  private inElems(g: ConvGeometry): number {
    return g.batch * g.h * g.w * g.inC;
  }

  private bnLayout(net: 'G' | 'D', rows: number, channels: number): BatchNormLayout {
    // G: batch norm + ReLU; D: batch norm + LeakyReLU(0.2)
    return { rows, channels, activation: net === 'G' ? 'relu' : 'leaky' };
  }

  private bnBuffers(net: PackedNetwork, l: Layer, x: Region, y: Region, stats: Region): BatchNormBuffers {
    return { x, y, gamma: net.param(`${l.norm}.weight`), beta: net.param(`${l.norm}.bias`), running: net.running(l.norm!), stats };
  }

  /** D forward from `input`: returns the pass's buffers and dispatches; logits end in x[last]. */
  private dForward(tag: string, input: Region, out: Dispatch[]): DPass {
    const pass: DPass = { x: [], y: [], stats: [] };
    let h = input;
    for (const [i, l] of this.dLayers.entries()) {
      const label = `D.${tag}.${l.name}`;
      const size = this.outElems(l.geo);
      const x = this.alloc(size, `${label}.x`);
      out.push(...convForward(this.ctx, label, l.geo, h, this.D.param(`${l.name}.weight`), x, {}, this.tuning));
      let y = x;
      let stats = x;
      if (l.norm) {
        y = this.alloc(size, `${label}.y`);
        stats = this.alloc(batchNormStatsLength(l.geo.outC), `${label}.stats`);
        out.push(...batchNormForward(this.ctx, label, this.bnLayout('D', size / l.geo.outC, l.geo.outC), this.bnBuffers(this.D, l, x, y, stats)));
      } else if (i < this.dLayers.length - 1) {
        y = this.alloc(size, `${label}.y`);
        out.push(leakyRelu(this.ctx, label, size, x, y));
      }
      pass.x.push(x);
      pass.y.push(y);
      pass.stats.push(stats);
      h = y;
    }
    return pass;
  }

  /**
   * D backward of one pass from the logits' gradient. With paramGrads, D's gradients are written
   * (accumulate: added) to D.grads; with inputGrad, the gradient at D's input goes there.
   */
  private dBackward(tag: string, pass: DPass, input: Region, dLogits: Region, o: { paramGrads: boolean; accumulate: boolean; inputGrad: Region | null }, out: Dispatch[]): void {
    let dy = dLogits;
    for (let i = this.dLayers.length - 1; i >= 0; i--) {
      const l = this.dLayers[i];
      const label = `D.${tag}.${l.name}`;
      const size = this.outElems(l.geo);
      // Gradient at the convolution's output.
      let dx = dy;
      if (l.norm) {
        dx = this.alloc(size, `${label}.dx`);
        out.push(...batchNormBackward(this.ctx, label, this.bnLayout('D', size / l.geo.outC, l.geo.outC), this.bnBuffers(this.D, l, pass.x[i], pass.y[i], pass.stats[i]),
          { dy, dx, dGamma: o.paramGrads ? this.D.param(`${l.norm}.weight`, 'grads') : null, dBeta: o.paramGrads ? this.D.param(`${l.norm}.bias`, 'grads') : null }, o.accumulate));
      } else if (i < this.dLayers.length - 1) {
        dx = this.alloc(size, `${label}.dx`);
        out.push(leakyReluGrad(this.ctx, label, size, dy, pass.y[i], dx));
      }
      const layerInput = i === 0 ? input : pass.y[i - 1];
      if (o.paramGrads) out.push(...convFilterGrad(this.ctx, label, l.geo, layerInput, dx, this.D.param(`${l.name}.weight`, 'grads'), o.accumulate, this.tuning));
      const target = i === 0 ? o.inputGrad : this.alloc(this.inElems(l.geo), `${label}.dinput`);
      if (target) out.push(...convInputGrad(this.ctx, label, l.geo, dx, this.D.param(`${l.name}.weight`), target, false, this.tuning));
      if (i > 0) dy = target!;
    }
  }

  private build(): Dispatch[] {
    const out: Dispatch[] = [];
    const ctx = this.ctx;
    const { batch } = this;
    // G forward (training mode): z -> 4x4 -> ... -> tanh image.
    const gx: Region[] = [];
    const gy: Region[] = [];
    const gStats: Region[] = [];
    let h = this.z;
    for (const l of this.gLayers) {
      const label = `G.${l.name}`;
      const size = this.inElems(l.geo);
      const x = this.alloc(size, `${label}.x`);
      out.push(...convInputGrad(ctx, label, l.geo, h, this.G.param(`${l.name}.weight`), x, false, this.tuning));
      const y = this.alloc(size, `${label}.y`);
      let stats = x;
      if (l.norm) {
        stats = this.alloc(batchNormStatsLength(l.geo.inC), `${label}.stats`);
        out.push(...batchNormForward(ctx, label, this.bnLayout('G', size / l.geo.inC, l.geo.inC), this.bnBuffers(this.G, l, x, y, stats)));
      } else {
        out.push(tanhForward(ctx, label, size, x, y));
      }
      gx.push(x);
      gy.push(y);
      gStats.push(stats);
      h = y;
    }
    const fake = h;

    // D step: BCE on real (1) and detached fake (0), gradients summed over both passes.
    const real = this.dForward('real', this.images, out);
    const fakePass = this.dForward('fake', fake, out);
    const last = this.dLayers.length - 1;
    const dReal = this.alloc(batch, 'dlogits.real');
    const dFake = this.alloc(batch, 'dlogits.fake');
    out.push(bceDiscriminatorLoss(ctx, batch, real.x[last], fakePass.x[last], dReal, dFake, this.losses.D));
    this.dBackward('fake', fakePass, fake, dFake, { paramGrads: true, accumulate: false, inputGrad: null }, out);
    this.dBackward('real', real, this.images, dReal, { paramGrads: true, accumulate: true, inputGrad: null }, out);
    const adam = this.optimizers.D.options;
    const hyper = { beta1: adam.beta1, beta2: adam.beta2, eps: adam.eps ?? 1e-8 };
    out.push(adamUpdate(ctx, 'D', this.D.size, hyper, this.D.whole('params'), this.D.whole('grads'), this.D.whole('m'), this.D.whole('v'), this.adamUniform.D));

    // G step: non-saturating loss through the updated D on the same fake batch.
    const gPass = this.dForward('gen', fake, out);
    const dGen = this.alloc(batch, 'dlogits.gen');
    out.push(nonSaturatingGeneratorLoss(ctx, batch, gPass.x[last], dGen, this.losses.G));
    const dFakeImage = this.alloc(fake.length, 'dfake');
    this.dBackward('gen', gPass, fake, dGen, { paramGrads: false, accumulate: false, inputGrad: dFakeImage }, out);
    let dy = dFakeImage;
    for (let i = this.gLayers.length - 1; i >= 0; i--) {
      const l = this.gLayers[i];
      const label = `G.${l.name}`;
      const size = this.inElems(l.geo);
      const dx = this.alloc(size, `${label}.dx`);
      if (l.norm) {
        out.push(...batchNormBackward(ctx, label, this.bnLayout('G', size / l.geo.inC, l.geo.inC), this.bnBuffers(this.G, l, gx[i], gy[i], gStats[i]),
          { dy, dx, dGamma: this.G.param(`${l.norm}.weight`, 'grads'), dBeta: this.G.param(`${l.norm}.bias`, 'grads') }, false));
      } else {
        out.push(tanhGrad(ctx, label, size, dy, gy[i], dx));
      }
      // The transposed convolution's input (the layer below's activation, or z).
      const input = i === 0 ? this.z : gy[i - 1];
      out.push(...convFilterGrad(ctx, label, l.geo, dx, input, this.G.param(`${l.name}.weight`, 'grads'), false, this.tuning));
      if (i > 0) {
        const dInput = this.alloc(this.outElems(l.geo), `${label}.dinput`);
        out.push(...convForward(ctx, label, l.geo, dx, this.G.param(`${l.name}.weight`), dInput, {}, this.tuning));
        dy = dInput;
      }
    }
    out.push(adamUpdate(ctx, 'G', this.G.size, hyper, this.G.whole('params'), this.G.whole('grads'), this.G.whole('m'), this.G.whole('v'), this.adamUniform.G));
    return out;
  }

  /** Number of dispatches one step submits. */
  get dispatchCount(): number {
    return this.program.length;
  }

  /** Labels of the step's dispatches, in order (for profiles). */
  get dispatchLabels(): string[] {
    return this.program.map((d) => d.label);
  }

  /** Times the passes of the steps that follow into `timeline` (null: stops). */
  set timeline(timeline: PassTimeline | null) {
    this.ctx.timeline = timeline;
  }

  /** GPU nanoseconds of each dispatch of one step, averaged over `repeats` runs; leaves the model's state garbage. */
  profile(repeats = 10): Promise<number[]> {
    return this.ctx.profile(this.program, repeats);
  }

  /** One training step; the losses are tfjs tensors on the GPU (the caller disposes them). */
  step(images: tf.Tensor4D, z: tf.Tensor2D): { lossD: tf.Scalar; lossG: tf.Scalar } {
    if (images.shape[0] !== this.batch) throw new Error(`the WebGPU step was built for batch ${this.batch}, got ${images.shape[0]}`);
    this.ctx.fromTensor(images, this.images);
    this.ctx.fromTensor(z, this.z);
    for (const net of ['G', 'D'] as const) {
      const adam = this.optimizers[net];
      const { stepSize, sqrtBc2 } = adam.nextStepScalars();
      adam.step += 1;
      this.ctx.device.queue.writeBuffer(this.adamUniform[net], 0, new Float32Array([stepSize, sqrtBc2, 0, 0]));
    }
    this.ctx.run(this.program);
    return {
      lossD: this.ctx.toTensor(this.losses.D, []) as tf.Scalar,
      lossG: this.ctx.toTensor(this.losses.G, []) as tf.Scalar,
    };
  }

  /** Writes weights, running statistics and Adam moments back into the model's tfjs variables. */
  download(): void {
    this.G.download(this.optimizers.G);
    this.D.download(this.optimizers.D);
  }

  dispose(): void {
    this.ctx.dispose();
  }
}
