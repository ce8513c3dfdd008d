import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gantryCli, tempDir } from '../helpers.ts';
import { readImageFile } from '../../src/io/image.ts';
import { encodePng } from '../../src/io/png.ts';
import { encodeIdMap, readIdMap } from '../../src/io/id-map.ts';
import { readSafetensors } from '../../src/io/safetensors-file.ts';
import { levelsOff, readPix2PixHDGolden, writePix2PixHDGoldenMaps } from '../golden/pix2pixhd-maps.ts';
import { grey, sideBySide, writePicturePairs } from '../fixtures/picture-pairs.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const fixtures = join(root, 'test', 'fixtures');
const pairs = join(fixtures, 'pairs');

const gantry = (...args: string[]) => gantryCli(args);
// Runs without VGG weights unless a test names them (gantryCli leaves a GANTRY_VGG_WEIGHTS of the caller's out).
const gantryWith = (env: Record<string, string>, ...args: string[]) => gantryCli(args, { env });

function tensors(file: string): Record<string, number[]> {
  const st = readSafetensors(file);
  return Object.fromEntries(Object.entries(st.tensors).map(([k, t]) => [k, Array.from(t.data as Float32Array)]));
}

/** A small pix2pixhd on the fixture pairs (48x24 photos fitted to 64x32, instance maps, flips on). */
const CONFIG = { model: { height: 32, width: 64, ngf: 8, nDown: 2, nBlocks: 1, ndf: 8, nLayers: 2 }, train: { batch: 2, checkpointEvery: 2, sampleEvery: 2, logEvery: 1 } };

