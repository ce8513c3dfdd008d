import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { Rng } from '../engine/rng.ts';
import { GantryError, given } from '../errors.ts';
import type { Batch, DataShape } from '../data/batch.ts';
import { CITYSCAPES_LABELS } from '../data/cityscapes.ts';
import { labelMapInput, pictureInput } from '../data/label-maps.ts';
import { FEATURE_MAP_CHANNELS, FEATURE_MAP_FOLDERS, featureValues } from '../data/feature-maps.ts';
import { hostInput } from '../engine/host-input.ts';
import { featureMatchingLoss, lsganLoss, vggLoss } from '../losses/pix2pixhd.ts';
import { VGG_WEIGHTS_ENV, VGG_WEIGHTS_HELP, type Vgg19Features } from '../nn/vgg19.ts';
import { loadVgg19, vggWeightsPath } from '../nn/vgg19-file.ts';
import { ParamSet } from '../nn/params.ts';
import { builtFromFile, loadTorchWeights } from '../nn/torch-weights.ts';
import type { TorchTensor } from '../io/torch.ts';
import { FeatureEncoder, GlobalGenerator, LocalEnhancer, MultiscaleDiscriminator } from '../nn/pix2pixhd.ts';
import { Adam } from '../optim/adam.ts';
import { describeKind, featuresByLabel, type Condition, type ModelInfo } from './condition.ts';
import { disposeModel, updateKey, type Family, type FamilyInstance, type StepContext } from './family.ts';
import { alternatingStep, type Player } from './gan-step.ts';

/**
 * pix2pixHD (Wang et al. 2018): semantic label maps (and instance boundaries) to images. G is the global
 * generator G1; D the multi-scale PatchGAN; G's loss is LSGAN through every scale plus feature matching
 * (lambdaFeat) on every block of D but the scores plus the VGG19 perceptual loss (lambdaVgg, when its
 * weights are given); D's loss is half the LSGAN loss of real and fake pairs.
 *
 * With netG "local", G is the local enhancer G2 around G1 (the official 1024p model). With featNum > 0,
 * the instance feature encoder E adds per-instance features to G's input (the official --instance_feat);
 * with loadFeatures as well, G reads the data's precomputed feature maps instead and there is no E (the
 * official --load_features, how its 1024p feature model trains on the 512p model's encoded maps).
 * Defaults are the official options sized down for 2 cores (official: ngf 64, nDown 4, nBlocks 9, ndf 64
 * at 1024x512 with labelNc 35).
 */
