import * as tf from '@tensorflow/tfjs-core';
import { GantryError } from '../errors.ts';
import type { TorchTensor } from '../io/torch.ts';

/**
 * Inception-v3 exactly as pytorch-fid evaluates it: torchvision's network with the FID variants of the
 * A, C and E blocks (average pooling that ignores padding, max pooling in Mixed_7c's pool branch) and
 * 1008 logits, fed RGB in [0, 1] resized bilinearly (align_corners=False) to 299x299 and scaled to
 * [-1, 1]. Each conv's batch norm (eval mode, eps 0.001) is folded into the conv's weights and bias at
 * load time, so a BasicConv2d is one fused conv + bias + ReLU.
 *
 * `widthDivisor` divides every channel count (1 = the real network); tests use 8 with PyTorch goldens.
 */
export const FEATURE_DIMS = [64, 192, 768, 2048] as const;
export type FeatureDim = (typeof FEATURE_DIMS)[number];

interface ConvSpec {
  name: string;
  cin: number;
  cout: number;
  kh: number;
  kw: number;
  stride: number;
  ph: number;
  pw: number;
}

interface FoldedConv {
  spec: ConvSpec;
  weight: tf.Tensor4D;
  bias: tf.Tensor1D;
}

type Pad = [[0, 0], [number, number], [number, number], [0, 0]];

/** Builds the list of BasicConv2d layers of the network (names as in torchvision / pytorch-fid). */
function architecture(widthDivisor: number): { convs: ConvSpec[]; features: number; c: (n: number) => number } {
  const c = (n: number) => Math.max(1, Math.round(n / widthDivisor));
  const convs: ConvSpec[] = [];
  const conv = (name: string, cin: number, cout: number, k: number | [number, number], stride = 1, pad: number | [number, number] = 0) => {
    const [kh, kw] = Array.isArray(k) ? k : [k, k];
    const [ph, pw] = Array.isArray(pad) ? pad : [pad, pad];
    convs.push({ name, cin, cout, kh, kw, stride, ph, pw });
    return cout;
  };
  conv('Conv2d_1a_3x3', 3, c(32), 3, 2);
  conv('Conv2d_2a_3x3', c(32), c(32), 3);
  conv('Conv2d_2b_3x3', c(32), c(64), 3, 1, 1);
  conv('Conv2d_3b_1x1', c(64), c(80), 1);
  conv('Conv2d_4a_3x3', c(80), c(192), 3);
  const blockA = (n: string, cin: number, pool: number) => {
    conv(`${n}.branch1x1`, cin, c(64), 1);
    conv(`${n}.branch5x5_1`, cin, c(48), 1);
    conv(`${n}.branch5x5_2`, c(48), c(64), 5, 1, 2);
    conv(`${n}.branch3x3dbl_1`, cin, c(64), 1);
    conv(`${n}.branch3x3dbl_2`, c(64), c(96), 3, 1, 1);
    conv(`${n}.branch3x3dbl_3`, c(96), c(96), 3, 1, 1);
    conv(`${n}.branch_pool`, cin, c(pool), 1);
    return c(64) + c(64) + c(96) + c(pool);
  };
  const blockC = (n: string, cin: number, c7raw: number) => {
    const c7 = c(c7raw);
    conv(`${n}.branch1x1`, cin, c(192), 1);
    conv(`${n}.branch7x7_1`, cin, c7, 1);
    conv(`${n}.branch7x7_2`, c7, c7, [1, 7], 1, [0, 3]);
    conv(`${n}.branch7x7_3`, c7, c(192), [7, 1], 1, [3, 0]);
    conv(`${n}.branch7x7dbl_1`, cin, c7, 1);
    conv(`${n}.branch7x7dbl_2`, c7, c7, [7, 1], 1, [3, 0]);
    conv(`${n}.branch7x7dbl_3`, c7, c7, [1, 7], 1, [0, 3]);
    conv(`${n}.branch7x7dbl_4`, c7, c7, [7, 1], 1, [3, 0]);
    conv(`${n}.branch7x7dbl_5`, c7, c(192), [1, 7], 1, [0, 3]);
    conv(`${n}.branch_pool`, cin, c(192), 1);
    return 4 * c(192);
  };
  const blockE = (n: string, cin: number) => {
    conv(`${n}.branch1x1`, cin, c(320), 1);
    conv(`${n}.branch3x3_1`, cin, c(384), 1);
    conv(`${n}.branch3x3_2a`, c(384), c(384), [1, 3], 1, [0, 1]);
    conv(`${n}.branch3x3_2b`, c(384), c(384), [3, 1], 1, [1, 0]);
    conv(`${n}.branch3x3dbl_1`, cin, c(448), 1);
    conv(`${n}.branch3x3dbl_2`, c(448), c(384), 3, 1, 1);
    conv(`${n}.branch3x3dbl_3a`, c(384), c(384), [1, 3], 1, [0, 1]);
    conv(`${n}.branch3x3dbl_3b`, c(384), c(384), [3, 1], 1, [1, 0]);
    conv(`${n}.branch_pool`, cin, c(192), 1);
    return c(320) + 4 * c(384) + c(192);
  };
  let ch = blockA('Mixed_5b', c(192), 32);
  ch = blockA('Mixed_5c', ch, 64);
  ch = blockA('Mixed_5d', ch, 64);
  // Mixed_6a (InceptionB)
  conv('Mixed_6a.branch3x3', ch, c(384), 3, 2);
  conv('Mixed_6a.branch3x3dbl_1', ch, c(64), 1);
  conv('Mixed_6a.branch3x3dbl_2', c(64), c(96), 3, 1, 1);
  conv('Mixed_6a.branch3x3dbl_3', c(96), c(96), 3, 2);
  ch = c(384) + c(96) + ch;
  ch = blockC('Mixed_6b', ch, 128);
  ch = blockC('Mixed_6c', ch, 160);
  ch = blockC('Mixed_6d', ch, 160);
  ch = blockC('Mixed_6e', ch, 192);
  // Mixed_7a (InceptionD)
  conv('Mixed_7a.branch3x3_1', ch, c(192), 1);
  conv('Mixed_7a.branch3x3_2', c(192), c(320), 3, 2);
  conv('Mixed_7a.branch7x7x3_1', ch, c(192), 1);
  conv('Mixed_7a.branch7x7x3_2', c(192), c(192), [1, 7], 1, [0, 3]);
  conv('Mixed_7a.branch7x7x3_3', c(192), c(192), [7, 1], 1, [3, 0]);
  conv('Mixed_7a.branch7x7x3_4', c(192), c(192), 3, 2);
  ch = c(320) + c(192) + ch;
  ch = blockE('Mixed_7b', ch);
  ch = blockE('Mixed_7c', ch);
  return { convs, features: ch, c };
}