test('pix2pixhd from the CLI: trains on pairs:DIR, grids of label | result | real, resumes bit-exactly, translates maps, scores FID on the test split', () => {
  const dir = tempDir();
  const config = join(dir, 'config.json');
  writeFileSync(config, JSON.stringify(CONFIG));
  const whole = join(dir, 'whole');
  // With VGG19 weights (torchvision's layout at 1/8 width, random): the perceptual loss is on.
  const vgg = join(root, 'test', 'golden', 'vgg19_w8.pth');
  const r = gantry('train', 'pix2pixhd', '--data', `pairs:${pairs}`, '--config', config, '--steps', '4', '--out', whole, '--vgg-weights', vgg);
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /VGG|instance/);
  const cfg = JSON.parse(readFileSync(join(whole, 'config.json'), 'utf8'));
  assert.equal(cfg.model.labelNc, 3, 'labelNc from the data');
  assert.equal(cfg.model.instances, true, 'instance maps found');
  assert.deepEqual([cfg.model.vgg, cfg.model.vggWeights], [true, vgg]);
  const grid = readImageFile(join(whole, 'samples', 'step-000004.png'));
  // 3 columns (label, result, real) of 64 wide, 6 rows (the 6 training pairs) of 32 high, 2-pixel gaps.
  assert.deepEqual([grid.width, grid.height], [3 * 66 + 2, 6 * 34 + 2]);
  const metrics = readFileSync(join(whole, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.ok(metrics.every((m) => Number.isFinite(m.lossD) && Number.isFinite(m.lossG)));

  // Stopped at step 2 and resumed: the same weights as the uninterrupted run (batches and flips are seeded by step).
  const parts = join(dir, 'parts');
  assert.equal(gantry('train', 'pix2pixhd', '--data', `pairs:${pairs}`, '--config', config, '--steps', '2', '--out', parts, '--vgg-weights', vgg, '--quiet').code, 0);
  const resumed = gantry('train', '--resume', '--out', parts, '--steps', '4', '--quiet');
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.deepEqual(tensors(join(parts, 'checkpoint.safetensors')), tensors(join(whole, 'checkpoint.safetensors')));

  // Translate the test split's maps (a folder) and one map.
  const out = join(dir, 'translated');
  const t = gantry('translate', '--run', whole, '--labels', join(pairs, 'test_label'), '--instances', join(pairs, 'test_inst'), '--out', out, '--quiet');
  assert.equal(t.code, 0, t.stderr);
  assert.deepEqual(readdirSync(out).sort(), ['scene_000.png', 'scene_001.png']);
  const img = readImageFile(join(out, 'scene_000.png'));
  assert.deepEqual([img.width, img.height], [64, 32]);
  const one = join(dir, 'one.png');
  assert.equal(gantry('translate', '--run', whole, '--labels', join(pairs, 'test_label', 'scene_001.png'), '--instances', join(pairs, 'test_inst', 'scene_001.png'), '--out', one).code, 0);
  assert.deepEqual(readFileSync(one), readFileSync(join(out, 'scene_001.png')), 'a map draws the same image alone or in a folder');

  // Bad maps: an id the run never learned, a missing instance map; sample points to translate.
  writeFileSync(join(dir, 'bad.png'), encodeIdMap({ width: 4, height: 2, ids: [0, 1, 2, 7, 0, 0, 0, 0] }));
  const bad = gantry('translate', '--run', whole, '--labels', join(dir, 'bad.png'), '--instances', join(pairs, 'test_inst', 'scene_001.png'), '--out', join(dir, 'x.png'));
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /^gantry translate: label map .*bad\.png has label 7 at pixel 3,0, but the run knows labels 0\.\.2; use the ids the run was trained on\n$/);
  // Without --instances each label's area is one object (as the painter reads a painted map), said once.
  const label = join(pairs, 'test_label', 'scene_001.png');
  const noInst = gantry('translate', '--run', whole, '--labels', label, '--out', join(dir, 'x.png'));
  assert.equal(noInst.code, 0, noInst.stderr);
  assert.match(noInst.stderr, /^note: this run was trained with instance maps and none were given \(--instances\), so each label's area is read as one object/);
  assert.equal(gantry('translate', '--run', whole, '--labels', label, '--instances', label, '--out', join(dir, 'y.png')).code, 0);
  assert.deepEqual(readFileSync(join(dir, 'x.png')), readFileSync(join(dir, 'y.png')));
  assert.notDeepEqual(readFileSync(join(dir, 'x.png')), readFileSync(one), 'the real instance map draws another image');
  // sample, interpolate (seeds or classes) and arith point to translate.
  for (const args of [['sample'], ['interpolate', '--seeds', '1,2'], ['interpolate', '--classes', '1,2'], ['arith', '--expr', 'seed:1 - seed:2']]) {
    const r = gantry(...args, '--run', whole, '--out', join(dir, 's.png'));
    assert.match(r.stderr, /^gantry \w+: this pix2pixhd run turns label maps into images; draw them with `gantry translate --run RUN --labels MAP\.png`/, args.join(' '));
  }
  // The page paints label maps (test/web/browser.test.ts); the export carries the run's test maps to start from.
  const site = join(dir, 'site');
  const exported = gantry('export', '--run', whole, '--out', site, '--no-page');
  assert.equal(exported.code, 0, exported.stderr);
  assert.deepEqual(readSafetensors(join(site, 'weights.safetensors')).tensors['example/labels'].shape, [2, 32, 64]);
  assert.equal(JSON.parse(readFileSync(join(site, 'model.json'), 'utf8')).model.vggWeights, undefined, 'no path of this machine\'s in a page to publish');

  // The segmentation score needs a segmenter run of the same size.
  assert.match(gantry('eval', 'segmentation', '--run', whole, '--segmenter', whole).stderr, /--segmenter .* is a pix2pixhd run, not a segmenter; train one with `gantry train segmenter --data pairs:/);
  assert.match(gantry('eval', 'segmentation', '--run', whole).stderr, /segmentation needs --run PIX2PIXHD_RUN and --segmenter SEGMENTER_RUN/);
  assert.match(gantry('eval', 'fid', '--run', whole).stderr, /--run goes with eval segmentation; fid takes --fake RUN_DIR/);

  // FID of the run draws from the test split's maps.
  const fid = gantry('eval', 'fid', '--real', `pairs:${pairs}?split=test`, '--fake', whole, '--n', '4', '--weights', join(root, 'test', 'golden', 'inception_w8.pth'), '--feature-dim', '64', '--quiet');
  assert.equal(fid.code, 0, fid.stderr);
  const score = JSON.parse(fid.stdout);
  assert.equal(score.n_fake, 4);
  assert.ok(Number.isFinite(score.value) && score.value > 0);
});

test('train.loadSize: pairs read larger, a crop of the model\'s size cut at a random place each step; grids at the model\'s size; resume exact', () => {
  const dir = tempDir();
  const config = join(dir, 'config.json');
  writeFileSync(config, JSON.stringify({ ...CONFIG, train: { ...CONFIG.train, loadSize: [48, 96] } }));
  const whole = join(dir, 'whole');
  const r = gantry('train', 'pix2pixhd', '--data', `pairs:${pairs}`, '--config', config, '--steps', '4', '--out', whole, '--quiet');
  assert.equal(r.code, 0, r.stderr);
  const grid = readImageFile(join(whole, 'samples', 'step-000004.png'));
  assert.deepEqual([grid.width, grid.height], [3 * 66 + 2, 6 * 34 + 2], 'grid rows at the model\'s 64x32');
  const parts = join(dir, 'parts');
  assert.equal(gantry('train', 'pix2pixhd', '--data', `pairs:${pairs}`, '--config', config, '--steps', '2', '--out', parts, '--quiet').code, 0);
  assert.equal(gantry('train', '--resume', '--out', parts, '--steps', '4', '--quiet').code, 0);
  assert.deepEqual(tensors(join(parts, 'checkpoint.safetensors')), tensors(join(whole, 'checkpoint.safetensors')), 'crops are a function of (seed, step)');
  // Pairs over GANTRY_DATA_MEMORY_MB are fitted once into a cache file and read a batch at a time: the same
  // crops, grids and weights, through a stop and a resume that reads the file again without decoding.
  const streamEnv = { GANTRY_DATA_MEMORY_MB: '0', GANTRY_CACHE: join(dir, 'cache') };
  const streamed = join(dir, 'streamed');
  const first = gantryWith(streamEnv, 'train', 'pix2pixhd', '--data', `pairs:${pairs}`, '--config', config, '--steps', '2', '--out', streamed);
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stderr, /data: fitted the 6 pairs of .* into .*cache\/pairs\/[0-9a-f]{20}\.bin \(\d+ kB at 48x96, more than GANTRY_DATA_MEMORY_MB\); they are read from there a batch at a time/);
  const again = gantryWith(streamEnv, 'train', '--resume', '--out', streamed, '--steps', '4');
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stderr, /data: reading the 6 pairs of .* from .*\.bin/);
  assert.deepEqual(tensors(join(streamed, 'checkpoint.safetensors')), tensors(join(whole, 'checkpoint.safetensors')), 'streamed pairs train as in memory');
  assert.deepEqual(readImageFile(join(streamed, 'samples', 'step-000004.png')).data, grid.data, 'grids drawn from the file at the model\'s size');
  // Crops change what G sees: the same run read at the model's size ends elsewhere.
  writeFileSync(config, JSON.stringify(CONFIG));
  const plain = join(dir, 'plain');
  assert.equal(gantry('train', 'pix2pixhd', '--data', `pairs:${pairs}`, '--config', config, '--steps', '4', '--out', plain, '--quiet').code, 0);
  assert.notDeepEqual(tensors(join(plain, 'checkpoint.safetensors')), tensors(join(whole, 'checkpoint.safetensors')));

  writeFileSync(config, JSON.stringify({ ...CONFIG, train: { ...CONFIG.train, loadSize: [24, 96] } }));
  const small = gantry('train', 'pix2pixhd', '--data', `pairs:${pairs}`, '--config', config, '--steps', '2', '--out', join(dir, 'small'));
  assert.equal(small.code, 1);
  assert.match(small.stderr, /^gantry train: train\.loadSize \[24, 96\] is smaller than the model's images \(32x64\); .* make it at least \[32, 64\]\n$/);
  assert.ok(!existsSync(join(dir, 'small')), 'no run folder left');
});

test('pix2pixhd without instance maps or VGG weights trains without the edge channel and the VGG term, and says so once each', () => {
  const dir = tempDir();
  const data = join(dir, 'pairs');
  for (const sub of ['train_label', 'train_img']) cpSync(join(pairs, sub), join(data, sub), { recursive: true });
  const config = join(dir, 'config.json');
  writeFileSync(config, JSON.stringify(CONFIG));
  const r = gantry('train', 'pix2pixhd', '--data', `pairs:${data}`, '--config', config, '--steps', '2', '--out', join(dir, 'run'));
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr.match(/no instance maps/g)?.length, 1, r.stderr);
  assert.match(r.stderr, /pix2pixhd: the data has no instance maps \(.*train_inst\): training without the instance boundary channel/);
  assert.equal(r.stderr.match(/no VGG19 perceptual loss: it needs torchvision's VGG19 weights .* given with --vgg-weights or GANTRY_VGG_WEIGHTS/g)?.length, 1, r.stderr);
  assert.equal(JSON.parse(readFileSync(join(dir, 'run', 'config.json'), 'utf8')).model.instances, false);
  const t = gantry('translate', '--run', join(dir, 'run'), '--labels', join(pairs, 'test_label', 'scene_000.png'), '--out', join(dir, 't.png'));
  assert.equal(t.code, 0, t.stderr);
});

test('coarse to fine: a local run starts from a global run (--init-from), trains G2 alone while G1 is fixed, then all of G; resume across the switch is exact', () => {
  const dir = tempDir();
  const globalConfig = join(dir, 'global.json');
  writeFileSync(globalConfig, JSON.stringify(CONFIG));
  const globalRun = join(dir, 'global');
  assert.equal(gantry('train', 'pix2pixhd', '--data', `pairs:${pairs}`, '--config', globalConfig, '--steps', '2', '--out', globalRun, '--quiet').code, 0);
  // G1 of the local run is built at 2 ngf: 4 here takes the global run of ngf 8.
  const localConfig = join(dir, 'local.json');
  writeFileSync(localConfig, JSON.stringify({ ...CONFIG, model: { ...CONFIG.model, netG: 'local', ngf: 4, fixGlobalSteps: 2 } }));
  const local = join(dir, 'local');
  const r = gantry('train', 'pix2pixhd', '--data', `pairs:${pairs}`, '--config', localConfig, '--steps', '4', '--out', local, '--init-from', globalRun);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /initialised from .*global: G 14\/14, G2 0\/20, D 16\/16 tensors \(the rest as seeded\)/);
  const start = tensors(join(globalRun, 'checkpoint.safetensors'));
  const at2 = tensors(join(local, 'checkpoint.previous.safetensors')); // written at step 2, before the last
  const at4 = tensors(join(local, 'checkpoint.safetensors'));
  const g1 = Object.keys(at4).filter((k) => k.startsWith('net/G/'));
  assert.equal(g1.length, 14);
  for (const k of g1) assert.deepEqual(at2[k], start[k], `${k} fixed for the first 2 steps`);
  assert.ok(g1.some((k) => at4[k].some((v, i) => v !== start[k][i])), 'G1 trains after the switch');
  const g2 = Object.keys(at4).filter((k) => k.startsWith('net/G2/'));
  assert.ok(g2.every((k) => at2[k] !== undefined) && g2.some((k) => at2[k].some((v, i) => v !== at4[k][i])));

  // Stopped at the switch and resumed: the same weights and optimizer state as the run straight through.
  const parts = join(dir, 'parts');
  assert.equal(gantry('train', 'pix2pixhd', '--data', `pairs:${pairs}`, '--config', localConfig, '--steps', '2', '--out', parts, '--init-from', globalRun, '--quiet').code, 0);
  assert.equal(gantry('train', '--resume', '--out', parts, '--steps', '4', '--quiet').code, 0);
  assert.deepEqual(tensors(join(parts, 'checkpoint.safetensors')), at4);

  // A local run of ngf 8 builds G1 at 16: the global run of ngf 8 does not fit. --init-from is for new runs.
  const wideConfig = join(dir, 'wide.json');
  writeFileSync(wideConfig, JSON.stringify({ ...CONFIG, model: { ...CONFIG.model, netG: 'local' } }));
  const wrong = gantry('train', 'pix2pixhd', '--data', `pairs:${pairs}`, '--config', wideConfig, '--steps', '1', '--out', join(dir, 'wrong'), '--init-from', globalRun);
  assert.match(wrong.stderr, /--init-from .*global: G tensor model\.1\.weight is 7x7x4x8 there but 7x7x4x16 in this model; build this run with sizes that fit/);
  assert.ok(!existsSync(join(dir, 'wrong')));
  assert.match(gantry('train', '--resume', '--out', local, '--init-from', globalRun).stderr, /--init-from starts a new run/);
});

test('instance features: E trains with G, a finished run learns its styles, translate chooses them per class, per object or from a photo', () => {
  const dir = tempDir();
  const config = join(dir, 'config.json');
  writeFileSync(config, JSON.stringify({ ...CONFIG, model: { ...CONFIG.model, featNum: 3, nef: 4, nDownE: 2 } }));
  const runDir = join(dir, 'run');
  const r = gantry('train', 'pix2pixhd', '--data', `pairs:${pairs}`, '--config', config, '--steps', '3', '--out', runDir);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /styles: \d+ instances of 3 classes clustered into \d+ styles/);
  const styles = JSON.parse(readFileSync(join(runDir, 'styles.json'), 'utf8'));
  assert.equal(styles.featNum, 3);
  assert.deepEqual(Object.keys(styles.clusters).sort(), ['0', '1', '2']);
  assert.ok(Object.values(styles.clusters as Record<string, number[][]>).every((c) => c.length >= 1 && c.length <= 10 && c.every((v) => v.length === 3)));
  const ckpt = Object.keys(tensors(join(runDir, 'checkpoint.safetensors')));
  assert.ok(ckpt.some((k) => k.startsWith('net/E/model.')) && ckpt.some((k) => k.startsWith('opt/E/m/')), 'E and its Adam are checkpointed');

  const map = ['--labels', join(pairs, 'test_label', 'scene_001.png'), '--instances', join(pairs, 'test_inst', 'scene_001.png')];
  const draw = (name: string, ...args: string[]) => {
    const t = gantry('translate', '--run', runDir, ...map, '--out', join(dir, name), ...args);
    assert.equal(t.code, 0, t.stderr);
    return readImageFile(join(dir, name));
  };
  const row = draw('row.png', '--styles', '3');
  assert.deepEqual([row.width, row.height], [3 * 66 + 2, 36], 'three variants side by side');
  assert.deepEqual(draw('again.png', '--styles', '3').data, row.data, 'seeded');
  const all = draw('all.png', '--all-styles', '2');
  assert.equal(all.width, styles.clusters['2'].length * 66 + 2, 'one image per style of class 2');
  draw('fixed.png', '--clusters', '2:0,0:0', '--cluster', '0');
  const photo = draw('photo.png', '--style-from', join(pairs, 'test_img', 'scene_001.png'));
  assert.deepEqual([photo.width, photo.height], [64, 32]);
  assert.match(gantry('translate', '--run', runDir, ...map, '--out', join(dir, 'x.png'), '--all-styles', '9').stderr, /--all-styles "9": expected a label id 0\.\.2/);
  const count = styles.clusters['2'].length;
  assert.match(gantry('translate', '--run', runDir, ...map, '--out', join(dir, 'x.png'), '--clusters', `2:${count}`).stderr, new RegExp(`^gantry translate: --clusters 2:${count}: the run learned ${count} styles? of that class \\(0\\.\\.${count - 1}\\)\n$`));
  assert.match(gantry('translate', '--run', runDir, ...map, '--out', join(dir, 'x.png'), '--cluster', '1', '--seed', '4').stderr, /^gantry translate: --seed does not go with --cluster /);
  assert.match(gantry('translate', '--run', runDir, ...map, '--out', join(dir, 'x.png'), '--style-from', join(pairs, 'test_img', 'scene_001.png'), '--seed', '4').stderr, /^gantry translate: --seed does not go with --style-from /);
  assert.match(gantry('translate', '--run', runDir, ...map, '--out', join(dir, 'x.png'), '--style-from', join(pairs, 'test_img', 'scene_001.png'), '--styles', '2', '--cluster', '0').stderr, /^gantry translate: --cluster, --styles do not go with --style-from \(the photo gives every style\); see `gantry translate --help`\n$/);
  assert.match(gantry('translate', '--run', runDir, ...map, '--out', join(dir, 'x.png'), '--cluster', '1', '--styles', '3').stderr, /^gantry translate: --cluster 1 gives every object one style, so --styles 3 would draw the same image 3 times; fix some classes with --clusters CLASS:K instead, or leave out --styles\n$/);
  // A class of more styles than a row holds (as a clustered features file with a large n_clusters can have) is one line.
  writeFileSync(join(runDir, 'styles.json'), JSON.stringify({ ...styles, clusters: { ...styles.clusters, 2: Array.from({ length: 65 }, () => [0, 0, 0]) } }));
  assert.match(gantry('translate', '--run', runDir, ...map, '--out', join(dir, 'x.png'), '--all-styles', '2').stderr, /--all-styles 2: 65 styles, more than the 64 drawn side by side; choose one at a time with --clusters 2:K/);
  writeFileSync(join(runDir, 'styles.json'), JSON.stringify(styles));

  // FID and the segmentation score of a run with styles draw each held-out object in a seeded random style.
  const fid = gantry('eval', 'fid', '--real', `pairs:${pairs}?split=test`, '--fake', runDir, '--n', '4', '--weights', join(root, 'test', 'golden', 'inception_w8.pth'), '--feature-dim', '64', '--quiet');
  assert.equal(fid.code, 0, fid.stderr);

  const f = gantry('features', '--run', runDir, '--clusters', '2');
  assert.equal(f.code, 0, f.stderr);
  const fewer = JSON.parse(readFileSync(join(runDir, 'styles.json'), 'utf8'));
  assert.ok(Object.values(fewer.clusters as Record<string, number[][]>).every((c) => c.length <= 2));

  // A run without an encoder has no styles to choose.
  writeFileSync(config, JSON.stringify(CONFIG));
  assert.equal(gantry('train', 'pix2pixhd', '--data', `pairs:${pairs}`, '--config', config, '--steps', '1', '--out', join(dir, 'plain'), '--quiet').code, 0);
  assert.match(gantry('translate', '--run', join(dir, 'plain'), ...map, '--out', join(dir, 'x.png'), '--styles', '2').stderr, /--styles: this run has no instance features \(model\.featNum 0\)/);
  assert.match(gantry('features', '--run', join(dir, 'plain')).stderr, /has no instance feature encoder/);
});

test('a run with instance features scores FID while training (an eval section): held-out objects drawn in styles learned from the weights scored', () => {
  const dir = tempDir();
  const config = join(dir, 'config.json');
  const fid = { n: 4, weights: join(root, 'test', 'golden', 'inception_w8.pth'), featureDim: 64 };
  writeFileSync(config, JSON.stringify({ ...CONFIG, model: { ...CONFIG.model, featNum: 3, nef: 4, nDownE: 2 }, eval: { fid, every: 2 } }));
  const runDir = join(dir, 'run');
  const r = gantry('train', 'pix2pixhd', '--data', `pairs:${pairs}`, '--config', config, '--steps', '4', '--out', runDir);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /step 2: fid [\d.]+ \(the lowest so far: kept in \S+best\)\n[^]*step 4: fid [\d.]+( \(the lowest so far: kept in \S+best\))?\n[^]*styles: \d+ instances of 3 classes/);
  const scored = readFileSync(join(runDir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((m) => m.fid !== undefined);
  assert.deepEqual(scored.map((m) => m.step), [2, 4]);
  assert.ok(existsSync(join(runDir, 'styles.json')));
  // The best checkpoint keeps the styles learned from its own weights, so translate draws with them.
  const best = scored.reduce((a, b) => (b.fid < a.fid ? b : a));
  assert.deepEqual(JSON.parse(readFileSync(join(runDir, 'best', 'best.json'), 'utf8')), { step: best.step, fid: best.fid });
  assert.ok(existsSync(join(runDir, 'best', 'styles.json')));
  const map = ['--labels', join(pairs, 'test_label', 'scene_001.png'), '--instances', join(pairs, 'test_inst', 'scene_001.png')];
  const t = gantry('translate', '--run', join(runDir, 'best'), ...map, '--styles', '2', '--out', join(dir, 'best.png'));
  assert.equal(t.code, 0, t.stderr);
});

test('labelFeat (the official --label_feat): E pools per label region though the data has instance maps, and styles are learned and drawn one per label region', () => {
  const dir = tempDir();
  const config = join(dir, 'config.json');
  writeFileSync(config, JSON.stringify({ ...CONFIG, model: { ...CONFIG.model, featNum: 3, nef: 4, nDownE: 2, labelFeat: true } }));
  const runDir = join(dir, 'run');
  const r = gantry('train', 'pix2pixhd', '--data', `pairs:${pairs}`, '--config', config, '--steps', '2', '--out', runDir);
  assert.equal(r.code, 0, r.stderr);
  // The fixture's odd scenes hold two cars: as label regions they are one.
  const regions = Number(/styles: (\d+) label regions of 3 classes clustered into \d+ styles/.exec(r.stderr)?.[1]);
  assert.ok(regions > 0, r.stderr);
  const map = ['--labels', join(pairs, 'test_label', 'scene_001.png'), '--instances', join(pairs, 'test_inst', 'scene_001.png')];
  const t = gantry('translate', '--run', runDir, ...map, '--styles', '2', '--out', join(dir, 'two.png'));
  assert.equal(t.code, 0, t.stderr);
  assert.match(gantry('translate', '--run', runDir, ...map, '--label-feat', '--out', join(dir, 'x.png')).stderr, /--label-feat goes with --weights/);
  // Without the flag the same data gives more objects: each car its own.
  writeFileSync(config, JSON.stringify({ ...CONFIG, model: { ...CONFIG.model, featNum: 3, nef: 4, nDownE: 2 } }));
  const perInstance = gantry('train', 'pix2pixhd', '--data', `pairs:${pairs}`, '--config', config, '--steps', '1', '--out', join(dir, 'instances'));
  assert.equal(perInstance.code, 0, perInstance.stderr);
  const instances = Number(/styles: (\d+) instances of 3 classes/.exec(perInstance.stderr)?.[1]);
  assert.ok(instances > regions, `${instances} instances, ${regions} label regions`);
  writeFileSync(config, JSON.stringify({ ...CONFIG, model: { ...CONFIG.model, labelFeat: true } }));
  const noEncoder = gantry('train', 'pix2pixhd', '--data', `pairs:${pairs}`, '--config', config, '--steps', '1', '--out', join(dir, 'bad'));
  assert.match(noEncoder.stderr, /model\.labelFeat pools the feature encoder's features per label, but model\.featNum is 0 \(no encoder\); set model\.featNum \(3 in the paper\) or leave labelFeat out/);
  assert.ok(!existsSync(join(dir, 'bad')));
});

/**
 * NVIDIA's 512p -> 1024p feature recipe: precompute_feature_maps.py writes the 512p run's encoded objects as
 * train_feat/, and the 1024p run trains with --load_features on them (no encoder of its own), from the
 * 512p run's G1 (--load_pretrain).
 */
test('loadFeatures (the official --load_features): features --maps-out writes a run\'s encoded objects as train_feat/, and a local run at twice the size trains on them without an encoder, learns its styles from them and draws them', () => {
  const dir = tempDir();
  const data = join(dir, 'pairs');
  cpSync(pairs, data, { recursive: true });
  const config = join(dir, 'small.json');
  const small = join(dir, 'small');
  writeFileSync(config, JSON.stringify({ ...CONFIG, model: { ...CONFIG.model, height: 16, width: 32, featNum: 3, nef: 4, nDownE: 2 } }));
  assert.equal(gantry('train', 'pix2pixhd', '--data', `pairs:${data}`, '--config', config, '--steps', '2', '--out', small, '--quiet').code, 0);

  const feat = join(data, 'train_feat');
  const m = gantry('features', '--run', small, '--maps-out', feat);
  assert.equal(m.code, 0, m.stderr);
  assert.equal(m.stdout, `feature maps: 6 written into ${feat}\n`);
  assert.doesNotMatch(m.stderr, /note:/);
  assert.deepEqual(readdirSync(feat).sort(), readdirSync(join(data, 'train_label')).sort());
  // At the label map's size, one colour per object: the instance map's objects, each painted whole.
  for (const name of readdirSync(feat)) {
    const map = readImageFile(join(feat, name));
    const inst = readIdMap(join(data, 'train_inst', name), 'instance map');
    assert.deepEqual([map.width, map.height], [inst.width, inst.height]);
    const k = map.channels; // pngjs writes RGBA, opaque
    const colour = new Map<number, string>();
    for (let p = 0; p < inst.ids.length; p++) {
      const c = Array.from(map.data.subarray(k * p, k * p + 3)).join(',');
      assert.equal(colour.get(inst.ids[p]) ?? c, c, `${name}: instance ${inst.ids[p]} is one colour`);
      colour.set(inst.ids[p], c);
    }
    assert.ok(new Set(colour.values()).size > 1, `${name}: objects differ`);
  }
  assert.match(gantry('features', '--run', small, '--maps-out', feat).stderr, /--maps-out .*train_feat already holds 6 PNG files \(scene_000\.png, \.\.\.\); give an empty or new folder, or remove them/);
  assert.match(gantry('features', '--run', small, '--maps-out', join(dir, 'x'), '--clusters', '3').stderr, /^gantry features: --clusters does not go with --maps-out, which encodes the run's own training data; see `gantry features --help`\n$/);
  const elsewhere = gantry('features', '--run', small, '--maps-out', join(dir, 'elsewhere'));
  assert.equal(elsewhere.code, 0, elsewhere.stderr);
  assert.ok(elsewhere.stderr.includes(`note: a run with model.loadFeatures on this data reads them from ${feat}; move them there`), elsewhere.stderr);

  // The local run at 32x64: G1 (ngf 8 at 16x32) from the small run, G reading the maps; no E.
  const localConfig = join(dir, 'local.json');
  writeFileSync(localConfig, JSON.stringify({ ...CONFIG, model: { ...CONFIG.model, netG: 'local', ngf: 4, featNum: 3, loadFeatures: true, fixGlobalSteps: 1 } }));
  const large = join(dir, 'large');
  const r = gantry('train', 'pix2pixhd', '--data', `pairs:${data}`, '--config', localConfig, '--steps', '3', '--out', large, '--init-from', small);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /initialised from .*small: G 14\/14, G2 0\/20, D 16\/16 tensors/);
  assert.match(r.stderr, /styles: \d+ instances of 3 classes clustered into \d+ styles/);
  const ckpt = Object.keys(tensors(join(large, 'checkpoint.safetensors')));
  assert.ok(!ckpt.some((k) => k.startsWith('net/E/')), 'no encoder');
  // Stopped and resumed: the same weights (the maps are mirrored with their pairs, seeded by step).
  const parts = join(dir, 'parts');
  assert.equal(gantry('train', 'pix2pixhd', '--data', `pairs:${data}`, '--config', localConfig, '--steps', '2', '--out', parts, '--init-from', small, '--quiet').code, 0);
  assert.equal(gantry('train', '--resume', '--out', parts, '--steps', '3', '--quiet').code, 0);
  assert.deepEqual(tensors(join(parts, 'checkpoint.safetensors')), tensors(join(large, 'checkpoint.safetensors')));
  const styles = JSON.parse(readFileSync(join(large, 'styles.json'), 'utf8'));
  for (const centre of Object.values(styles.clusters as Record<string, number[][]>).flat()) assert.equal(centre.length, 3);
  const map = ['--labels', join(pairs, 'test_label', 'scene_001.png'), '--instances', join(pairs, 'test_inst', 'scene_001.png')];
  const t = gantry('translate', '--run', large, ...map, '--styles', '3', '--out', join(dir, 'row.png'));
  assert.equal(t.code, 0, t.stderr);
  const row = readImageFile(join(dir, 'row.png'));
  const column = (v: number) => Array.from({ length: 32 }, (_, y) => Array.from(row.data.subarray(((y + 2) * row.width + 2 + v * 66) * 3, ((y + 2) * row.width + 2 + v * 66 + 64) * 3)).join()).join();
  assert.ok(new Set([0, 1, 2].map(column)).size > 1, 'styles change the image: G reads the features');
  assert.match(gantry('translate', '--run', large, ...map, '--style-from', join(pairs, 'test_img', 'scene_001.png'), '--out', join(dir, 'x.png')).stderr, /was trained on precomputed feature maps \(model\.loadFeatures\) and has no encoder to read a photo with/);
  // Its page paints with the learned styles; FID draws held-out maps (no train_feat there) in them too.
  const site = join(dir, 'site');
  const exported = gantry('export', '--run', large, '--out', site, '--no-page');
  assert.equal(exported.code, 0, exported.stderr);
  assert.deepEqual(JSON.parse(readFileSync(join(site, 'model.json'), 'utf8')).styles.clusters, styles.clusters);
  const fid = gantry('eval', 'fid', '--real', `pairs:${pairs}?split=test`, '--fake', large, '--n', '4', '--weights', join(root, 'test', 'golden', 'inception_w8.pth'), '--feature-dim', '64', '--quiet');
  assert.equal(fid.code, 0, fid.stderr);
  const relearned = gantry('features', '--run', large, '--clusters', '2');
  assert.equal(relearned.code, 0, relearned.stderr);
  assert.ok(Object.values(JSON.parse(readFileSync(join(large, 'styles.json'), 'utf8')).clusters as Record<string, number[][]>).every((c) => c.length <= 2));

  // Data without train_feat/, a featNum the maps do not have, a run without an encoder: one line each, no run left.
  const bad = (model: Record<string, unknown>, spec: string, pattern: RegExp) => {
    writeFileSync(localConfig, JSON.stringify({ ...CONFIG, model: { ...CONFIG.model, ...model } }));
    const out = join(dir, 'bad');
    assert.match(gantry('train', 'pix2pixhd', '--data', spec, '--config', localConfig, '--steps', '1', '--out', out).stderr, pattern);
    assert.ok(!existsSync(out));
  };
  bad({ featNum: 3, loadFeatures: true }, `pairs:${pairs}`, /model\.loadFeatures reads precomputed feature maps, but the data has none; give pairs:DIR a train_feat\/ folder of them \(gantry features --run RUN --maps-out DIR\/train_feat/);
  bad({ featNum: 2, loadFeatures: true }, `pairs:${data}`, /model\.loadFeatures reads precomputed feature maps, 3 levels a pixel \(RGB images\), but model\.featNum is 2; set model\.featNum to 3/);
  assert.match(gantry('features', '--run', large, '--maps-out', join(dir, 'again')).stderr, /has no feature encoder to write feature maps with/);
  assert.ok(!existsSync(join(dir, 'again')));
});

test('translate --weights reads generators of NVIDIA\'s code (global and local, their state-dict names) and draws what PyTorch draws', () => {
  const dir = tempDir();
  const golden = join(root, 'test', 'golden');
  const g = readPix2PixHDGolden();
  const [n, h, w] = g.size;
  const maps = writePix2PixHDGoldenMaps(g, dir);
  for (const [file, want] of [['pix2pixhd_G.pth', g.fake], ['pix2pixhd_G_local.pth', g.fakeLocal]] as const) {
    const out = join(dir, file.replace('.pth', ''));
    const r = gantry('translate', '--weights', join(golden, file), '--label-nc', String(g.config.labelNc), '--labels', maps.labels, '--instances', maps.instances, '--out', out, '--quiet');
    assert.equal(r.code, 0, r.stderr);
    for (let i = 0; i < n; i++) {
      const img = readImageFile(join(out, `map${i}.png`));
      assert.deepEqual([img.width, img.height], [w, h]);
      const worst = levelsOff(img.data, 4, want, i, h * w);
      assert.ok(worst <= 1, `${file} map ${i}: off by ${worst} levels from PyTorch's image`);
    }
  }
  const wrongNc = gantry('translate', '--weights', join(golden, 'pix2pixhd_G.pth'), '--label-nc', '35', '--labels', join(dir, 'labels'), '--out', join(dir, 'x'));
  assert.match(wrongNc.stderr, /pix2pixhd_G\.pth reads 7 input channels; with --label-nc 35 that leaves -28 for the instance edge map, which takes 0 or 1\. Give the --label-nc it was trained with/);
  assert.match(gantry('translate', '--weights', join(golden, 'vgg19_w8.pth'), '--label-nc', '6', '--labels', join(dir, 'labels'), '--out', join(dir, 'x')).stderr, /is not a pix2pixHD generator \(no model\.1\.weight\)/);
  assert.match(gantry('translate', '--weights', join(golden, 'pix2pixhd_G.pth'), '--labels', join(dir, 'labels'), '--out', join(dir, 'x')).stderr, /--weights needs --label-nc/);
});