export const pix2pixhdSchema = z
  .object({
    /** Image height; a multiple of 2^nDown. */
    height: z.number().int().positive().default(64),
    /** Image width (0 = height); a multiple of 2^nDown. */
    width: z.number().int().min(0).default(0),
    /** Labels in the maps (ids 0 .. labelNc - 1); 0 = the data's largest id + 1 (and 0 for pictures as inputs). */
    labelNc: z.number().int().min(0).default(0),
    /**
     * G's input is a picture (pairs:DIR's train_A/, drawn into train_B/'s pictures: the official --label_nc 0),
     * read as its three channels, not a label map (absent: as the data is).
     */
    pictures: z.boolean().optional(),
    /** Add the instance boundary map as one more input channel (absent: when the data has instance maps). */
    instances: z.boolean().optional(),
    /** Names of the label ids, where the data gave them (filled from the data). */
    labelNames: z.array(z.string()).default([]),
    /** "global": G1 alone; "local": the local enhancer G2 around G1 (G1 at 2 ngf on the half-size input). */
    netG: z.enum(['global', 'local']).default('global'),
    ngf: z.number().int().positive().default(16),
    nDown: z.number().int().min(1).default(3),
    nBlocks: z.number().int().min(0).default(3),
    /** Residual blocks of the local enhancer G2. */
    nBlocksLocal: z.number().int().min(0).default(3),
    /**
     * netG "local": for the first fixGlobalSteps steps only G2 trains (G1 fixed, as loaded with --init-from);
     * then all of G with a fresh Adam (the official niter_fix_global, in steps).
     */
    fixGlobalSteps: z.number().int().min(0).default(0),
    ndf: z.number().int().positive().default(16),
    nLayers: z.number().int().min(1).default(3),
    numD: z.number().int().min(1).default(2),
    lambdaFeat: z.number().min(0).default(10),
    /** The VGG19 perceptual loss (official: on unless --no_vgg_loss); it needs VGG19's weights. */
    vgg: z.boolean().default(true),
    /** torchvision's vgg19-dcbb9e9d.pth (absent: GANTRY_VGG_WEIGHTS; neither: the run trains without the VGG term). */
    vggWeights: z.string().optional(),
    lambdaVgg: z.number().min(0).default(10),
    /**
     * Instance features: the encoder E's channels per pixel added to G's input (0: no encoder, the official
     * default; 3 with --instance_feat). E pools them per instance (per label region without instance maps).
     */
    featNum: z.number().int().min(0).default(0),
    /**
     * E pools its features per label region even where the data has instance maps, so every object of a
     * class shares one style (the official --label_feat); the boundary map still comes from the instances.
     */
    labelFeat: z.boolean().default(false),
    /**
     * G reads the data's precomputed feature maps (pairs:DIR's train_feat/: 8-bit RGB, as `gantry features
     * --maps-out` or NVIDIA's precompute_feature_maps.py write them) rather than an encoder's, and the run
     * has no encoder (the official --load_features; featNum 3). Its styles are learned from those maps.
     */
    loadFeatures: z.boolean().default(false),
    /** E's first-layer filters and its down-samplings (official nef 16, n_downsample_E 4). */
    nef: z.number().int().positive().default(16),
    nDownE: z.number().int().min(1).default(4),
    lr: z.number().positive().default(2e-4),
    beta1: z.number().min(0).max(1).default(0.5),
    beta2: z.number().min(0).max(1).default(0.999),
  })
  .strict();

export type Pix2PixHDConfig = z.infer<typeof pix2pixhdSchema>;

/** The image size of a label-map model's config: width 0 means square. */
export function imageSize(config: { height: number; width: number }): { height: number; width: number } {
  return { height: config.height, width: config.width || config.height };
}

export function describePix2PixHD(config: Pix2PixHDConfig): ModelInfo {
  return {
    family: 'pix2pixhd', ...imageSize(config), channels: 3, latentDim: 0,
    conditioning: {
      kind: 'labelMap', labelCount: config.labelNc, instances: config.instances ?? false, labelNames: config.labelNames, featNum: config.featNum, labelFeat: config.labelFeat,
      ...(config.loadFeatures ? { loadFeatures: true } : {}), ...(config.pictures ? { pictures: true } : {}),
    },
    holdout: 0,
  };
}

export class Pix2PixHD implements FamilyInstance {
  readonly G: GlobalGenerator | LocalEnhancer;
  /** The instance feature encoder, with featNum > 0 (but for loadFeatures). */
  readonly E: FeatureEncoder | null;
  readonly D: MultiscaleDiscriminator;
  readonly networks: Record<string, ParamSet>;
  readonly optimizers: Record<string, Adam>;
  readonly info: ModelInfo;
  readonly inputChannels: number;
  /**
   * The fixed VGG19 of the perceptual loss (not a network of the run: checkpoints do not store it), read at
   * the first train step: a model built to draw images (translate, an exported page) reads no VGG file.
   */
  private vgg: Vgg19Features | null | undefined;