/** Names and shapes (PyTorch layout) of the state dict this network loads, num_batches_tracked aside. */
export function inceptionStateDictShapes(widthDivisor = 1): [string, number[]][] {
  const { convs, features } = architecture(widthDivisor);
  const out: [string, number[]][] = [];
  for (const s of convs) {
    out.push([`${s.name}.conv.weight`, [s.cout, s.cin, s.kh, s.kw]]);
    for (const p of ['weight', 'bias', 'running_mean', 'running_var']) out.push([`${s.name}.bn.${p}`, [s.cout]]);
  }
  out.push(['fc.weight', [1008, features]], ['fc.bias', [1008]]);
  return out;
}

export interface InceptionOutputs {
  /** Spatially averaged block outputs, by feature dimension of the full network. */
  features: Partial<Record<FeatureDim, tf.Tensor2D>>;
  /** fc(pool3) without its bias: torch-fidelity's "logits_unbiased", used for the Inception Score. */
  logitsUnbiased?: tf.Tensor2D;
}

export class InceptionV3 {
  private readonly convs = new Map<string, FoldedConv>();
  private readonly fcWeight: tf.Tensor2D;
  readonly widthDivisor: number;

  /** `what` names the weights file in errors. */
  constructor(stateDict: Map<string, TorchTensor>, what: string, widthDivisor = 1) {
    this.widthDivisor = widthDivisor;
    const get = (name: string, shape: number[]) => {
      const t = stateDict.get(name);
      if (!t) throw new GantryError(`${what} has no tensor ${name}: it is not pytorch-fid's Inception weights (pt_inception-2015-12-05-6726825d.pth)`);
      if (t.shape.join('x') !== shape.join('x')) throw new GantryError(`${what}: ${name} is ${t.shape.join('x')}, expected ${shape.join('x')}`);
      return t.data;
    };
    const { convs, features } = architecture(widthDivisor);
    for (const s of convs) {
      const w = get(`${s.name}.conv.weight`, [s.cout, s.cin, s.kh, s.kw]);
      const gamma = get(`${s.name}.bn.weight`, [s.cout]);
      const beta = get(`${s.name}.bn.bias`, [s.cout]);
      const mean = get(`${s.name}.bn.running_mean`, [s.cout]);
      const variance = get(`${s.name}.bn.running_var`, [s.cout]);
      // Fold eval-mode batch norm: y = scale * conv(x) + (beta - scale * mean), scale = gamma / sqrt(var + eps).
      const folded = new Float32Array(s.kh * s.kw * s.cin * s.cout);
      const bias = new Float32Array(s.cout);
      for (let o = 0; o < s.cout; o++) {
        const scale = gamma[o] / Math.sqrt(variance[o] + 0.001);
        bias[o] = beta[o] - scale * mean[o];
        for (let i = 0; i < s.cin; i++) for (let y = 0; y < s.kh; y++) for (let x = 0; x < s.kw; x++) {
          folded[((y * s.kw + x) * s.cin + i) * s.cout + o] = w[((o * s.cin + i) * s.kh + y) * s.kw + x] * scale;
        }
      }
      this.convs.set(s.name, { spec: s, weight: tf.tensor4d(folded, [s.kh, s.kw, s.cin, s.cout]), bias: tf.tensor1d(bias) });
    }
    // fc.weight is [1008, features]; keep it transposed for x @ W^T.
    const fc = get('fc.weight', [1008, features]);
    this.fcWeight = tf.tidy(() => tf.transpose(tf.tensor2d(fc, [1008, features])) as tf.Tensor2D);
    get('fc.bias', [1008]);
  }

