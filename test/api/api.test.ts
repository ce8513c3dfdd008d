import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PNG } from 'pngjs';
import { writePicturePairs } from '../fixtures/picture-pairs.ts';
import { gantryCli, setup, tempDir, tf } from '../helpers.ts';
import {
  exportRun, families, featureStats, fid, GantryError, inceptionScore, kid, learnStyles, precisionRecall, openGenerator, parseLatentExpression, pngBytes, project, readLabelMaps, readPictures, reconstruct, resume, segmentationScore, tile, train,
  type TrainProgress,
} from '../../src/api/index.ts';
import { learnStylesOfRun } from '../../src/explore/run-styles.ts';
import { FAMILIES } from '../../src/models/index.ts';
import { writeNpz } from '../../src/io/npy.ts';
import { LPIPS_W16, VGG16_W16 } from '../golden/ppl-golden.ts';

await setup();

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const inception = join(root, 'test', 'golden', 'inception_w8.pth');

const gantry = (...args: string[]) => gantryCli(args);

const small = { family: 'dcgan' as const, data: 'shapes:64', seed: 3, model: { ngf: 8, ndf: 8, nz: 10 }, train: { steps: 12, batch: 8, logEvery: 2, checkpointEvery: 4, samples: 4 } };

test('train(): a run the CLI can use, progress heard at every logged step; an AbortSignal stops it with a checkpoint and resume() ends it as an unbroken run', async () => {
  const dir = tempDir();
  const heard: TrainProgress[] = [];
  const grids: { step: number; file: string }[] = [];
  const straight = await train({ ...small, train: { ...small.train, sampleEvery: 5 }, out: join(dir, 'straight'), quiet: true, onProgress: (p) => heard.push(p), onSample: (s) => grids.push(s) });
  assert.deepEqual(grids.map((g) => g.step), [0, 5, 10, 12]);
  assert.ok(grids.every((g) => g.file === join(dir, 'straight', 'samples', `step-${String(g.step).padStart(6, '0')}.png`) && existsSync(g.file)));
  assert.deepEqual(heard.map((p) => p.step), [2, 4, 6, 8, 10, 12]);
  assert.ok(heard.every((p) => p.steps === 12 && Number.isFinite(p.losses.lossD) && Number.isFinite(p.losses.lossG)));
  assert.deepEqual(straight.losses, heard.at(-1)!.losses);
  assert.equal(straight.interrupted, null);

  const controller = new AbortController();
  const stopped = await train({ ...small, train: { ...small.train, sampleEvery: 5 }, out: join(dir, 'split'), quiet: true, signal: controller.signal, onProgress: (p) => p.step === 6 && controller.abort() });
  assert.deepEqual([stopped.step, stopped.interrupted], [6, 'abort']);
  const lines: string[] = [];
  const resumed = await resume(join(dir, 'split'), { log: (line) => lines.push(line) });
  assert.deepEqual([resumed.step, resumed.interrupted], [12, null]);
  assert.ok(lines.some((l) => l.includes('resuming') && l.includes('at step 6')), lines.join('\n'));
  assert.deepEqual(readFileSync(join(dir, 'split', 'checkpoint.safetensors')), readFileSync(join(dir, 'straight', 'checkpoint.safetensors')), 'the stopped and resumed run ends bit-identical to the unbroken one');

  // An aborted signal before the first step stops at once, with nothing lost.
  const early = new AbortController();
  early.abort();
  const none = await train({ ...small, out: join(dir, 'none'), quiet: true, signal: early.signal });
  assert.deepEqual([none.step, none.interrupted], [0, 'abort']);

  // Ctrl-C is the run's (a checkpoint, then it stops) unless the program keeps the signals.
  const listeners = process.listenerCount('SIGINT');
  const during: number[] = [];
  await train({ ...small, out: join(dir, 'caught'), quiet: true, onProgress: () => during.push(process.listenerCount('SIGINT')) });
  await train({ ...small, out: join(dir, 'kept'), quiet: true, catchSignals: false, onProgress: () => during.push(process.listenerCount('SIGINT')) });
  assert.deepEqual([during[0], during.at(-1)], [listeners + 1, listeners]);
  assert.equal(process.listenerCount('SIGINT'), listeners, 'the run removes its handler');

  // One run trains at a time in a process.
  const first = train({ ...small, out: join(dir, 'first'), quiet: true });
  await assert.rejects(train({ ...small, out: join(dir, 'second'), quiet: true }), /this process is already training .*first; await that run first/);
  await first;
  assert.ok(!existsSync(join(dir, 'second')));

  // The CLI samples the run train() wrote.
  const s = gantry('sample', '--run', join(dir, 'straight'), '--n', '4', '--out', join(dir, 'grid.png'));
  assert.equal(s.code, 0, s.stderr);
});