  /** options.vgg: a VGG19 to use instead of loading config.vggWeights (the benchmark's, with random weights); the model owns it. */
  constructor(readonly config: Pix2PixHDConfig, seed: number, options: { vgg?: Vgg19Features } = {}) {
    this.info = describePix2PixHD(config);
    this.vgg = options.vgg;
    // G reads one-hot labels (or a picture's three channels), the boundary map and the instance features; D the
    // labels and the boundaries.
    this.inputChannels = (config.pictures ? PICTURE_CHANNELS : config.labelNc) + (config.instances ? 1 : 0);
    const G = new ParamSet();
    const D = new ParamSet();
    const shape = { inputChannels: this.inputChannels + config.featNum, outputChannels: 3, ngf: config.ngf, nDown: config.nDown, nBlocks: config.nBlocks };
    const adam = { lr: config.lr, beta1: config.beta1, beta2: config.beta2 };
    // Networks are built before their optimizers: an Adam holds the variables that exist when it is made.
    this.D = new MultiscaleDiscriminator(D, { inputChannels: this.inputChannels + 3, ndf: config.ndf, nLayers: config.nLayers, numD: config.numD }, new Rng(seed, 'init', 'D'));
    if (config.netG === 'local') {
      // G holds G1 (`model.*`, what a global run's G loads into), G2 the enhancer.
      const G2 = new ParamSet();
      this.G = new LocalEnhancer(G, G2, { ...shape, nBlocksLocal: config.nBlocksLocal }, new Rng(seed, 'init', 'G'));
      this.networks = { G, G2, D };
      this.optimizers = { G: new Adam(G.trainable(), adam), G2: new Adam(G2.trainable(), adam), D: new Adam(D.trainable(), adam) };
    } else {
      this.G = new GlobalGenerator(G, 'model', shape, new Rng(seed, 'init', 'G'));
      this.networks = { G, D };
      this.optimizers = { G: new Adam(G.trainable(), adam), D: new Adam(D.trainable(), adam) };
    }
    if (config.featNum > 0 && !config.loadFeatures) {
      const E = new ParamSet();
      this.E = new FeatureEncoder(E, { inputChannels: 3, featNum: config.featNum, nef: config.nef, nDown: config.nDownE }, new Rng(seed, 'init', 'E'));
      this.networks.E = E;
      this.optimizers.E = new Adam(E.trainable(), adam);
    } else {
      this.E = null;
    }
  }

  /**
   * The networks G's step trains at a step: all of G, or with a local enhancer G2 alone for the first
   * fixGlobalSteps steps. At the switch G2's Adam starts again, so G1 and G2 step as one fresh Adam over
   * all of G, as the official update_fixed_params builds it.
   */
  private generatorSide(step: number): Player[] {
    const player = (net: string): Player => ({ params: this.networks[net], optimizer: this.optimizers[net] });
    // E trains with G throughout, as the official optimizer_G holds E's parameters too.
    const encoder = this.E ? [player('E')] : [];
    if (this.config.netG !== 'local') return [player('G'), ...encoder];
    const fixed = this.config.fixGlobalSteps;
    if (step < fixed) return [player('G2'), ...encoder];
    if (step === fixed && fixed > 0) {
      this.optimizers.G2.reset();
      this.optimizers.E?.reset();
    }
    return [player('G'), player('G2'), ...encoder];
  }

  /**
   * The one place a condition becomes the networks' input (the official `encode_input`): label ids
   * [n, H, W] one-hot, then the instance boundary map when the model takes one; or, for pictures as
   * inputs, each picture's packed levels as its three channels in [-1, 1].
   */
  labelInput(labels: tf.Tensor3D, instances: tf.Tensor3D | null | undefined): tf.Tensor4D {
    if (this.config.pictures) return pictureInput(labels);
    if (this.config.instances && !instances) throw new GantryError('this pix2pixhd model was trained with instance maps; give the instance map of each label map');
    return labelMapInput(labels, this.config.instances ? instances : null, this.config.labelNc);
  }

  /** D's outputs for label input and images, every block at every scale. */
  private judge(input: tf.Tensor4D, images: tf.Tensor4D): tf.Tensor4D[][] {
    return this.D.apply(tf.concat([input, images], 3) as tf.Tensor4D);
  }

