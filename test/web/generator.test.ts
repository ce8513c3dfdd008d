import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setup, tempDir, tf } from '../helpers.ts';
import { train } from '../../src/train/trainer.ts';
import { validateRunConfig } from '../../src/train/run-config.ts';
import { openRun, type OpenedRun } from '../../src/train/run.ts';
import { latentForSeed } from '../../src/explore/latent.ts';
import { conditionPath, encodeCaptions, gridConditions, type ConditionRows, type LabelMaps } from '../../src/explore/conditions.ts';
import { drawImages } from '../../src/explore/render.ts';
import { toUint8Images } from '../../src/explore/grid.ts';
import { fitImage } from '../../src/data/transform.ts';
import { encodedStyles, featureRegions, randomStyles, styleFeatures } from '../../src/explore/instance-styles.ts';
import { readStyles } from '../../src/explore/run-styles.ts';
import { exportRun, generatorFiles, pretrainedFiles } from '../../src/export/export-run.ts';
import { readStateDict } from '../../src/io/torch.ts';
import { pix2pixhdFromTorch } from '../../src/models/pix2pixhd.ts';
import { labelPalette } from '../../src/explore/label-colours.ts';
import { levelsOff, readPix2PixHDGolden, writePix2PixHDGoldenMaps } from '../golden/pix2pixhd-maps.ts';
import { pairsWithFeatureMaps } from '../fixtures/pairs-with-features.ts';
import { encodeSafetensors, decodeSafetensors } from '../../src/io/safetensors.ts';
import { buildGenerator, MAX_IMAGES, type WebGenerator } from '../../src/web/generator.ts';
import { EXAMPLE_LABELS, MODEL_FILE, WEIGHTS_FILE } from '../../src/web/model-file.ts';

await setup();

const goldenDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'golden');

const trainSmall = async (family: string, data: string, model: Record<string, unknown>, steps = 2) => {
  const dir = join(tempDir(), family);
  await train({ outDir: dir, quiet: true, config: validateRunConfig({ family, seed: 1, data, model, train: { steps, batch: 4, samples: 4, logEvery: 1 } }, 'test') });
  return dir;
};

/** The generator a run exports, built from the files' contents as a page would (JSON round trip included). */
async function exported(run: OpenedRun, dir: string): Promise<WebGenerator> {
  const { model, weights } = await generatorFiles(run, dir);
  return buildGenerator(JSON.parse(JSON.stringify(model)), weights);
}

/** What the CLI draws for these vectors and conditions (sample, interpolate, translate all draw this way). */
async function cliPixels(run: OpenedRun, vectors: Float32Array[], conditions: ConditionRows): Promise<Uint8Array> {
  const { height, width, channels } = run.info;
  const per = height * width * channels;
  const out = new Uint8Array(vectors.length * per);
  await drawImages(run, vectors, conditions, (pixels, first) => out.set(pixels, first * per));
  return out;
}