test('openGenerator(): a run folder or an export draws what gantry sample draws for the same seeds; PNGs and grids; tensors flat', async () => {
  const dir = tempDir();
  const run = join(dir, 'run');
  await train({ ...small, out: run, quiet: true });
  const cli = gantry('sample', '--run', run, '--seed', '12', '--n', '3', '--out', join(dir, 'cli'));
  assert.equal(cli.code, 0, cli.stderr);
  const cliImages = readdirSync(join(dir, 'cli')).sort().map((f) => PNG.sync.read(readFileSync(join(dir, 'cli', f))));
  assert.equal(cliImages.length, 3);

  const before = tf.memory().numTensors;
  const g = await openGenerator(run);
  assert.equal(g.family, 'dcgan');
  const images = await g.generate({ seeds: [12, 13, 14] });
  assert.deepEqual([images.n, images.height, images.width, images.channels], [3, 32, 32, 3]);
  for (let i = 0; i < 3; i++) {
    // pngBytes writes the image itself (RGBA on disk, as the CLI's files).
    assert.deepEqual(PNG.sync.read(Buffer.from(pngBytes(images, i))).data, cliImages[i].data, `seed ${12 + i}`);
  }
  const grid = PNG.sync.read(Buffer.from(pngBytes(tile(images, 3))));
  assert.deepEqual([grid.width, grid.height], [3 * 34 + 2, 34 + 2]);
  assert.throws(() => pngBytes(images, 3), /image 3 of 3/);
  g.dispose();
  assert.equal(tf.memory().numTensors, before, 'a generator opened, drawn from and disposed leaves no tensors');

  const site = join(dir, 'site');
  const written = await exportRun(run, site, { page: false });
  assert.deepEqual(written.files.map((f) => f.name).sort(), ['model.json', 'weights.safetensors']);
  const fromExport = await openGenerator(site);
  assert.deepEqual((await fromExport.generate({ seeds: [12, 13, 14] })).pixels, images.pixels);
  // The weights are views of one buffer of the file's bytes, not copies of them (a 730 MB generator would be held twice).
  const weightsFile = statSync(join(site, 'weights.safetensors')).size;
  const backend = tf.backend() as unknown as { data: { get(id: object): { values: Float32Array } } };
  const held = fromExport.model.networks.G.named().map(([, v]) => backend.data.get(v.dataId).values);
  assert.ok(held.every((values) => values.buffer.byteLength === weightsFile && values.buffer === held[0].buffer), 'views of the one file buffer');
  fromExport.dispose();

  await assert.rejects(openGenerator(dir), /is neither a run folder \(no config.json\) nor an exported generator \(no model.json\)/);
});

test('readLabelMaps(): pix2pixHD label and instance map files drawn by openGenerator() as gantry translate draws them', async () => {
  const dir = tempDir();
  const run = join(dir, 'p2p');
  const pairs = join(root, 'test', 'fixtures', 'pairs');
  await train({
    family: 'pix2pixhd', data: `pairs:${pairs}`, out: run, quiet: true,
    model: { height: 32, width: 64, ngf: 8, nDown: 2, nBlocks: 1, ndf: 8, nLayers: 2, vgg: false }, train: { steps: 2, batch: 2 },
  });
  const labels = ['scene_000.png', 'scene_001.png'].map((f) => join(pairs, 'test_label', f));
  const instances = ['scene_000.png', 'scene_001.png'].map((f) => join(pairs, 'test_inst', f));
  const t = gantry('translate', '--run', run, '--labels', labels[1], '--instances', instances[1], '--out', join(dir, 't.png'), '--quiet');
  assert.equal(t.code, 0, t.stderr);
  const g = await openGenerator(run);
  const maps = readLabelMaps(g, labels, instances);
  assert.deepEqual([maps.length, maps[0].width, maps[0].height], [2, 64, 32]);
  const images = await g.generate({ labelMaps: maps });
  assert.deepEqual(PNG.sync.read(Buffer.from(pngBytes(images, 1))).data, PNG.sync.read(readFileSync(join(dir, 't.png'))).data);
  // Without instance maps, each label map is read as its own (as generate() and the painter take one).
  const alone = readLabelMaps(g, labels);
  assert.deepEqual(alone.map((m) => Array.from(m.instances!)), maps.map((m) => Array.from(m.labels)));
  g.dispose();
});