  trainStep(batch: Batch, ctx: StepContext): Record<string, tf.Scalar> {
    if (!batch.labelMaps) throw new GantryError('pix2pixhd trains on label maps or input pictures; train it on pairs:DIR or shapes data');
    const [n, h, w] = batch.images.shape;
    // Host inputs: a replayed WebGPU step reads the next batch's maps.
    const labels = hostInput(batch, (b) => b.labelMaps!, [n, h, w], 'int32') as tf.Tensor3D;
    const instances = batch.instanceMaps ? hostInput(batch, (b) => b.instanceMaps!, [n, h, w], 'int32') as tf.Tensor3D : null;
    const input = this.labelInput(labels, instances);
    const regions = featuresByLabel(this.info) ? labels : instances!;
    let features: (() => tf.Tensor4D) | undefined;
    if (this.config.loadFeatures) {
      if (!batch.featureMaps) throw new GantryError(`this pix2pixhd model reads precomputed feature maps (model.loadFeatures); train it on pairs:DIR with them (${FEATURE_MAP_FOLDERS})`);
      features = () => hostInput(batch, (b) => featureValues(b.featureMaps!), [n, h, w, FEATURE_MAP_CHANNELS]) as tf.Tensor4D;
    } else if (this.E) {
      features = () => this.E!.apply(batch.images, regions);
    }
    const losses = this.stepOn(input, batch.images, ctx.updateG ?? true, ctx.step, features);
    tf.dispose([labels, instances ?? [], input]);
    return losses;
  }

  /** Steps before, at and after the fixed-global switch train different networks (the switch resets Adam). */
  stepKey(ctx: StepContext): string | null {
    const key = updateKey(ctx);
    const fixed = this.config.netG === 'local' ? this.config.fixGlobalSteps : 0;
    if (fixed === 0) return key;
    if (ctx.step === fixed) return null;
    return `${key}, ${ctx.step < fixed ? 'G2 alone' : 'all of G'}`;
  }

  encodeFeatures(images: tf.Tensor4D, instances: tf.Tensor3D): tf.Tensor4D {
    if (!this.E) {
      if (this.config.loadFeatures) throw new GantryError('this pix2pixhd run was trained on precomputed feature maps (model.loadFeatures) and has no encoder to read a photo with; choose among its learned styles, or use the run the maps came from');
      throw new GantryError('this pix2pixhd run has no feature encoder (model.featNum 0)');
    }
    return tf.tidy(() => this.E!.apply(images, instances));
  }

  /** G's input: the label input, then the instance features where the model reads them. */
  private generatorInput(input: tf.Tensor4D, features: tf.Tensor4D | undefined): tf.Tensor4D {
    return features ? tf.concat([input, features], 3) as tf.Tensor4D : input;
  }

  /**
   * One step on label inputs [n, H, W, inputChannels] and their images [n, H, W, 3] in [-1, 1], in the
   * official code's order: D judges the real and the detached fake pairs, G learns through the same D
   * (LSGAN + feature matching on D's features of the real pairs, the ones D's loss computed), and D is
   * updated after: three passes of D a step. `step` picks the networks G trains (generatorSide).
   */
  stepOn(input: tf.Tensor4D, real: tf.Tensor4D, updateG = true, step = Number.MAX_SAFE_INTEGER, features?: () => tf.Tensor4D): Record<string, tf.Scalar> {
    const vgg = this.perceptualNetwork();
    let predReal: tf.Tensor4D[][] = [];
    try {
      return alternatingStep(this.generatorSide(step), { params: this.networks.D, optimizer: this.optimizers.D }, {
        updateG,
        simultaneous: true,
        // E's features of the real images, on G's tape: E learns through G's loss.
        fake: () => this.G.apply(this.generatorInput(input, features?.())),
        lossD: (fake) => {
          // Kept for G's feature matching, where they are constants (D's tape, not G's).
          predReal = this.judge(input, real).map((scale) => scale.map((t) => tf.keep(t)));
          return { lossD: tf.mul(tf.add(lsganLoss(this.judge(input, fake), false), lsganLoss(predReal, true)), 0.5) as tf.Scalar };
        },
        lossG: (fake) => {
          const predFake = this.judge(input, fake);
          const gan = lsganLoss(predFake, true);
          const feat = featureMatchingLoss(predFake, predReal, this.config.lambdaFeat);
          const loss = tf.add(gan, feat) as tf.Scalar;
          return vgg ? tf.add(loss, vggLoss((images) => vgg.apply(images), fake, real, this.config.lambdaVgg)) as tf.Scalar : loss;
        },
      });
    } finally {
      tf.dispose(predReal.flat());
    }
  }