  private conv(name: string, x: tf.Tensor4D): tf.Tensor4D {
    const c = this.convs.get(name)!;
    const pad: number | Pad = c.spec.ph === c.spec.pw ? c.spec.ph : [[0, 0], [c.spec.ph, c.spec.ph], [c.spec.pw, c.spec.pw], [0, 0]];
    return tf.fused.conv2d({ x, filter: c.weight, strides: c.spec.stride, pad, bias: c.bias, activation: 'relu' });
  }

  // 3x3 stride-1 average pool that ignores padding (tfjs's avgPool with 'same' divides by the valid count).
  private avgPool(x: tf.Tensor4D): tf.Tensor4D {
    return tf.avgPool(x, 3, 1, 'same');
  }

  private blockA(n: string, x: tf.Tensor4D): tf.Tensor4D {
    const b1 = this.conv(`${n}.branch1x1`, x);
    const b5 = this.conv(`${n}.branch5x5_2`, this.conv(`${n}.branch5x5_1`, x));
    const b3 = this.conv(`${n}.branch3x3dbl_3`, this.conv(`${n}.branch3x3dbl_2`, this.conv(`${n}.branch3x3dbl_1`, x)));
    const bp = this.conv(`${n}.branch_pool`, this.avgPool(x));
    return tf.concat([b1, b5, b3, bp], 3);
  }

  private blockC(n: string, x: tf.Tensor4D): tf.Tensor4D {
    const b1 = this.conv(`${n}.branch1x1`, x);
    let b7 = this.conv(`${n}.branch7x7_1`, x);
    b7 = this.conv(`${n}.branch7x7_3`, this.conv(`${n}.branch7x7_2`, b7));
    let bd = this.conv(`${n}.branch7x7dbl_1`, x);
    for (const k of [2, 3, 4, 5]) bd = this.conv(`${n}.branch7x7dbl_${k}`, bd);
    const bp = this.conv(`${n}.branch_pool`, this.avgPool(x));
    return tf.concat([b1, b7, bd, bp], 3);
  }