test('readPictures(): a pix2pixHD run on pictures as inputs draws a picture file as gantry translate --inputs draws it; label maps are refused in the API\'s words', async () => {
  const dir = tempDir();
  const run = join(dir, 'pictures');
  const data = writePicturePairs({ train: 4, test: 2, size: 16, dir: join(dir, 'data') });
  await train({ family: 'pix2pixhd', data: `pairs:${data}`, out: run, quiet: true, model: { height: 16, ngf: 4, nDown: 2, nBlocks: 1, ndf: 4, nLayers: 2, vgg: false }, train: { steps: 2, batch: 2 } });
  const file = join(data, 'test_A', 'pic_0001.png');
  const t = gantry('translate', '--run', run, '--inputs', file, '--out', join(dir, 't.png'), '--quiet');
  assert.equal(t.code, 0, t.stderr);
  const g = await openGenerator(run);
  assert.equal(g.takesPictures, true);
  const images = await g.generate({ pictures: readPictures([file]) });
  assert.deepEqual(PNG.sync.read(Buffer.from(pngBytes(images, 0))).data, PNG.sync.read(readFileSync(join(dir, 't.png'))).data);
  assert.throws(() => readLabelMaps(g, [file]), /^GantryError: this pix2pixhd run was trained on pictures as inputs, not label maps; give pictures \(readPictures\(files\) and generate\(\{ pictures \}\)\)$/);
  assert.throws(() => readPictures([join(dir, 'missing.png')]), /missing\.png/);
  g.dispose();
});

test('reconstruct(): an auto-encoder run\'s inputs and reconstructions, the pixels of gantry reconstruct\'s grid', async () => {
  const dir = tempDir();
  const run = join(dir, 'vae');
  await train({ family: 'vae', data: 'shapes:200', out: run, quiet: true, model: { width: 8, latent: 8 }, train: { steps: 4, batch: 16 } });
  const r = gantry('reconstruct', '--run', run, '--n', '12', '--seed', '3', '--out', join(dir, 'r.png'));
  assert.equal(r.code, 0, r.stderr);
  const before = tf.memory().numTensors;
  const { inputs, reconstructions } = await reconstruct(run, { n: 12, seed: 3 });
  assert.equal(tf.memory().numTensors, before, 'no tensors left');
  const { n, height: h, width: w, channels: c } = reconstructions;
  assert.deepEqual([n, inputs.n, c], [12, 12, 3]);
  // The CLI's grid: rows of 8 inputs, each above their reconstructions; image 9 is the second of the third pair of rows.
  const grid = PNG.sync.read(readFileSync(join(dir, 'r.png')));
  const cell = (row: number, col: number) => {
    const out = new Uint8Array(h * w * c);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const at = ((2 + row * (h + 2) + y) * grid.width + 2 + col * (w + 2) + x) * 4;
        out.set(grid.data.subarray(at, at + c), (y * w + x) * c);
      }
    }
    return out;
  };
  const image = (b: typeof inputs, i: number) => b.pixels.subarray(i * h * w * c, (i + 1) * h * w * c);
  assert.deepEqual(cell(2, 1), image(inputs, 9));
  assert.deepEqual(cell(3, 1), image(reconstructions, 9));
  assert.deepEqual(cell(1, 7), image(reconstructions, 7));
  assert.notDeepEqual(image(inputs, 9), image(reconstructions, 9));
  await assert.rejects(reconstruct(run, { n: 0 }), /reconstruct\(\): n must be a whole number from 1 to 1024, got 0/);
  const dcgan = join(dir, 'dcgan');
  await train({ ...small, train: { ...small.train, steps: 1 }, out: dcgan, quiet: true });
  await assert.rejects(reconstruct(dcgan), /a dcgan run does not reconstruct images; use a vae, vae-gan or unet-vae-gan run/);
});