  /** The perceptual loss's VGG19, read from config.vggWeights the first time a step needs it (null: no VGG term). */
  private perceptualNetwork(): Vgg19Features | null {
    if (this.vgg === undefined) this.vgg = this.config.vgg && this.config.vggWeights ? loadVgg19(this.config.vggWeights) : null;
    return this.vgg;
  }

  /** Images in [-1, 1] of label maps or input pictures (a labelMap condition); the latent vectors only give the count. */
  generate(z: tf.Tensor2D, condition: Condition): tf.Tensor4D {
    if (condition.kind !== 'labelMap') throw new GantryError(`a pix2pixhd model turns label maps into images; it is conditioned on ${describeKind('labelMap')}, not ${describeKind(condition.kind)}`);
    const [n, h, w] = condition.labels.shape;
    const { height, width } = this.info;
    const what = this.config.pictures ? 'input pictures' : 'label maps';
    if (n !== z.shape[0] || h !== height || w !== width) throw new GantryError(`${what} must be [${z.shape[0]}, ${height}, ${width}], got [${condition.labels.shape.join(', ')}]`);
    const readsFeatures = this.config.featNum > 0;
    if (readsFeatures && !condition.features) throw new GantryError('this pix2pixhd run reads instance features; give them (translate draws them from the run\'s learned styles)');
    if (condition.features && condition.features.shape[3] !== this.config.featNum) throw new GantryError(`instance features must have ${this.config.featNum} channels, got ${condition.features.shape[3]}`);
    return tf.tidy(() => this.G.apply(this.generatorInput(this.labelInput(condition.labels, condition.instances), readsFeatures ? condition.features : undefined)));
  }

  dispose(): void {
    this.vgg?.dispose();
    disposeModel(this);
  }
}

/**
 * The label count and names of a label-map model: model.labelNc (0: the data's largest id + 1) and the
 * data's names; a label in the data at or above the count is one error naming the file and the fix.
 */
export function resolveLabels(config: { labelNc: number; labelNames: string[] }, maps: NonNullable<DataShape['labelMaps']>): { labelNc: number; labelNames: string[] } {
  const labelNc = config.labelNc || maps.maxLabel + 1;
  if (maps.maxLabel >= labelNc) {
    throw new GantryError(`${maps.maxLabelAt} has label ${maps.maxLabel}, but model.labelNc is ${labelNc} (labels 0..${labelNc - 1}); set model.labelNc to ${maps.maxLabel + 1} or more (0 takes it from the data), or fix the map`);
  }
  return { labelNc, labelNames: config.labelNames.length ? config.labelNames : maps.labelNames.slice(0, labelNc) };
}

/** Channels of an input picture (the official --input_nc, with --label_nc 0). */
const PICTURE_CHANNELS = 3;

/**
 * What a run on pictures as inputs resolves to: no label ids, names, instance maps or instance features (the
 * official code pools its features per instance of a label map); a setting that asks for one is one error.
 */
function resolvePictures(config: Pix2PixHDConfig): Partial<Pix2PixHDConfig> {
  const why = 'the data\'s inputs are pictures (train_A/)';
  if (config.labelNc) throw new GantryError(`pix2pixhd: model.labelNc is ${config.labelNc}, but ${why}, read as their three channels; leave labelNc out (0)`);
  if (config.featNum) throw new GantryError(`pix2pixhd: model.featNum ${config.featNum} asks for instance features, pooled over a label map's objects, but ${why}; leave featNum out (0)`);
  if (config.instances) throw new GantryError(`pix2pixhd: model.instances is true, but ${why}, which take no instance maps; leave model.instances out`);
  if (config.labelNames.length) throw new GantryError(`pix2pixhd: model.labelNames names label ids, but ${why}; leave labelNames out`);
  if (config.labelFeat) throw new GantryError(`pix2pixhd: model.labelFeat pools instance features per label, but ${why}; leave labelFeat out`);
  return { pictures: true, labelNc: 0, instances: false };
}