test('translate --weights --features: a generator trained with instance features by NVIDIA\'s code draws each object in the clustered style chosen, as PyTorch does; wrong mixes are one line', () => {
  const dir = tempDir();
  const golden = join(root, 'test', 'golden');
  const g = readPix2PixHDGolden();
  const [n, h, w] = g.size;
  const maps = writePix2PixHDGoldenMaps(g, dir);
  const fg = JSON.parse(readFileSync(join(golden, 'pix2pixhd_features_golden.json'), 'utf8'));
  const weights = ['--weights', join(golden, 'pix2pixhd_G_feat.pth'), '--label-nc', '6'];
  const features = ['--features', join(golden, 'pix2pixhd_features_clustered.npy')];
  const clusters = Object.entries(fg.picks as Record<string, number>).map(([label, k]) => `${label}:${k}`).join(',');
  const out = join(dir, 'out');
  const r = gantry('translate', ...weights, ...features, '--clusters', clusters, '--labels', maps.labels, '--instances', maps.instances, '--out', out, '--quiet');
  assert.equal(r.code, 0, r.stderr);
  for (let i = 0; i < n; i++) {
    const worst = levelsOff(readImageFile(join(out, `map${i}.png`)).data, 4, fg.fake, i, h * w);
    assert.ok(worst <= 1, `map ${i}: off by ${worst} levels from PyTorch's image`);
  }
  // Styles learned here from data with NVIDIA's encoder (what encode_features.py does), then drawn from.
  const encoder = ['--encoder', join(golden, 'pix2pixhd_E.pth')];
  const learned = join(dir, 'styles.json');
  const l = gantry('features', ...weights, ...encoder, '--height', '32', '--width', '64', '--data', `pairs:${pairs}`, '--out', learned, '--clusters', '2');
  assert.equal(l.code, 0, l.stderr);
  assert.match(l.stdout, /^styles: \d+ instances of 3 classes clustered into \d+ styles \(.*styles\.json\)$/m);
  const styles = JSON.parse(readFileSync(learned, 'utf8'));
  assert.equal(styles.featNum, 3);
  assert.ok(Object.values(styles.clusters as Record<string, number[][]>).every((c) => c.length >= 1 && c.length <= 2));
  for (const [args, message] of [
    [[...weights, '--height', '32', '--width', '64', '--data', `pairs:${pairs}`, '--out', learned], /--weights needs --encoder latest_net_E\.pth .*, --data pairs:DIR .*, --height H --width W .* and --out STYLES\.json/],
    [[...weights, ...encoder, '--data', `pairs:${pairs}`, '--out', learned], /--height H --width W \(the size it was trained at\)/],
    [[...weights, ...encoder, '--height', '32', '--width', '64', '--data', `pairs:${pairs}`, '--out', join(dir, 'styles.txt')], /--out .*styles\.txt: gantry writes styles as JSON; name the file \.json/],
    [['--run', dir, '--data', `pairs:${pairs}`], /--data goes with --weights; a run learns from its own data/],
  ] as const) assert.match(gantry('features', ...args).stderr, message);
  // A generator trained with --label_feat learns a style per label region, and exports saying so.
  const byLabel = gantry('features', ...weights, ...encoder, '--label-feat', '--height', '32', '--width', '64', '--data', `pairs:${pairs}`, '--out', join(dir, 'by-label.json'), '--clusters', '2');
  assert.equal(byLabel.code, 0, byLabel.stderr);
  const regions = Number(/^styles: (\d+) label regions of 3 classes/m.exec(byLabel.stdout)?.[1]);
  assert.ok(regions > 0 && regions < Number(/^styles: (\d+) instances/m.exec(l.stdout)?.[1]), `${byLabel.stdout} ${l.stdout}`);
  const labelSite = join(dir, 'label-site');
  const ls = gantry('export', ...weights, '--features', join(dir, 'by-label.json'), '--label-feat', '--labels', maps.labelFiles[0], '--instances', maps.instanceFiles[0], '--out', labelSite, '--no-page');
  assert.equal(ls.code, 0, ls.stderr);
  assert.equal(JSON.parse(readFileSync(join(labelSite, 'model.json'), 'utf8')).info.conditioning.labelFeat, true);
  const fromLearned = join(dir, 'learned.png');
  assert.equal(gantry('translate', ...weights, '--features', learned, '--labels', maps.labelFiles[0], '--instances', maps.instanceFiles[0], '--out', fromLearned).code, 0);
  // With its encoder alone, a generator takes a photo's styles.
  const photo = join(dir, 'photo.png');
  const p = gantry('translate', ...weights, ...encoder, '--labels', maps.labelFiles[0], '--instances', maps.instanceFiles[0], '--style-from', fromLearned, '--out', photo);
  assert.equal(p.code, 0, p.stderr);
  assert.deepEqual([readImageFile(photo).width, readImageFile(photo).height], [w, h]);
  // Exported with its encoder, the painter takes photos' styles too (test/web/generator.test.ts draws them).
  const site = join(dir, 'site');
  const e = gantry('export', ...weights, ...features, ...encoder, '--labels', maps.labelFiles[0], '--instances', maps.instanceFiles[0], '--out', site, '--no-page');
  assert.equal(e.code, 0, e.stderr);
  assert.deepEqual(JSON.parse(readFileSync(join(site, 'model.json'), 'utf8')).networks, ['G', 'E']);
  const badEncoder = gantry('export', ...weights, ...features, '--encoder', join(golden, 'pix2pixhd_G.pth'), '--labels', maps.labelFiles[0], '--out', join(dir, 'bad-site'));
  assert.match(badEncoder.stderr, /pix2pixhd_G\.pth is not pix2pixHD's feature encoder/);
  assert.ok(!existsSync(join(dir, 'bad-site')));
  assert.match(gantry('studio', '--run', dir, '--encoder', join(golden, 'pix2pixhd_E.pth')).stderr, /--encoder goes with --weights/);

  const x = join(dir, 'x.png');
  const refused: [string[], RegExp][] = [
    [[...weights, ...encoder, '--labels', maps.labelFiles[0]], /pix2pixhd_G_feat\.pth reads instance features: give its styles, --features features_clustered_010\.npy \(or learn them: gantry features/],
    [[...weights, '--features', join(golden, 'pix2pixhd_golden.json'), '--labels', maps.labelFiles[0]], /pix2pixhd_golden\.json is not a styles file \(featNum: .*\); make it again with `gantry features --weights/],
    [[...weights, '--labels', maps.labelFiles[0]], /reads 10 input channels; with --label-nc 6 that leaves 4 for the instance edge map, which takes 0 or 1\. A generator trained with instance features \(--instance_feat\) reads them too: give its clustered features, --features features_clustered_010\.npy/],
    [[...weights, ...features, '--labels', maps.labelFiles[0], '--style-from', maps.labelFiles[0]], /--style-from encodes the photo with the generator's feature encoder: give it, --encoder latest_net_E\.pth/],
    [[...weights, ...features, '--encoder', join(golden, 'pix2pixhd_G.pth'), '--labels', maps.labelFiles[0]], /pix2pixhd_G\.pth is not pix2pixHD's feature encoder/],
    [['--weights', join(golden, 'pix2pixhd_G.pth'), '--label-nc', '6', ...features, '--labels', maps.labelFiles[0]], /reads 7 input channels; with --label-nc 6 and 3 feature channels that leaves -2 for the instance edge map, which takes 0 or 1\. Give the --label-nc it was trained with \(Cityscapes: 35\), and its own clustered features or encoder \(or neither/],
    [['--run', dir, ...features, '--labels', maps.labelFiles[0]], /--features goes with --weights/],
    [[...weights, ...features, '--labels', maps.labelFiles[0], '--styles', '65'], /--styles 65: at most 64 variants side by side; for more, translate again with another --seed/],
  ];
  for (const [args, message] of refused) {
    const e = gantry('translate', ...args, '--out', x);
    assert.equal(e.code, 1, e.stderr);
    assert.match(e.stderr, message);
    assert.equal(e.stderr.trim().split('\n').length, 1, e.stderr);
    assert.ok(!existsSync(x));
  }
});

test('export --weights writes NVIDIA\'s generator as a painter page, with the user\'s maps to start from; a wrong mix of flags is one line and writes nothing', () => {
  const dir = tempDir();
  const golden = join(root, 'test', 'golden');
  const g = readPix2PixHDGolden();
  const [n, h, w] = g.size;
  const maps = writePix2PixHDGoldenMaps(g, dir);
  const site = join(dir, 'site');
  const r = gantry('export', '--weights', join(golden, 'pix2pixhd_G_local.pth'), '--label-nc', '6', '--labels', maps.labels, '--instances', maps.instances, '--out', site);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /site\/ \(pix2pixhd_G_local\.pth\): model\.json .*weights\.safetensors .*explorer\.js .* in all/);
  const model = JSON.parse(readFileSync(join(site, 'model.json'), 'utf8'));
  assert.deepEqual([model.family, model.run, model.origin, model.networks], ['pix2pixhd', 'pix2pixhd_G_local.pth', 'NVIDIA\'s pix2pixHD code', ['G', 'G2']]);
  assert.deepEqual([model.info.height, model.info.width, model.info.conditioning.labelCount, model.info.conditioning.instances], [h, w, 6, true]);
  const stored = readSafetensors(join(site, 'weights.safetensors')).tensors;
  assert.deepEqual([stored['example/labels'].shape, stored['example/instances'].shape], [[n, h, w], [n, h, w]]);
  assert.deepEqual(Array.from(stored['example/labels'].data), g.labels);
  // Without maps, at the size asked for (rounded to what G halves, as the official test script rounds).
  const blank = join(dir, 'blank');
  assert.equal(gantry('export', '--weights', join(golden, 'pix2pixhd_G.pth'), '--label-nc', '6', '--height', '30', '--width', '50', '--out', blank, '--no-page').code, 0);
  const plain = JSON.parse(readFileSync(join(blank, 'model.json'), 'utf8'));
  assert.deepEqual([plain.info.height, plain.info.width, plain.networks, readdirSync(blank).sort()], [32, 52, ['G'], ['model.json', 'weights.safetensors']]);
  const bad = join(dir, 'bad');
  const refused: [string[], RegExp][] = [
    [['--weights', join(golden, 'pix2pixhd_G.pth'), '--label-nc', '6'], /give the size to draw at, --height H --width W .*or --labels MAP\.png\|DIR to take it from a map/],
    [['--weights', join(golden, 'pix2pixhd_G.pth'), '--label-nc', '6', '--height', '32'], /--height 32 needs --width too/],
    [['--weights', join(golden, 'pix2pixhd_G.pth'), '--height', '32', '--width', '32'], /--weights needs --label-nc/],
    [['--weights', join(golden, 'pix2pixhd_G.pth'), '--run', dir, '--label-nc', '6'], /give --run RUN_DIR or --weights FILE, not both/],
    [['--run', dir, '--labels', maps.labels], /--labels goes with --weights; a run knows its labels, size and example maps/],
    [['--weights', join(golden, 'pix2pixhd_G.pth'), '--label-nc', '6', '--instances', maps.instances, '--height', '32', '--width', '32'], /--instances goes with --labels/],
    [['--weights', join(golden, 'vgg19_w8.pth'), '--label-nc', '6', '--labels', maps.labels], /vgg19_w8\.pth is not a pix2pixHD generator/],
    [['--weights', join(golden, 'pix2pixhd_G.pth'), '--label-nc', '4', '--labels', maps.labels], /reads 7 input channels; with --label-nc 4 that leaves 3/],
  ];
  for (const [args, message] of refused) {
    const e = gantry('export', ...args, '--out', bad);
    assert.equal(e.code, 1, e.stderr);
    assert.match(e.stderr, message);
    assert.equal(e.stderr.trim().split('\n').length, 1, e.stderr);
    assert.ok(!existsSync(bad), `${args.join(' ')}: nothing written`);
  }
});

test('a training step that would not fit in memory stops with one line, not a kill: a new run is not kept, a resumed one keeps its checkpoint', () => {
  const dir = tempDir();
  const config = join(dir, 'config.json');
  // Batch 4 at 256x256 peaks at 640-680 MB of resident memory (two steps, /usr/bin/time -v); the process
  // before it (the step-0 grid of one image included) holds under 350 MB. The cap lies between, with room.
  writeFileSync(config, JSON.stringify({ model: { height: 256 }, train: { batch: 4, samples: 1 } }));
  const run = join(dir, 'run');
  const capped = { GANTRY_MAX_MEMORY_MB: '450' };
  const fresh = gantryWith(capped, 'train', 'pix2pixhd', '--data', 'shapes:8', '--config', config, '--steps', '2', '--out', run);
  assert.equal(fresh.code, 1, fresh.stderr);
  assert.match(fresh.stderr, /^gantry train: pix2pixhd at 256x256, batch 4, step 1: out of memory: [\d.]+ [kMG]B more would not fit in the [\d.]+ [kMG]B left \(GANTRY_MAX_MEMORY_MB=450\); train with a smaller batch \(--batch\), image size or network \(the model section\), or a GPU \(--device webgpu\); nothing was trained, so \S+ is not kept\n$/m);
  assert.ok(!existsSync(run), 'no run folder is left behind');
  assert.equal(gantry('train', 'pix2pixhd', '--data', 'shapes:8', '--config', config, '--steps', '1', '--out', run, '--quiet').code, 0);
  const resumed = gantryWith(capped, 'train', '--resume', '--out', run, '--steps', '2');
  assert.equal(resumed.code, 1, resumed.stderr);
  assert.match(resumed.stderr, /^gantry train: pix2pixhd at 256x256, batch 4, step 2: out of memory: .*; \S+ keeps its checkpoint at step 1\n$/m);
  assert.equal(gantry('train', '--resume', '--out', run, '--steps', '2', '--quiet').code, 0, 'and it continues where there is the memory');
});

test('pictures as inputs (train_A/ + train_B/, the official --label_nc 0): trains, grids of input | result | real, resumes bit-exactly, translates pictures, scores FID, exports its test pictures; label-map tools are one line each', () => {
  const dir = tempDir();
  const data = writePicturePairs({ train: 6, test: 2, size: 32, dir: join(dir, 'data') });
  const config = join(dir, 'config.json');
  writeFileSync(config, JSON.stringify({ ...CONFIG, model: { ...CONFIG.model, width: 0 } }));
  const whole = join(dir, 'whole');
  const r = gantry('train', 'pix2pixhd', '--data', `pairs:${data}`, '--config', config, '--steps', '4', '--out', whole);
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /instance/, 'no instance maps are missing: pictures have none');
  const model = JSON.parse(readFileSync(join(whole, 'config.json'), 'utf8')).model;
  assert.deepEqual([model.pictures, model.labelNc, model.instances, model.featNum], [true, 0, false, 0]);
  // Each row: the input picture (the grey of its real one, read back exactly), the result, the real picture.
  const grid = readImageFile(join(whole, 'samples', 'step-000004.png'));
  assert.deepEqual([grid.width, grid.height], [3 * 34 + 2, 6 * 34 + 2]);
  const tile = (row: number, col: number) => {
    const out = new Uint8Array(32 * 32 * 3);
    for (let y = 0; y < 32; y++) for (let x = 0; x < 32; x++) for (let c = 0; c < 3; c++) out[(y * 32 + x) * 3 + c] = grid.data[((2 + row * 34 + y) * grid.width + 2 + col * 34 + x) * grid.channels + c];
    return out;
  };
  for (let row = 0; row < 6; row++) {
    assert.deepEqual(tile(row, 0), grey(tile(row, 2)), `row ${row}: input | result | real`);
    assert.notDeepEqual(tile(row, 1), tile(row, 2));
  }

  const parts = join(dir, 'parts');
  assert.equal(gantry('train', 'pix2pixhd', '--data', `pairs:${data}`, '--config', config, '--steps', '2', '--out', parts, '--quiet').code, 0);
  assert.equal(gantry('train', '--resume', '--out', parts, '--steps', '4', '--quiet').code, 0);
  assert.deepEqual(tensors(join(parts, 'checkpoint.safetensors')), tensors(join(whole, 'checkpoint.safetensors')));

  // A folder of pictures, and one of them alone: the same image.
  const out = join(dir, 'translated');
  const t = gantry('translate', '--run', whole, '--inputs', join(data, 'test_A'), '--out', out, '--quiet');
  assert.equal(t.code, 0, t.stderr);
  assert.deepEqual(readdirSync(out).sort(), ['pic_0000.png', 'pic_0001.png']);
  const one = join(dir, 'one.png');
  assert.equal(gantry('translate', '--run', whole, '--inputs', join(data, 'test_A', 'pic_0001.png'), '--out', one).code, 0);
  assert.deepEqual(readFileSync(one), readFileSync(join(out, 'pic_0001.png')));
  const oneLine = (args: string[], message: RegExp) => {
    const e = gantry(...args);
    assert.equal(e.code, 1, args.join(' '));
    assert.match(e.stderr, message);
    assert.equal(e.stderr.trim().split('\n').length, 1, e.stderr);
  };
  oneLine(['translate', '--run', whole, '--labels', join(data, 'test_A', 'pic_0001.png'), '--out', join(dir, 'x.png')], /--labels: .* was trained on pictures as inputs \(train_A\/\); give them with --inputs PICTURE\.png/);
  oneLine(['translate', '--run', whole, '--inputs', join(data, 'test_A'), '--instances', join(data, 'test_A'), '--out', join(dir, 'x')], /--instances does not go with --inputs/);
  oneLine(['sample', '--run', whole, '--out', join(dir, 's.png')], /this pix2pixhd run turns pictures into pictures; draw them with `gantry translate --run RUN --inputs PICTURE\.png`/);
  oneLine(['eval', 'segmentation', '--run', whole, '--segmenter', whole], /draws from pictures \(train_A\/\), not label maps, so there are no labels to score its images against/);
  oneLine(['train', 'segmenter', '--data', `pairs:${data}`, '--out', join(dir, 'seg')], /segmenter learns label maps from images, and this data's inputs are pictures/);
  assert.equal(existsSync(join(dir, 'seg')), false, 'a refused run leaves no folder');
  writeFileSync(join(dir, 'labels.json'), JSON.stringify({ ...CONFIG, model: { ...CONFIG.model, width: 0, labelNc: 4 } }));
  oneLine(['train', 'pix2pixhd', '--data', `pairs:${data}`, '--config', join(dir, 'labels.json'), '--out', join(dir, 'y')], /model\.labelNc is 4, but the data's inputs are pictures \(train_A\/\), read as their three channels; leave labelNc out/);
  const labelRun = join(dir, 'labels');
  assert.equal(gantry('train', 'pix2pixhd', '--data', `pairs:${pairs}`, '--config', config, '--steps', '1', '--out', labelRun, '--quiet').code, 0);
  oneLine(['translate', '--run', labelRun, '--inputs', join(data, 'test_A'), '--out', join(dir, 'z')], /--inputs: .* turns label maps into images; give them with --labels MAP\.png/);

  const fid = gantry('eval', 'fid', '--real', `pairs:${data}?split=test`, '--fake', whole, '--n', '4', '--weights', join(root, 'test', 'golden', 'inception_w8.pth'), '--feature-dim', '64', '--quiet');
  assert.equal(fid.code, 0, fid.stderr);
  assert.ok(Number.isFinite(JSON.parse(fid.stdout).value));
  // The page starts from the test pictures (test/web/browser.test.ts draws them).
  const site = join(dir, 'site');
  assert.equal(gantry('export', '--run', whole, '--out', site, '--no-page').code, 0);
  assert.deepEqual(readSafetensors(join(site, 'weights.safetensors')).tensors['example/labels'].shape, [2, 32, 32]);
});

test('pix2pix\'s aligned layout from the CLI (train/ + val/ of A | B side by side, ?direction=BtoA): trains B to A, scores and exports the held-out val/ pictures the same way round', () => {
  const dir = tempDir();
  const separate = writePicturePairs({ train: 4, test: 2, size: 16, dir: join(dir, 'separate') });
  const data = sideBySide(separate, 'train', join(dir, 'aligned'));
  sideBySide(separate, 'val', data, 'test');
  const spec = `pairs:${data}?direction=BtoA`;
  const config = join(dir, 'config.json');
  writeFileSync(config, JSON.stringify({ model: { height: 16, ngf: 4, nDown: 2, nBlocks: 1, ndf: 4, nLayers: 2, numD: 1 }, train: { batch: 2, sampleEvery: 2 } }));
  const run = join(dir, 'run');
  const r = gantry('train', 'pix2pixhd', '--data', spec, '--config', config, '--steps', '2', '--out', run, '--quiet');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(JSON.parse(readFileSync(join(run, 'config.json'), 'utf8')).model.pictures, true);
  // BtoA: each grid row's input is the coloured picture and its real one the grey.
  const grid = readImageFile(join(run, 'samples', 'step-000002.png'));
  const tile = (col: number) => Array.from({ length: 16 * 16 * 3 }, (_, k) => grid.data[((2 + Math.floor(k / 48)) * grid.width + 2 + col * 18 + Math.floor((k % 48) / 3)) * grid.channels + (k % 3)]);
  assert.deepEqual(Array.from(grey(Uint8Array.from(tile(0)))), tile(2));
  const fid = gantry('eval', 'fid', '--real', `pairs:${data}?split=test&direction=BtoA`, '--fake', run, '--n', '2', '--weights', join(root, 'test', 'golden', 'inception_w8.pth'), '--feature-dim', '64', '--quiet');
  assert.equal(fid.code, 0, fid.stderr);
  const site = join(dir, 'site');
  assert.equal(gantry('export', '--run', run, '--out', site, '--no-page').code, 0);
  assert.deepEqual(readSafetensors(join(site, 'weights.safetensors')).tensors['example/labels'].shape, [2, 16, 16], 'the val/ pictures, read B to A');
});

test('translate --weights --label-nc 0 reads a generator NVIDIA\'s code trained on pictures as inputs (--label_nc 0) and draws what PyTorch draws; export gives its picture page', () => {
  const dir = tempDir();
  const golden = join(root, 'test', 'golden');
  const g = JSON.parse(readFileSync(join(golden, 'pix2pixhd_pictures_golden.json'), 'utf8')) as { size: [number, number, number]; pictures: number[]; fake: { data: number[] } };
  const [n, h, w] = g.size;
  const pictures = join(dir, 'pictures');
  mkdirSync(pictures);
  for (let i = 0; i < n; i++) writeFileSync(join(pictures, `p${i}.png`), encodePng({ width: w, height: h, channels: 3, data: Uint8Array.from(g.pictures.slice(i * h * w * 3, (i + 1) * h * w * 3)) }));
  const weights = join(golden, 'pix2pixhd_G_pictures.pth');
  const out = join(dir, 'out');
  const r = gantry('translate', '--weights', weights, '--label-nc', '0', '--inputs', pictures, '--out', out, '--quiet');
  assert.equal(r.code, 0, r.stderr);
  for (let i = 0; i < n; i++) {
    const img = readImageFile(join(out, `p${i}.png`));
    assert.deepEqual([img.width, img.height], [w, h]);
    const worst = levelsOff(img.data, img.channels, g.fake, i, h * w);
    assert.ok(worst <= 1, `picture ${i}: off by ${worst} levels from PyTorch's image`);
  }
  const oneLine = (args: string[], message: RegExp) => {
    const e = gantry(...args);
    assert.equal(e.code, 1, args.join(' '));
    assert.match(e.stderr, message);
    assert.equal(e.stderr.trim().split('\n').length, 1, e.stderr);
  };
  oneLine(['translate', '--weights', weights, '--label-nc', '0', '--labels', pictures, '--out', join(dir, 'x')], /--labels: with --label-nc 0 the generator draws from pictures .* give them with --inputs/);
  oneLine(['translate', '--weights', weights, '--label-nc', '6', '--inputs', pictures, '--out', join(dir, 'x')], /--inputs: a generator with --label-nc 6 draws from label maps/);
  oneLine(['translate', '--weights', join(golden, 'pix2pixhd_G.pth'), '--label-nc', '0', '--inputs', pictures, '--out', join(dir, 'x')], /pix2pixhd_G\.pth reads 7 input channels, but a generator of pictures \(--label-nc 0\) reads 3; give the --label-nc it was trained with/);
  const site = join(dir, 'site');
  const e = gantry('export', '--weights', weights, '--label-nc', '0', '--inputs', pictures, '--out', site, '--no-page');
  assert.equal(e.code, 0, e.stderr);
  const model = JSON.parse(readFileSync(join(site, 'model.json'), 'utf8'));
  assert.equal(model.info.conditioning.pictures, true);
  assert.deepEqual(readSafetensors(join(site, 'weights.safetensors')).tensors['example/labels'].shape, [n, h, w]);
});