test('project(): pictures\' vectors and classes, which the generator draws again at the distance given', async () => {
  const dir = tempDir();
  const run = join(dir, 'cgan');
  await train({ ...small, family: 'cgan', out: run, quiet: true });
  const g = await openGenerator(run);
  const drawn = await g.generate({ seeds: [700, 701], class: 'circle' });
  const files = [0, 1].map((i) => join(dir, `p${i}.png`));
  files.forEach((f, i) => writeFileSync(f, pngBytes(drawn, i)));
  const heard: number[] = [];
  const pool: number[] = [];
  const before = tf.memory().numTensors;
  const found = await project(run, files, { steps: 30, onProgress: (done, total) => heard.push(done / total), onPoolProgress: (done, total) => pool.push(done / total) });
  assert.equal(tf.memory().numTensors, before, 'no tensors left');
  assert.equal(heard.at(-1), 1);
  assert.equal(pool.at(-1), 1);
  assert.deepEqual(found.map((p) => p.image), files);
  for (const p of found) {
    assert.ok(p.distance < p.start, `${p.start} -> ${p.distance}`);
    assert.ok(g.classes!.includes(p.class!), `a class name: ${p.class}`);
    // Drawn again as a program draws: the distance is the picture's, up to its 8 bits.
    const again = await g.generate({ latents: [p.latent], class: p.class });
    const picture = PNG.sync.read(readFileSync(p.image)).data.filter((_, k) => k % 4 !== 3);
    let sum = 0;
    again.pixels.forEach((v, k) => { sum += ((v - picture[k]) / 127.5) ** 2; });
    assert.ok(Math.abs(sum / again.pixels.length - p.distance) < 2e-3, `${sum / again.pixels.length} against ${p.distance}`);
  }
  const [one] = await project(run, [files[0]], { steps: 5, class: 'square' });
  assert.equal(one.class, 'square');
  g.dispose();
  await assert.rejects(project(run, [files[0]], { steps: 5, starts: 9, pool: 8 }), /projection: 9 starts are more than a pool of 8 seeds gives/);
  await assert.rejects(project(run, [files[0]], { step: 5 } as never), /project\(\): unknown option "step"/);
  await assert.rejects(project(run, [files[0]], { signal: 'stop' } as never), /^GantryError: project\(\): signal must be an AbortSignal \(an AbortController's \.signal\), got string$/);
  // Stopped before a step: the closest start, as steps 0 gives.
  const [stopped] = await project(run, [files[0]], { steps: 50, class: 'square', signal: AbortSignal.abort() });
  const [unmoved] = await project(run, [files[0]], { steps: 0, class: 'square' });
  assert.deepEqual(stopped.latent, unmoved.latent);
  await assert.rejects(project(run, [] as string[]), /project\(\): give the image files as an array second/);
  await assert.rejects(project(run, [files[0]], { class: 'hexagon' }), /class "hexagon": expected a class index 0\.\.\d+ or a name/);
  await assert.rejects(project(run, [files[0]], { lpips: LPIPS_W16 }), /project\(\): projection by LPIPS, which needs torchvision's VGG-16 weights .*\(vgg16\)/);
  const [byLpips] = await project(run, [files[0]], { steps: 3, lpips: LPIPS_W16, vgg16: VGG16_W16, class: one.class });
  assert.ok(byLpips.distance <= byLpips.start);
});

test('learnStyles() and segmentationScore() give what gantry features and gantry eval segmentation do', async () => {
  const dir = tempDir();
  const pairs = `pairs:${join(root, 'test', 'fixtures', 'pairs')}`;
  const run = join(dir, 'p2p');
  await train({
    family: 'pix2pixhd', data: pairs, out: run, quiet: true,
    model: { height: 32, width: 64, ngf: 8, nDown: 2, nBlocks: 1, ndf: 8, nLayers: 2, vgg: false, featNum: 3, nef: 4, nDownE: 2 }, train: { steps: 2, batch: 2 },
  });
  const styles = join(run, 'styles.json');
  const f = gantry('features', '--run', run, '--clusters', '2', '--seed', '5');
  assert.equal(f.code, 0, f.stderr);
  const cliStyles = readFileSync(styles, 'utf8');
  const learned = await learnStyles(run, { clusters: 3, seed: 5 });
  assert.notEqual(readFileSync(styles, 'utf8'), cliStyles, 'three clusters a class are not two');
  assert.equal(learned.file, styles);
  assert.ok(learned.instances > 0 && learned.classes > 0 && learned.styles <= 3 * learned.classes, JSON.stringify(learned));
  const again = await learnStyles(run, { clusters: 2, seed: 5 });
  assert.equal(readFileSync(styles, 'utf8'), cliStyles);
  assert.equal(f.stdout.trim(), `styles: ${again.instances} instances of ${again.classes} classes clustered into ${again.styles} styles (${styles})`);
  await assert.rejects(learnStyles(run, { clusters: 0 }), /learnStyles\(\): clusters must be a whole number >= 1, got 0/);
  // Encoding the data's objects reports its progress (the CLI's line after two seconds).
  const calls: [number, number][] = [];
  await learnStylesOfRun(run, { clusters: 2, seed: 5, encodeProgress: (done, total) => calls.push([done, total]) });
  assert.ok(calls.length > 0 && calls.every(([done, total], i) => done > (calls[i - 1]?.[0] ?? 0) && total === calls.at(-1)![1]), JSON.stringify(calls));
  assert.equal(calls.at(-1)![0], calls.at(-1)![1], 'to the last image');

  const segmenter = join(dir, 'seg');
  await train({ family: 'segmenter', data: pairs, out: segmenter, quiet: true, model: { height: 32, width: 64, nf: 4, depth: 2 }, train: { steps: 2, batch: 2 } });
  const e = gantry('eval', 'segmentation', '--run', run, '--segmenter', segmenter, '--n', '2', '--seed', '1', '--quiet');
  assert.equal(e.code, 0, e.stderr);
  const score = await segmentationScore({ run, segmenter, n: 2, seed: 1, quiet: true });
  assert.deepEqual({ metric: 'segmentation', ...score }, JSON.parse(e.stdout));
  await assert.rejects(segmentationScore({ run, segmenter: run }), /^.*segmenter: ".*p2p" is a pix2pixhd run, not a segmenter; train one with train\(\{"family":"segmenter","data":"pairs:/);
});

test('fid(), kid(), precisionRecall(), inceptionScore() and featureStats() give what gantry eval prints for the same inputs', async () => {
  const dir = tempDir();
  const run = join(dir, 'run');
  await train({ ...small, out: run, quiet: true });
  const common = { n: 16, weights: inception, featureDim: 64, quiet: true };
  const cli = (...args: string[]) => {
    const r = gantry('eval', ...args, '--n', '16', '--weights', inception, '--feature-dim', '64', '--quiet');
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout);
  };
  const f = await fid({ ...common, real: 'shapes:64', fake: run, log: () => {} });
  const cliFid = cli('fid', '--real', 'shapes:64', '--fake', run);
  assert.deepEqual([f.value, f.nReal, f.nFake, f.dim, f.features], [cliFid.value, cliFid.n_real, cliFid.n_fake, cliFid.dim, cliFid.features]);
  assert.ok(f.value > 0);

  const k = await kid({ ...common, real: 'shapes:64', fake: run, subsets: 5, subsetSize: 8 });
  const cliKid = cli('kid', '--real', 'shapes:64', '--fake', run, '--subsets', '5', '--subset-size', '8');
  assert.deepEqual([k.mean, k.std, k.subsets, k.subsetSize], [cliKid.mean, cliKid.std, cliKid.subsets, cliKid.subset_size]);
  assert.deepEqual(k.warnings, []);
  // torch-fidelity's 1000 a subset, from 16 images: the subsets shrink, and the warning speaks the API.
  const few = await kid({ ...common, real: 'shapes:64', fake: run, subsets: 2 });
  assert.equal(few.subsetSize, 16);
  assert.match(few.warnings.join('\n'), /^warning: KID's subsets hold 16 images, not 1000: .*the 2 subsets are one and the same.*; give more images \(n\) or a smaller subsetSize$/);

  const p = await precisionRecall({ ...common, real: 'shapes:64', fake: run, neighborhood: 2 });
  const cliP = cli('prc', '--real', 'shapes:64', '--fake', run, '--neighborhood', '2');
  assert.deepEqual([p.precision, p.recall, p.fScore, p.density, p.coverage, p.neighborhood, p.coverageNeighborhood, p.nReal, p.nFake, p.features],
    [cliP.precision, cliP.recall, cliP.f_score, cliP.density, cliP.coverage, 2, 5, 16, 16, cliP.features]);
  // Real shapes against themselves: every image within its own ball.
  const same = await precisionRecall({ ...common, real: 'shapes:64', fake: 'shapes:64' });
  assert.deepEqual([same.precision, same.recall, same.coverage], [1, 1, 1]);

  const is = await inceptionScore({ ...common, fake: run, splits: 2 });
  const cliIs = cli('is', '--fake', run, '--splits', '2');
  assert.deepEqual([is.mean, is.std, is.n], [cliIs.mean, cliIs.std, cliIs.n]);

  // Statistics files written by featureStats() score as the images did, without a network.
  const a = await featureStats({ ...common, input: 'shapes:64', out: join(dir, 'real.npz') });
  const b = await featureStats({ ...common, input: run, out: join(dir, 'fake.npz') });
  assert.deepEqual([a.n, a.dim, b.n], [16, 8, 16]);
  const fromFiles = await fid({ real: join(dir, 'real.npz'), fake: join(dir, 'fake.npz') });
  assert.equal(fromFiles.features, 'statistics files');
  const fromImages = await fid({ ...common, real: join(dir, 'real.npz'), fake: run });
  assert.equal(fromFiles.value, fromImages.value);
  assert.ok(fromFiles.value > 0);
  // Precision and recall need each image's features: a statistics file is refused before any is drawn.
  await assert.rejects(precisionRecall({ ...common, real: 'shapes:64', fake: join(dir, 'fake.npz') }), /^GantryError: precision and recall: .*fake\.npz holds only the statistics of images, not each image's features; give a data SPEC or a run folder$/);
});

test('eval: FID while training, at every eval.every steps and the last, as gantry eval scores the checkpoint; kept across a stop and resume; plotted', async () => {
  const dir = tempDir();
  const fidEval = { every: 6, fid: { n: 16, weights: inception, featureDim: 64 } };
  const rows = (run: string) => readFileSync(join(run, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((r) => 'fid' in r);
  const straight = join(dir, 'straight');
  const result = await train({ ...small, eval: fidEval, out: straight, quiet: true });
  const scored = rows(straight);
  assert.deepEqual(scored.map((r) => r.step), [6, 12]);
  assert.ok(scored.every((r) => Number.isFinite(r.fid) && r.fid > 0));
  assert.equal(result.losses.fid, scored[1].fid);
  assert.ok(existsSync(join(straight, 'plots', 'fid.svg')));
  const cli = gantry('eval', 'fid', '--real', 'shapes:64', '--fake', straight, '--n', '16', '--weights', inception, '--feature-dim', '64', '--quiet');
  assert.equal(cli.code, 0, cli.stderr);
  assert.equal(JSON.parse(cli.stdout).value, scored[1].fid, 'the last score is the finished run\'s FID');

  // Stopped between scores and resumed: the same scores; a resume may change what is scored (recorded).
  const split = join(dir, 'split');
  const controller = new AbortController();
  await train({ ...small, eval: fidEval, out: split, quiet: true, signal: controller.signal, onProgress: (p) => p.step === 8 && controller.abort() });
  await resume(split, { quiet: true, eval: { fid: { featureDim: 64, weights: inception, n: 16 }, every: 6 } });
  assert.deepEqual(rows(split), scored);
  await resume(split, { quiet: true, train: { steps: 16 }, eval: { every: 2, fid: { n: 16, weights: inception, featureDim: 64 } } });
  assert.deepEqual(rows(split).map((r) => r.step), [6, 12, 14, 16]);
  const history = readFileSync(join(split, 'config-history.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(history.map((h) => Object.keys(h.changed)), [['train.steps', 'eval']], 'the same eval section again is no change');
  assert.deepEqual(history[0].changed.eval.map((e: { every: number }) => e.every), [6, 2]);

  // From the CLI, the config file's eval section.
  const config = join(dir, 'config.json');
  writeFileSync(config, JSON.stringify({ ...small, family: undefined, eval: fidEval }));
  const t = gantry('train', 'dcgan', '--config', config, '--out', join(dir, 'cli'), '--quiet');
  assert.equal(t.code, 0, t.stderr);
  assert.match(t.stdout, /step 12 lossD=\S+ lossG=\S+ fid=/);
  assert.deepEqual(rows(join(dir, 'cli')), scored);

  // With precisionRecall: the same FIDs (one pass of the drawn images gives both), and precision, recall,
  // density and coverage as gantry eval prc scores each checkpoint.
  const both = join(dir, 'both');
  await train({ ...small, eval: { ...fidEval, precisionRecall: true }, out: both, train: { ...small.train, steps: 6 }, quiet: true });
  const bothRows = rows(both);
  assert.deepEqual(bothRows.map((r) => r.fid), [scored[0].fid]);
  const prc = gantry('eval', 'prc', '--real', 'shapes:64', '--fake', both, '--n', '16', '--weights', inception, '--feature-dim', '64', '--quiet');
  assert.equal(prc.code, 0, prc.stderr);
  const p = JSON.parse(prc.stdout);
  assert.deepEqual(['precision', 'recall', 'density', 'coverage'].map((k) => bothRows[0][k]), [p.precision, p.recall, p.density, p.coverage]);
  assert.ok(['precision', 'recall', 'density', 'coverage'].every((k) => existsSync(join(both, 'plots', `${k}.svg`))));

  // What cannot be scored is one line before a run folder is made.
  const rejects = (p: Promise<unknown>, message: RegExp) => assert.rejects(p, (err: unknown) => err instanceof GantryError && message.test(err.message));
  await rejects(train({ ...small, eval: { ...fidEval, fid: { ...fidEval.fid, real: join(dir, 'real.npz') }, precisionRecall: true }, out: join(dir, 's'), quiet: true }), /^eval\.precisionRecall: .*real\.npz holds only the statistics of images, not each image's features; give a data SPEC or a run folder$/);
  await rejects(train({ family: 'classifier', data: 'shapes:64', eval: fidEval, train: { steps: 2, batch: 8 }, out: join(dir, 'c'), quiet: true }), /eval\.fid: a classifier run does not generate images to score; leave the eval section out/);
  await rejects(train({ ...small, eval: { fid: { n: 16, weights: join(dir, 'missing.pth') } }, out: join(dir, 'w'), quiet: true }), /Inception weights .*missing\.pth not found/);
  await rejects(train({ ...small, eval: { fid: { n: 1, weights: inception } }, out: join(dir, 'n'), quiet: true }), /train\(\): eval\.fid\.n: /);
  assert.ok(!existsSync(join(dir, 'c')) && !existsSync(join(dir, 'w')) && !existsSync(join(dir, 'n')) && !existsSync(join(dir, 's')));
});

test('bad requests are one GantryError naming the option or field, before any run folder is made', async () => {
  const dir = tempDir();
  const out = join(dir, 'r');
  const rejects = (p: Promise<unknown>, message: RegExp) => assert.rejects(p, (err: unknown) => err instanceof GantryError && message.test(err.message));
  await rejects(train({ ...small, out, steps: 10 } as never), /train\(\): unknown option "steps"; it goes in the train section: \{ train: \{ steps: \.\.\. \} \}/);
  await rejects(train({ ...small, out, colour: 1 } as never), /train\(\): unknown option "colour"; known: family, out, data/);
  await rejects(train({ ...small, out, model: { ngf: 'wide' } } as never), /train\(\): model\.ngf: /);
  await rejects(train({ ...small, out, model: { width: 3 } } as never), /train\(\): model: unknown field "width"/);
  await rejects(train({ ...small, out, family: 'gan' } as never), /unknown model family "gan" \(did you mean "cgan"\?\); known: dcgan/);
  await rejects(train({ ...small, out: '' }), /give the run folder as out/);
  await rejects(train({ ...small, out, epochs: 0 }), /epochs must be a whole number >= 1, got 0/);
  await rejects(train({ ...small, out, epochs: 2 }), /give epochs or train\.steps, not both/);
  await rejects(train({ ...small, out, signal: true } as never), /^train\(\): signal must be an AbortSignal \(an AbortController's \.signal\), got boolean$/);
  assert.ok(!existsSync(out), 'no run folder is left behind');
  await rejects(resume(join(dir, 'missing'), { quiet: true }), /missing/);
  await rejects(resume(out, { steps: 3 } as never), /resume\(\): unknown option "steps"; it goes in the train section/);
  await rejects(fid({ real: 'mnist', fake: 'mnist', n: 1 }), /fid\(\): n must be a whole number >= 2, got 1/);
  // Every call's options are checked by name: a misspelt key is not silently ignored.
  await rejects(fid({ real: 'mnist', fake: 'mnist', n: 4, feature_dim: 64 } as never), /^fid\(\): unknown option "feature_dim" \(did you mean "featureDim"\?\); known: weights, featureDim, classifier, vgg16, n, batch, seed, quiet, log, real, fake$/);
  await rejects(kid({ real: 'mnist', fake: 'mnist', subset: 10 } as never), /^kid\(\): unknown option "subset" \(did you mean "subsets"\?\); known: .*subsetSize/);
  await rejects(segmentationScore({ run: dir, segmenter: dir, count: 3 } as never), /^segmentationScore\(\): unknown option "count"/);
  await rejects(openGenerator(dir, { backend: 'cpu' } as never), /^openGenerator\(\): unknown option "backend"; known: device$/);
  await rejects(reconstruct(dir, { images: 4 } as never), /^reconstruct\(\): unknown option "images"; known: data, n, seed, device$/);
  await rejects(learnStyles(dir, { k: 4 } as never), /^learnStyles\(\): unknown option "k"; known: clusters, seed, device$/);
  await rejects(exportRun(dir, join(dir, 'site'), { html: false } as never), /^exportRun\(\): unknown option "html"; known: page$/);
  await rejects(fid({ real: 'mnist', fake: 'mnist', n: 4, weights: inception, classifier: dir }), /give one network for the features: Inception weights \(weights, featureDim\), VGG-16 weights \(vgg16\) or a classifier run \(classifier\), not two/);
  // A path left out or of another type (plain JavaScript), named with an example call.
  await rejects(fid({ real: 'mnist' } as never), /^fid\(\): give fake: a run folder, a data SPEC or a statistics \.npz, e\.g\. \{ fake: "runs\/first" \}$/);
  await rejects(featureStats({ input: 'mnist' } as never), /^featureStats\(\): give out: the \.npz file to write/);
  await rejects(segmentationScore({ run: dir } as never), /^segmentationScore\(\): give segmenter: /);
  await rejects(resume({ out } as never), /^resume\(\): give the run folder first, e\.g\. resume\("runs\/first", /);
  await rejects(openGenerator(undefined as never), /^openGenerator\(\): give a run folder or an exported generator's folder/);
  await rejects(exportRun(dir, 3 as never), /^exportRun\(\): give the folder to write the site into second/);
  await rejects(reconstruct(null as never), /^reconstruct\(\): give a vae, vae-gan or unet-vae-gan run folder/);
  await rejects(learnStyles({} as never), /^learnStyles\(\): give a pix2pixhd run folder/);
  const envWeights = process.env.GANTRY_INCEPTION_WEIGHTS;
  delete process.env.GANTRY_INCEPTION_WEIGHTS;
  try {
    await rejects(fid({ real: 'mnist', fake: 'nowhere.npz', n: 4 }), /^Inception features need pytorch-fid's pt_inception.*give it with weights or set GANTRY_INCEPTION_WEIGHTS=FILE.*a gantry classifier run \(classifier\)/);
  } finally {
    if (envWeights !== undefined) process.env.GANTRY_INCEPTION_WEIGHTS = envWeights;
  }
  await rejects(fid({ real: 'mnist', fake: 'nowhere:x', n: 4 }), /nowhere/);
});

test("a program's mistakes are named in the API's words (options and calls), not the CLI's flags", async () => {
  const dir = tempDir();
  const run = join(dir, 'run');
  await train({ ...small, train: { ...small.train, steps: 2 }, out: run, quiet: true });
  const rejects = (p: Promise<unknown>, message: RegExp) => assert.rejects(p, (err: unknown) => err instanceof GantryError && message.test(err.message) && !/ --[a-z]/.test(err.message));
  await rejects(train({ ...small, out: run, quiet: true }), /already exists and is not empty; continue with resume\(".*run"\), or choose another run folder/);
  await rejects(train({ ...small, out: join(dir, 'a'), initFrom: join(dir, 'none'), quiet: true }), /^initFrom: ".*none": no checkpoint\.safetensors there/);
  await rejects(train({ ...small, out: join(dir, 'b'), device: 'gpu' as never, quiet: true }), /^unknown device "gpu" \(device\); use cpu or webgpu/);
  await rejects(fid({ real: 'mnist', fake: 'mnist', n: 4, classifier: run }), /^classifier: .*run is a dcgan run, not a classifier/);
  // A config's eval section is named by its fields.
  await rejects(train({ ...small, eval: { fid: { n: 4, features: run } }, out: join(dir, 'c'), quiet: true }), /^eval\.fid\.features: .*run is a dcgan run, not a classifier/);
  const envWeights = process.env.GANTRY_INCEPTION_WEIGHTS;
  delete process.env.GANTRY_INCEPTION_WEIGHTS;
  try {
    await rejects(train({ ...small, eval: { fid: { n: 4 } }, out: join(dir, 'd'), quiet: true }), /give it with eval\.fid\.weights or set GANTRY_INCEPTION_WEIGHTS=FILE.*\(eval\.fid\.features\)/);
  } finally {
    if (envWeights !== undefined) process.env.GANTRY_INCEPTION_WEIGHTS = envWeights;
  }
  for (const name of ['a', 'b', 'c', 'd']) assert.ok(!existsSync(join(dir, name)), `no run folder ${name} is left behind`);
  const notStats = join(dir, 'x.npz');
  writeNpz(notStats, { x: { shape: [2], data: new Float64Array(2) } });
  await rejects(fid({ real: notStats, fake: notStats }), /has no "mu" and "sigma" arrays; it is not a FID statistics file \(make one with featureStats\(\)\)/);
  assert.throws(() => parseLatentExpression('seed:1 seed:2'), (err: unknown) => err instanceof GantryError && /^parseLatentExpression\(\): put \+ or - between terms/.test(err.message));
  // A diverged run's advice is a resume() call, and following it continues the run.
  const hot = join(dir, 'hot');
  let advice: RegExpExecArray | null = null;
  await rejects(train({ ...small, model: { ...small.model, lr: 1e30 }, out: hot, quiet: true }).catch((err) => {
    advice = /Lower the learning rate: continue with resume\((".*?"), (\{.*\})\) \(from its last checkpoint\)/.exec(err.message);
    throw err;
  }), /became (NaN|Infinity|-Infinity) at step \d+/);
  assert.ok(advice, 'the advice names resume() with the changes');
  const [, runArg, changes] = advice as RegExpExecArray;
  assert.deepEqual(JSON.parse(changes), { model: { lr: 0.0002 } });
  const continued = await resume(JSON.parse(runArg), { ...JSON.parse(changes), quiet: true });
  assert.equal(continued.step, small.train.steps);
});

test('families names every family train() takes', () => {
  assert.deepEqual(Object.keys(families).sort(), Object.keys(FAMILIES).sort());
  assert.match(families.pix2pixhd, /label map/i);
});