export const pix2pixhdFamily: Family<Pix2PixHDConfig> = {
  name: 'pix2pixhd',
  description: 'pix2pixHD: label maps (or pictures) to images; global generator, multi-scale D, LSGAN + feature matching (needs pairs:DIR or shapes)',
  schema: pix2pixhdSchema,
  resumable: ['lr', 'beta1', 'beta2', 'vggWeights'],
  resolve(config, data: DataShape) {
    const maps = data.labelMaps;
    if (!maps) throw new GantryError('pix2pixhd turns label maps into images; train it on label-map data: pairs:DIR (pix2pixHD or Cityscapes layout) or shapes');
    const { height, width } = imageSize(config);
    // G1 halves the size nDown times (once more behind a local enhancer) and doubles it back.
    const halvings = config.nDown + (config.netG === 'local' ? 1 : 0);
    const unit = 2 ** Math.max(halvings, config.featNum > 0 ? config.nDownE : 0);
    if (height % unit || width % unit) throw new GantryError(`pix2pixhd: model.height ${height} and model.width ${width} must be multiples of ${unit} (G halves the size ${halvings} times${config.featNum > 0 ? `, E ${config.nDownE}` : ''}); e.g. ${Math.max(unit, Math.round(height / unit) * unit)}`);
    if (data.height !== height || data.width !== width) throw new GantryError(`pix2pixhd: data is ${data.height}x${data.width} but the model is ${height}x${width}; the data loader resizes to the model's size, so this is a bug`);
    if (config.pictures === false && maps.pictures) throw new GantryError('pix2pixhd: model.pictures is false, but the data\'s inputs are pictures (train_A/ + train_B/); train on label maps (train_label/ + train_img/) or leave model.pictures out');
    if (config.pictures && !maps.pictures) throw new GantryError('pix2pixhd: model.pictures is true, but the data has label maps; give pairs:DIR with train_A/ (the input pictures) + train_B/, or leave model.pictures out');
    const vggWeights = config.vgg ? vggWeightsPath(config.vggWeights) : undefined;
    const vgg = { vgg: Boolean(vggWeights), vggWeights };
    if (maps.pictures) return { ...config, width, ...resolvePictures(config), ...vgg };
    const { labelNc, labelNames } = resolveLabels(config, maps);
    if (config.labelFeat && config.featNum === 0) throw new GantryError('pix2pixhd: model.labelFeat pools the feature encoder\'s features per label, but model.featNum is 0 (no encoder); set model.featNum (3 in the paper) or leave labelFeat out');
    if (config.loadFeatures) {
      if (config.featNum !== FEATURE_MAP_CHANNELS) throw new GantryError(`pix2pixhd: model.loadFeatures reads precomputed feature maps, ${FEATURE_MAP_CHANNELS} levels a pixel (RGB images), but model.featNum is ${config.featNum}; set model.featNum to ${FEATURE_MAP_CHANNELS}`);
      if (!maps.features) throw new GantryError(`pix2pixhd: model.loadFeatures reads precomputed feature maps, but the data has none; give pairs:DIR a train_feat/ folder of them (gantry features --run RUN --maps-out DIR/train_feat writes them from a run with featNum 3, as NVIDIA's precompute_feature_maps.py does; DIR/featureMaps/train in the Cityscapes layout) or leave loadFeatures out`);
    }
    if (config.instances && !maps.instances) throw new GantryError('pix2pixhd: model.instances is true but the data has no instance maps; add them (train_inst/, *_gtFine_instanceIds.png) or leave model.instances out');
    return { ...config, width, labelNc, instances: config.instances ?? maps.instances, labelNames, ...vgg };
  },
  notices(config, data, requested) {
    const lines: string[] = [];
    if (data.labelMaps?.missingInstances && !config.instances) lines.push(`the data has no instance maps (${data.labelMaps.missingInstances}): training without the instance boundary channel`);
    if (requested.vgg && !config.vgg) lines.push(`no VGG19 perceptual loss: it needs ${VGG_WEIGHTS_HELP}, given with ${given('vggWeights')} or ${VGG_WEIGHTS_ENV} (nothing is downloaded)`);
    return lines;
  },
  describe: describePix2PixHD,
  create: (config, seed) => new Pix2PixHD(config, seed),
};