test('an exported dcgan draws exactly what gantry sample draws for the same seeds (and truncation); only G is exported; tensors stay flat', async () => {
  const dir = await trainSmall('dcgan', 'shapes:40', { ngf: 4, ndf: 4, nz: 6 });
  const run = openRun(dir);
  const { model: file } = await generatorFiles(run, dir);
  assert.deepEqual(file.networks, ['G']);
  assert.equal(file.step, 2);
  const g = await exported(run, dir);
  const seeds = [12, 13, 40];
  const images = await g.generate({ seeds });
  assert.deepEqual([images.n, images.height, images.width, images.channels], [3, 32, 32, 3]);
  const vectors = seeds.map((s) => latentForSeed(s, 6));
  assert.deepEqual(images.pixels, await cliPixels(run, vectors, await gridConditions(run, 3)));
  const truncated = await g.generate({ seeds: [12], truncation: 0.5 });
  assert.deepEqual(truncated.pixels, await cliPixels(run, [latentForSeed(12, 6, 0.5)], { kind: 'none' }));
  const edited = Array.from(vectors[0]);
  edited[2] = 2.5;
  assert.notDeepEqual((await g.generate({ latents: [edited] })).pixels, images.pixels.subarray(0, 32 * 32 * 3), 'a slider edit changes the image');
  const before = tf.memory().numTensors;
  for (let i = 0; i < 3; i++) await g.generate({ seeds: [i, i + 1] });
  assert.equal(tf.memory().numTensors, before, 'generate leaves no tensors behind');
  // One clear line for each bad request.
  await assert.rejects(g.generate({}), /give the seeds \(or latent vectors\) of the images to draw/);
  await assert.rejects(g.generate({ seeds: [1], latents: [edited] }), /give seeds or latents, not both/);
  await assert.rejects(g.generate({ latents: [edited], truncation: 0.5 }), /^GantryError: truncation applies to seeds' vectors; latents are drawn as given, so leave truncation out$/);
  await assert.rejects(g.generate({ seeds: [1], clas: 3 } as never), /^GantryError: generate\(\): unknown option "clas" \(did you mean "class"\?\); known: seeds, latents, truncation, class, /);
  await assert.rejects(g.generate({ seeds: [-1] }), /a seed is a whole number >= 0, got -1/);
  await assert.rejects(g.generate({ latents: [[1, 2]] }), /latents\[0\] has 2 numbers; this generator's latent vectors have 6/);
  await assert.rejects(g.generate({ seeds: [1], truncation: 0 }), /truncation must be above 0/);
  await assert.rejects(g.generate({ seeds: [1], class: 2 }), /this dcgan run is not class-conditional/);
  await assert.rejects(g.generate({ seeds: Array.from({ length: MAX_IMAGES + 1 }, (_, i) => i) }), new RegExp(`ask for at most ${MAX_IMAGES}`));
  g.dispose();
  run.model.dispose();
});

test('an exported cgan: classes by index and name, class i % K by default as a sample grid, class weights', async () => {
  const dir = await trainSmall('cgan', 'shapes:40', { ngf: 4, ndf: 4, nz: 6, embedDim: 4 });
  const run = openRun(dir);
  const g = await exported(run, dir);
  assert.deepEqual(g.classes, ['circle', 'square', 'triangle', 'diamond']);
  const vectors = [5, 6, 7, 8].map((s) => latentForSeed(s, 6));
  assert.deepEqual((await g.generate({ seeds: [5, 6, 7, 8] })).pixels, await cliPixels(run, vectors, await gridConditions(run, 4)));
  const squares = await cliPixels(run, vectors, await gridConditions(run, 4, { class: 'square' }));
  assert.deepEqual((await g.generate({ seeds: [5, 6, 7, 8], class: 'square' })).pixels, squares);
  assert.deepEqual((await g.generate({ seeds: [5, 6, 7, 8], class: 1 })).pixels, squares);
  assert.deepEqual((await g.generate({ seeds: [5, 6, 7, 8], classWeights: vectors.map(() => [0, 1, 0, 0]) })).pixels, squares);
  await assert.rejects(g.generate({ seeds: [5], class: 'hexagon' }), /hexagon/);
  await assert.rejects(g.generate({ seeds: [5], classWeights: [[1, 0]] }), /class weights must be \[1, 4\]; conditions\[0\] has 2 numbers/);
  g.dispose();
  run.model.dispose();
});

test('an exported gan-cls: the caption encoder travels with G; captions, sample captions and the caption path as the CLI draws them', async () => {
  const dir = await trainSmall('gan-cls', 'shapes:40', { ngf: 4, ndf: 4, nz: 6, projectionDim: 4, embedDim: 8, wordDim: 4, textHidden: 8, textSteps: 1 });
  const run = openRun(dir);
  const { model: file } = await generatorFiles(run, dir);
  assert.deepEqual(file.networks.sort(), ['G', 'S', 'T'], 'G, the style encoder and the caption encoder; not D');
  const g = await exported(run, dir);
  const vectors = [1, 2].map((s) => latentForSeed(s, 6));
  assert.deepEqual((await g.generate({ seeds: [1, 2] })).pixels, await cliPixels(run, vectors, await gridConditions(run, 2)));
  const caption = 'a red circle on a blue background';
  assert.deepEqual((await g.generate({ seeds: [1, 2], text: caption })).pixels, await cliPixels(run, vectors, await gridConditions(run, 2, { text: [caption] })));
  const ends = ['a red circle', 'a green square'];
  const path = conditionPath(await encodeCaptions(run, ends), 4);
  const z = [1, 1, 1, 1].map((s) => latentForSeed(s, 6));
  assert.deepEqual((await g.generate({ latents: z, textBetween: [ends[0], ends[1]] })).pixels, await cliPixels(run, z, path));
  assert.deepEqual(g.unknownWords('a red zebra'), ['zebra']);
  await assert.rejects(g.generate({ seeds: [1, 2], text: ['a red circle'] }), /2 images but 1 captions/);
  g.dispose();
  run.model.dispose();
});

test('an exported pix2pixhd with instance features: painted maps drawn with the learned styles as translate draws them; styles chosen per object; example maps', async () => {
  const dir = await trainSmall('pix2pixhd', 'shapes:24', { height: 32, width: 32, ngf: 4, nDown: 2, nBlocks: 1, ndf: 4, nLayers: 2, numD: 1, featNum: 3, nef: 4, nDownE: 2, vgg: false });
  const run = openRun(dir);
  const { model: file, weights } = await generatorFiles(run, dir);
  assert.deepEqual(file.networks.sort(), ['E', 'G']);
  assert.deepEqual(file.styles, readStyles(dir));
  const g = buildGenerator(JSON.parse(JSON.stringify(file)), weights);
  assert.ok(g.examples.length > 0 && g.examples.length <= 8, 'example maps travel with the weights');
  const map = g.examples[0];
  const maps: LabelMaps = { n: 1, height: 32, width: 32, labels: Int32Array.from(map.labels), instances: Int32Array.from(map.instances!) };
  const expected = await cliPixels(run, [new Float32Array(0)], { kind: 'labelMap', maps: styleFeatures(maps, readStyles(dir), randomStyles(7), false) });
  const drawn = await g.generate({ labelMaps: [map], styles: { seed: 7 } });
  assert.deepEqual(drawn.pixels, expected);
  // A click on an object fixes its style: only that object's pixels (and what G's receptive field mixes in) change.
  const p = Array.from(map.labels).findIndex((l) => l > 0);
  const object = g.objectAt(map, p % 32, Math.floor(p / 32));
  assert.ok(object.label > 0 && g.styleCount(object.label) > 0);
  const choices = await Promise.all(Array.from({ length: g.styleCount(object.label) }, (_, k) => g.generate({ labelMaps: [map], styles: { seed: 7, choose: { [object.id]: k } } })));
  assert.ok(new Set(choices.map((c) => Buffer.from(c.pixels).toString('base64'))).size > 1, 'the object\'s styles draw differently');
  // A photo's styles (any size: fitted as training images are): what translate --style-from draws; an
  // object chosen by a click keeps its learned style, the others the photo's.
  assert.ok(g.encodesPhotos);
  const photo = { width: 48, height: 40, channels: 3, data: Uint8Array.from({ length: 48 * 40 * 3 }, (_, i) => (i * 37 + (i >> 7)) % 256) };
  const fitted = fitImage(photo, { height: 32, width: 32, channels: 3 });
  const photoTensor = tf.tensor4d(Float32Array.from(fitted.data, (v) => v / 127.5 - 1), [1, 32, 32, 3]);
  const fromPhoto = await encodedStyles(run, maps, photoTensor);
  photoTensor.dispose();
  const inPhotoStyles = await g.generate({ labelMaps: [map], styles: { photo } });
  assert.deepEqual(inPhotoStyles.pixels, await cliPixels(run, [new Float32Array(0)], { kind: 'labelMap', maps: fromPhoto }));
  assert.notDeepEqual(inPhotoStyles.pixels, drawn.pixels);
  await assert.rejects(g.generate({ labelMaps: [map], styles: { photo: { ...photo, data: photo.data.subarray(5) } } }), /^GantryError: styles\.photo: 48 x 40 x 3 is 5760 values, but data has 5755$/);
  await assert.rejects(g.generate({ labelMaps: [map], styles: { photo: { ...photo, channels: 2 } } }), /styles\.photo: channels must be 1 \(grey\), 3 \(RGB\) or 4 \(RGBA\), got 2/);
  const learned = styleFeatures(maps, readStyles(dir), (image, cls, clusters, id) => (id === object.id ? 0 : randomStyles(7)(image, cls, clusters, id)), false);
  const regions = featureRegions(maps, false).ids;
  const mixed = fromPhoto.features!.map((v, k) => (regions[Math.floor(k / 3)] === object.id ? learned.features![k] : v));
  const chosenOnPhoto = await g.generate({ labelMaps: [map], styles: { photo, seed: 7, choose: { [object.id]: 0 } } });
  assert.deepEqual(chosenOnPhoto.pixels, await cliPixels(run, [new Float32Array(0)], { kind: 'labelMap', maps: { ...fromPhoto, features: mixed } }));
  // Painting: a different map draws a different image.
  const painted = { ...map, labels: Int32Array.from(map.labels).fill(1, 0, 32 * 8), instances: Int32Array.from(map.instances!).fill(1, 0, 32 * 8) };
  assert.notDeepEqual((await g.generate({ labelMaps: [painted], styles: { seed: 7 } })).pixels, drawn.pixels);
  await assert.rejects(g.generate({ labelMaps: [{ ...map, width: 16 }] }), /labelMaps\[0\] is 16x32; this generator draws 32x32/);
  await assert.rejects(g.generate({ labelMaps: [{ ...map, labels: Int32Array.from(map.labels).fill(9, 0, 1) }] }), /labelMaps\[0\] has label 9 at pixel 0,0; this generator knows labels 0\.\.4/);
  await assert.rejects(g.generate({ seeds: [1] }), /draws label maps; give labelMaps/);
  await assert.rejects(g.generate({ labelMaps: [map], seeds: [1] }), /^GantryError: this generator draws its images from label maps alone; leave seeds out$/);
  await assert.rejects(g.generate({ labelMaps: [map], styles: { photos: [photo] } as never }), /generate\(\) styles: unknown option "photos" \(did you mean "photo"\?\); known: seed, choose, photo/);
  assert.equal(decodeSafetensors(weights, 'w').tensors[EXAMPLE_LABELS].shape[1], 32);
  g.dispose();
  run.model.dispose();
});

test('an exported pix2pixhd trained on precomputed feature maps (loadFeatures): no encoder travels, the learned styles draw as translate draws them, a photo is refused', async () => {
  const dir = await trainSmall('pix2pixhd', `pairs:${pairsWithFeatureMaps(2)}`, { height: 32, width: 64, ngf: 4, nDown: 2, nBlocks: 1, ndf: 4, nLayers: 2, numD: 1, featNum: 3, loadFeatures: true, vgg: false });
  const run = openRun(dir);
  const { model: file, weights } = await generatorFiles(run, dir);
  assert.deepEqual(file.networks, ['G']);
  assert.deepEqual(file.styles, readStyles(dir));
  const g = buildGenerator(JSON.parse(JSON.stringify(file)), weights);
  assert.equal(g.encodesPhotos, false);
  const map = g.examples[0];
  const maps: LabelMaps = { n: 1, height: 32, width: 64, labels: Int32Array.from(map.labels), instances: Int32Array.from(map.instances!) };
  const drawn = await g.generate({ labelMaps: [map], styles: { seed: 7 } });
  assert.deepEqual(drawn.pixels, await cliPixels(run, [new Float32Array(0)], { kind: 'labelMap', maps: styleFeatures(maps, readStyles(dir), randomStyles(7), false) }));
  const photo = { width: 64, height: 32, channels: 3, data: new Uint8Array(64 * 32 * 3) };
  await assert.rejects(g.generate({ labelMaps: [map], styles: { photo } }), /styles\.photo: this pix2pixhd generator has no feature encoder to read a photo with \(it was trained on precomputed feature maps, model\.loadFeatures\)/);
  g.dispose();
  run.model.dispose();
});

test('a generator of NVIDIA\'s code, exported (export --weights, global and local): the page\'s model draws PyTorch\'s images of the example maps; tensors stay flat', async () => {
  const g = readPix2PixHDGolden();
  const [n, h, w] = g.size;
  const maps = writePix2PixHDGoldenMaps(g, tempDir());
  const before = tf.memory().numTensors;
  for (const [file, want, networks] of [['pix2pixhd_G.pth', g.fake, ['G']], ['pix2pixhd_G_local.pth', g.fakeLocal, ['G', 'G2']]] as const) {
    const weightsFile = join(goldenDir, file);
    const { model, weights } = await pretrainedFiles({ source: { weights: weightsFile, labelNc: g.config.labelNc, sizeOf: maps.labelFiles[0] }, examples: { labels: maps.labelFiles, instances: maps.instanceFiles } });
    assert.deepEqual([model.networks, model.run, model.origin, model.step], [networks, file, 'NVIDIA\'s pix2pixHD code', 0]);
    const web = buildGenerator(JSON.parse(JSON.stringify(model)), weights);
    assert.equal(web.examples.length, n);
    const drawn = await web.generate({ labelMaps: web.examples });
    assert.equal(web.encodesPhotos, false);
    await assert.rejects(web.generate({ labelMaps: web.examples, styles: { photo: { width: 2, height: 2, channels: 3, data: new Uint8Array(12) } } }), /styles\.photo: this pix2pixhd generator has no feature encoder to read a photo with$/);
    for (let i = 0; i < n; i++) {
      const worst = levelsOff(drawn.pixels.subarray(i * h * w * 3), 3, want, i, h * w);
      assert.ok(worst <= 1, `${file} map ${i}: off by ${worst} levels from PyTorch's image`);
    }
    web.dispose();
  }
  assert.equal(tf.memory().numTensors, before);
});

test('a generator of NVIDIA\'s code with label count 35 (its Cityscapes setting) gets Cityscapes\' label names, and so its colours', () => {
  const state = readStateDict(join(goldenDir, 'pix2pixhd_G.pth'));
  const first = state.get('model.1.weight')!;
  // The golden G reads 6 labels and the edge map; the same network reading Cityscapes' 35 and the edge map.
  const [out, , kh, kw] = first.shape;
  state.set('model.1.weight', { shape: [out, 36, kh, kw], data: new Float32Array(out * 36 * kh * kw) });
  const model = pix2pixhdFromTorch(state, 'G', { labelNc: 35, mapHeight: 32, mapWidth: 64 });
  const c = model.info.conditioning;
  assert.ok(c.kind === 'labelMap' && c.labelCount === 35 && c.instances);
  assert.deepEqual([c.labelNames[7], c.labelNames[26], c.labelNames.length], ['road', 'car', 34]);
  assert.deepEqual(labelPalette(35, c.labelNames)[26], [0, 0, 142]);
  model.dispose();
  // Any other count has no names (the maps' ids are shown in the VOC colours).
  const plain = pix2pixhdFromTorch(readStateDict(join(goldenDir, 'pix2pixhd_G.pth')), 'G', { labelNc: 6, mapHeight: 32, mapWidth: 32 });
  assert.deepEqual((plain.info.conditioning as { labelNames: string[] }).labelNames, []);
  plain.dispose();
  // A file with that name's tensor but another network's: the message says what it found.
  state.set('model.1.weight', { shape: [3, 3], data: new Float32Array(9) });
  assert.throws(() => pix2pixhdFromTorch(state, 'other.pth', { labelNc: 35, mapHeight: 32, mapWidth: 64 }), /other\.pth is not a pix2pixHD generator \(its model\.1\.weight is \[3, 3\], not a convolution's 4-d filter\); give NVIDIA's latest_net_G\.pth/);
});

test('every other generating family exports and draws exactly what the CLI draws: acgan, dfgan, vae, vae-gan, unet-vae-gan (with its reference images)', async () => {
  const families: [string, Record<string, unknown>][] = [
    ['acgan', { ngf: 4, ndf: 4, nz: 6, embedDim: 4 }],
    ['dfgan', { ngf: 2, ndf: 2, nz: 8, embedDim: 16, wordDim: 8, textHidden: 16, textSteps: 1 }],
    ['vae', {}],
    ['vae-gan', {}],
    ['unet-vae-gan', { latent: 8, width: 8, ndf: 8 }],
  ];
  for (const [family, model] of families) {
    const dir = await trainSmall(family, 'shapes:40', model);
    const run = openRun(dir);
    const { model: file } = await generatorFiles(run, dir);
    assert.ok(!file.networks.includes('D'), `${family}: no critic exported`);
    const g = await exported(run, dir);
    const seeds = [3, 4, 5];
    const vectors = seeds.map((s) => latentForSeed(s, run.info.latentDim));
    assert.deepEqual((await g.generate({ seeds })).pixels, await cliPixels(run, vectors, await gridConditions(run, 3)), family);
    g.dispose();
    run.model.dispose();
  }
});

test('an exported vae and vae-gan encode an image: its latent vector, drawn, is the run\'s reconstruction of the image fitted as the CLI fits it', async () => {
  const image = { width: 20, height: 14, channels: 4, data: Uint8Array.from({ length: 20 * 14 * 4 }, (_, i) => (i * 37 + (i >> 4) * 11) % 256) };
  for (const family of ['vae', 'vae-gan']) {
    const dir = await trainSmall(family, 'shapes:40', {}, 4);
    const run = openRun(dir);
    const g = await exported(run, dir);
    assert.ok(g.infersStyle, family);
    const before = tf.memory().numTensors;
    const z = await g.styleLatent(image);
    assert.equal(z.length, run.info.latentDim);
    await assert.rejects(g.styleLatent({ ...image, width: 0 }), /styleLatent\(image\): width and height must be whole numbers above 0, got 0 x/);
    const drawn = await g.generate({ latents: [z] });
    assert.equal(tf.memory().numTensors, before, `${family}: no tensors left`);
    const { height, width, channels } = run.info;
    const fitted = fitImage(image, { height, width, channels });
    const recon = run.model.reconstruct!(tf.tensor4d(Float32Array.from(fitted.data, (v) => v / 127.5 - 1), [1, height, width, channels]));
    assert.deepEqual(drawn.pixels, await toUint8Images(recon), family);
    recon.dispose();
    g.dispose();
    run.model.dispose();
  }
  // U-Net's decoder also needs the image's skips, so its latent vector alone does not give the image back.
  const unet = await trainSmall('unet-vae-gan', 'shapes:40', { latent: 8, width: 8, ndf: 8 });
  const run = openRun(unet);
  const g = await exported(run, unet);
  assert.equal(g.infersStyle, false);
  await assert.rejects(g.styleLatent(image), /this unet-vae-gan generator has no image encoder; gan-cls \(its style encoder\), vae and vae-gan generators have one/);
  g.dispose();
  run.model.dispose();
});

test('a damaged export gets one line naming the file and the fix', async () => {
  const dir = await trainSmall('dcgan', 'shapes:40', { ngf: 4, ndf: 4, nz: 6 });
  const run = openRun(dir);
  const { model, weights } = await generatorFiles(run, dir);
  run.model.dispose();
  assert.throws(() => buildGenerator({ family: 'dcgan' }, weights), /model\.json is not a gantry generator \(no "format": "gantry-generator"\); make one with `gantry export/);
  assert.throws(() => buildGenerator({ ...model, version: 99 }, weights), /format version 99, newer than this gantry reads \(1\); update gantry/);
  assert.throws(() => buildGenerator({ ...model, seed: 'x' }, weights), /model\.json: seed: .*export the run again/);
  assert.throws(() => buildGenerator(model, weights.subarray(0, weights.length - 100)), /weights\.safetensors is truncated or corrupt/);
  const { tensors } = decodeSafetensors(weights, 'w');
  const first = Object.keys(tensors)[0];
  delete tensors[first];
  assert.throws(() => buildGenerator(model, encodeSafetensors(tensors)), new RegExp(`weights\\.safetensors lacks tensor ${first}; export the run again`));
  const before = tf.memory().numTensors;
  assert.throws(() => buildGenerator({ ...model, model: { ...model.model, ngf: 8 } }, weights), /is 6x1x1x32 but the model expects|but the model expects/);
  assert.equal(tf.memory().numTensors, before, 'a failed build frees its model');
});

test('exportRun writes the folder in one move, replaces an earlier export, refuses other folders and runs that draw nothing', async () => {
  const dir = await trainSmall('dcgan', 'shapes:40', { ngf: 4, ndf: 4, nz: 6 });
  const root = tempDir();
  const out = join(root, 'site');
  const result = await exportRun(dir, out, { page: false });
  assert.deepEqual(readdirSync(out).sort(), [MODEL_FILE, WEIGHTS_FILE]);
  assert.deepEqual(result.files.map((f) => f.name), [MODEL_FILE, WEIGHTS_FILE]);
  assert.equal(JSON.parse(readFileSync(join(out, MODEL_FILE), 'utf8')).family, 'dcgan');
  // An export killed while writing (its process gone) left its temporary folder; one of a live process is left alone.
  const killed = join(root, '.site.export-4194999');
  mkdirSync(killed);
  writeFileSync(join(killed, WEIGHTS_FILE), 'half');
  const live = join(root, `.site.export-${process.ppid}`);
  mkdirSync(live);
  await exportRun(dir, out, { page: false }); // an earlier export is replaced
  assert.deepEqual(readdirSync(root).sort(), [`.site.export-${process.ppid}`, 'site'], 'no temporary folder of a gone process is left');
  rmSync(live, { recursive: true });
  const mine = join(root, 'mine');
  mkdirSync(mine);
  writeFileSync(join(mine, 'notes.txt'), 'keep me');
  await assert.rejects(exportRun(dir, mine), /the export folder .*mine holds other files \(notes\.txt\); give a new or empty folder/);
  assert.equal(readFileSync(join(mine, 'notes.txt'), 'utf8'), 'keep me');
  // A file in the way of the folder, at any depth.
  for (const below of [['site'], ['a', 'site']]) await assert.rejects(exportRun(dir, join(mine, 'notes.txt', ...below)), /^GantryError: the export folder .*: .*notes\.txt is a file, so no folder can be made below it; give another folder$/);
  await assert.rejects(exportRun(join(root, 'nothing'), join(root, 'x')), /is not a gantry run folder/);
  assert.equal(existsSync(join(root, 'x')), false);
  const classifier = await trainSmall('classifier', 'shapes:40', {});
  await assert.rejects(exportRun(classifier, join(root, 'c')), /is a classifier run; it does not generate images, so there is nothing to export/);
  assert.deepEqual(readdirSync(root).sort(), ['mine', 'site']);
});