  private blockE(n: string, x: tf.Tensor4D, maxPool: boolean): tf.Tensor4D {
    const b1 = this.conv(`${n}.branch1x1`, x);
    const b3 = this.conv(`${n}.branch3x3_1`, x);
    const b3cat = tf.concat([this.conv(`${n}.branch3x3_2a`, b3), this.conv(`${n}.branch3x3_2b`, b3)], 3);
    const bd = this.conv(`${n}.branch3x3dbl_2`, this.conv(`${n}.branch3x3dbl_1`, x));
    const bdcat = tf.concat([this.conv(`${n}.branch3x3dbl_3a`, bd), this.conv(`${n}.branch3x3dbl_3b`, bd)], 3);
    const pooled = maxPool ? tf.maxPool(x, 3, 1, 'same') : this.avgPool(x);
    const bp = this.conv(`${n}.branch_pool`, pooled);
    return tf.concat([b1, b3cat, bdcat, bp], 3);
  }

  /**
   * images: [n, h, w, 1 or 3] in [0, 1]. Runs up to the deepest requested block; `logits` also needs
   * block 2048. Returns kept tensors; the caller disposes them.
   */
  apply(images: tf.Tensor4D, dims: readonly FeatureDim[], logits = false): InceptionOutputs {
    return tf.tidy(() => {
      const want = new Set<number>(dims);
      const last = logits ? 2048 : Math.max(...dims);
      const features: Partial<Record<FeatureDim, tf.Tensor2D>> = {};
      // Global average pooling as one pooling window (a native kernel; tfjs's mean over axes 1, 2 is slow).
      const pool = (x: tf.Tensor4D) => tf.reshape(tf.avgPool(x, [x.shape[1], x.shape[2]], 1, 'valid'), [x.shape[0], x.shape[3]]) as tf.Tensor2D;
      let x = images.shape[3] === 1 ? tf.tile(images, [1, 1, 1, 3]) : images;
      x = tf.image.resizeBilinear(x, [299, 299], false, true);
      x = tf.sub(tf.mul(x, 2), 1);
      x = this.conv('Conv2d_2b_3x3', this.conv('Conv2d_2a_3x3', this.conv('Conv2d_1a_3x3', x)));
      x = tf.maxPool(x, 3, 2, 'valid');
      if (want.has(64)) features[64] = pool(x);
      if (last > 64) {
        x = tf.maxPool(this.conv('Conv2d_4a_3x3', this.conv('Conv2d_3b_1x1', x)), 3, 2, 'valid');
        if (want.has(192)) features[192] = pool(x);
      }
      if (last > 192) {
        x = this.blockA('Mixed_5d', this.blockA('Mixed_5c', this.blockA('Mixed_5b', x)));
        const b3 = this.conv('Mixed_6a.branch3x3', x);
        const bd = this.conv('Mixed_6a.branch3x3dbl_3', this.conv('Mixed_6a.branch3x3dbl_2', this.conv('Mixed_6a.branch3x3dbl_1', x)));
        x = tf.concat([b3, bd, tf.maxPool(x, 3, 2, 'valid')], 3);
        for (const n of ['Mixed_6b', 'Mixed_6c', 'Mixed_6d', 'Mixed_6e']) x = this.blockC(n, x);
        if (want.has(768)) features[768] = pool(x);
      }
      let logitsUnbiased: tf.Tensor2D | undefined;
      if (last > 768) {
        const b3 = this.conv('Mixed_7a.branch3x3_2', this.conv('Mixed_7a.branch3x3_1', x));
        let b7 = this.conv('Mixed_7a.branch7x7x3_1', x);
        for (const k of [2, 3, 4]) b7 = this.conv(`Mixed_7a.branch7x7x3_${k}`, b7);
        x = tf.concat([b3, b7, tf.maxPool(x, 3, 2, 'valid')], 3);
        x = this.blockE('Mixed_7c', this.blockE('Mixed_7b', x, false), true);
        const f = pool(x);
        if (want.has(2048)) features[2048] = f;
        if (logits) logitsUnbiased = tf.matMul(f, this.fcWeight) as tf.Tensor2D;
      }
      return { features, logitsUnbiased } as unknown as tf.TensorContainer;
    }) as unknown as InceptionOutputs;
  }

  dispose(): void {
    for (const c of this.convs.values()) tf.dispose([c.weight, c.bias]);
    this.fcWeight.dispose();
  }
}