/** NVIDIA's label count for Cityscapes (its --label_nc 35 over the labelIds 0 .. 33 of the release). */
const CITYSCAPES_LABEL_NC = 35;

/** A state dict's names without DataParallel's `module.` (NVIDIA's checkpoints saved from several GPUs). */
const unwrapped = (state: Map<string, TorchTensor>) => new Map([...state].map(([k, v]) => [k.replace(/^module\./, ''), v]));

/**
 * A generator of NVIDIA's pix2pixHD code from its state dict (latest_net_G.pth: `model.*` for G1, plus
 * `model1_1.*` / `model1_2.*` for a local enhancer), its sizes read from the tensors' shapes. The label
 * count is not in the file (the official --label_nc); an input channel beyond it is the instance edge map,
 * and beyond that `featNum` instance feature channels (--instance_feat, or --label_feat: `labelFeat`; the
 * count is the width of its clustered features, or the outputs of its encoder). `encoder`, its latest_net_E.pth, is the feature
 * encoder. At label count 35, the official code's Cityscapes setting, the labels get
 * Cityscapes' names (and so its colours where maps are shown or painted). At label count 0 (the official
 * --label_nc 0) it is a generator of pictures, reading three channels.
 */
export function pix2pixhdFromTorch(state: Map<string, TorchTensor>, file: string, o: { labelNc: number; mapHeight: number; mapWidth: number; width?: number; featNum?: number; encoder?: { state: Map<string, TorchTensor>; file: string }; labelFeat?: boolean }): Pix2PixHD {
  const named = unwrapped(state);
  const local = named.has('model1_1.1.weight');
  const first = named.get('model.1.weight');
  if (!first || first.shape.length !== 4) {
    const found = first ? `its model.1.weight is [${first.shape.join(', ')}], not a convolution's 4-d filter` : 'no model.1.weight';
    throw new GantryError(`${file} is not a pix2pixHD generator (${found}); give NVIDIA's latest_net_G.pth (or a gantry run with --run)`);
  }
  const blocks = (prefix: string) => new Set([...named.keys()].map((k) => k.match(new RegExp(`^${prefix}\\.(\\d+)\\.conv_block\\.`))?.[1]).filter((k) => k !== undefined).map(Number));
  const globalBlocks = [...blocks('model')];
  if (globalBlocks.length === 0) throw new GantryError(`${file}: no residual blocks (model.K.conv_block.*) found; it is not a pix2pixHD generator`);
  const nDown = (Math.min(...globalBlocks) - 4) / 3;
  const inputChannels = first.shape[1];
  // E's sizes come from its tensors: nef from its first convolution, its down-samplings from the index
  // of its last (model.(5 + 6 nDown)), the feature count from that one's outputs.
  const encoder = o.encoder && { ...o.encoder, named: unwrapped(o.encoder.state) };
  let [nef, nDownE, featE] = [16, 4, 0];
  if (encoder) {
    const firstE = encoder.named.get('model.1.weight');
    const convs = [...encoder.named.keys()].map((k) => /^model\.(\d+)\.weight$/.exec(k)?.[1]).filter((k) => k !== undefined).map(Number);
    if (!firstE || firstE.shape[1] !== 3 || convs.length < 4) throw new GantryError(`${encoder.file} is not pix2pixHD's feature encoder (no model.1.weight reading 3 channels); give NVIDIA's latest_net_E.pth`);
    nef = firstE.shape[0];
    nDownE = (Math.max(...convs) - 5) / 6;
    if (!Number.isInteger(nDownE) || nDownE < 1) throw new GantryError(`${encoder.file}: its layers (the last convolution model.${Math.max(...convs)}) are not those of pix2pixHD's feature encoder; give NVIDIA's latest_net_E.pth`);
    featE = encoder.named.get(`model.${5 + 6 * nDownE}.weight`)!.shape[0];
    if (o.featNum !== undefined && featE !== o.featNum) throw new GantryError(`${encoder.file} encodes ${featE} features, but the clustered features have ${o.featNum}; give the encoder trained with this generator`);
  }
  const featNum = o.featNum ?? featE;
  // --label_nc 0: G reads a picture's three channels (the official --input_nc 3) in place of one-hot labels.
  const pictures = o.labelNc === 0;
  if (pictures && (featNum > 0 || encoder)) throw new GantryError(`--label-nc 0 reads ${file} as a generator of pictures, which takes no instance features; leave --features and --encoder out, or give the --label-nc it was trained with`);
  if (pictures && inputChannels !== PICTURE_CHANNELS) {
    const why = inputChannels === PICTURE_CHANNELS + 1 ? ' (one trained on pictures with instance maps as well is not read here)' : '';
    throw new GantryError(`${file} reads ${inputChannels} input channels, but a generator of pictures (--label-nc 0) reads ${PICTURE_CHANNELS}${why}; give the --label-nc it was trained with (Cityscapes: 35)`);
  }
  if (o.labelFeat && featNum === 0) throw new GantryError(`--label-feat: ${file} is drawn without instance features here; --label-feat goes with a generator trained with --label_feat, given its clustered features (--features) or its encoder (--encoder)`);
  const extra = pictures ? 0 : inputChannels - o.labelNc - featNum;
  if (extra < 0 || extra > 1) {
    const features = featNum ? ` and ${featNum} feature channels` : '';
    const fix = featNum
      ? 'Give the --label-nc it was trained with (Cityscapes: 35), and its own clustered features or encoder (or neither, for a generator trained without instance features)'
      : extra < 0
        ? 'Give the --label-nc it was trained with (Cityscapes: 35)'
        : 'A generator trained with instance features (--instance_feat) reads them too: give its clustered features, --features features_clustered_010.npy (encode_features.py writes it into the checkpoint folder); else the --label-nc it was trained with (Cityscapes: 35)';
    throw new GantryError(`${file} reads ${inputChannels} input channels; with --label-nc ${o.labelNc}${features} that leaves ${extra} for the instance edge map, which takes 0 or 1. ${fix}`);
  }
  const ngfGlobal = first.shape[0];
  // The official test-time size: scaled to --width (scale_width), both sides rounded to a multiple of
  // what the generator halves (its __make_power_2).
  const unit = 2 ** Math.max(nDown + (local ? 1 : 0), encoder ? nDownE : 0);
  const scaled = o.width ?? o.mapWidth;
  const round = (v: number) => Math.max(unit, Math.round(v / unit) * unit);
  const [height, width] = [round((o.mapHeight * scaled) / o.mapWidth), round(scaled)];
  const config = pix2pixhdSchema.parse({
    height, width, labelNc: o.labelNc, labelNames: o.labelNc === CITYSCAPES_LABEL_NC ? CITYSCAPES_LABELS.map(([name]) => name) : [], ...(pictures ? { pictures } : {}),
    instances: extra === 1, netG: local ? 'local' : 'global',
    ngf: local ? ngfGlobal / 2 : ngfGlobal, nDown, nBlocks: globalBlocks.length, nBlocksLocal: local ? blocks('model1_2').size : 3, vgg: false,
    featNum, nef, nDownE, labelFeat: o.labelFeat ?? false,
  });
  // G's weights all come from the file (loadTorchWeights sets each one or fails), E's from its own where
  // given (without it E is not used: styles come from the clustered features); D is not used to draw.
  return builtFromFile(() => new Pix2PixHD(config, 0), (model) => {
    for (const net of local ? ['G', 'G2'] : ['G']) loadTorchWeights(model.networks[net], named, file);
    if (encoder) loadTorchWeights(model.networks.E, encoder.named, encoder.file);
  });
}
