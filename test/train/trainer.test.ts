import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import { setup, tempDir, tf } from '../helpers.ts';
import { learningRateFactor, train, updatesGenerator } from '../../src/train/trainer.ts';
import { buildModel } from '../../src/train/run.ts';
import { Rng } from '../../src/engine/rng.ts';
import { readConfigFile, validateRunConfig, type RunConfig } from '../../src/train/run-config.ts';
import { readSafetensors } from '../../src/io/safetensors-file.ts';
import { openRun } from '../../src/train/run.ts';
import { readMetrics } from '../../src/train/metrics.ts';
import { GantryError } from '../../src/errors.ts';
import { engineInfo } from '../../src/engine/index.ts';
import { initialiseFrom, loadCheckpoint, optimizerSteps, saveCheckpoint } from '../../src/train/checkpoint.ts';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';

await setup();
const fixtures = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures');

const small = (over: Record<string, unknown> = {}) => validateRunConfig({
  family: 'dcgan', seed: 3, data: 'mnist',
  model: { ngf: 8, ndf: 8 },
  train: { steps: 6, batch: 8, logEvery: 1, sampleEvery: 3, checkpointEvery: 2, samples: 4 },
  ...over,
}, 'test config');

function weights(runDir: string): Record<string, Float32Array | Int32Array> {
  const file = readSafetensors(join(runDir, 'checkpoint.safetensors'));
  return Object.fromEntries(Object.entries(file.tensors).map(([k, v]) => [k, v.data]));
}

test('a run folder holds config, checkpoint, metrics, sample grids and loss plots', async () => {
  const dir = join(tempDir(), 'run');
  const result = await train({ outDir: dir, config: small(), quiet: true });
  assert.equal(result.step, 6);
  assert.deepEqual(readdirSync(join(dir, 'samples')).sort(), ['step-000000.png', 'step-000003.png', 'step-000006.png']);
  assert.ok(readFileSync(join(dir, 'plots', 'losses.svg'), 'utf8').includes('<polyline'));
  const rows = readMetrics(dir);
  assert.deepEqual(rows.map((r) => r.step), [1, 2, 3, 4, 5, 6]);
  assert.ok(rows.every((r) => Number.isFinite(r.lossD) && Number.isFinite(r.lossG)));
  const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
  assert.equal(config.model.channels, 1, 'channels resolved from the data');
  const state = JSON.parse(readSafetensors(join(dir, 'checkpoint.safetensors')).metadata.gantry);
  assert.deepEqual(state, { step: 6, family: 'dcgan', optimizerSteps: { G: 6, D: 6 }, dataImages: 10000 });
});

test('resume is exact: 2N steps in one go equal N steps, a stop, and N more', async () => {
  const root = tempDir();
  const straight = join(root, 'straight');
  const split = join(root, 'split');
  await train({ outDir: straight, config: small(), quiet: true });
  const first = await train({ outDir: split, config: small(), quiet: true, stopAtStep: 3 });
  assert.equal(first.step, 3);
  assert.equal(JSON.parse(readSafetensors(join(split, 'checkpoint.safetensors')).metadata.gantry).step, 3);
  await train({ outDir: split, resume: true, quiet: true });
  const a = weights(straight);
  const b = weights(split);
  assert.deepEqual(Object.keys(a).sort(), Object.keys(b).sort());
  for (const k of Object.keys(a)) assert.deepEqual(a[k], b[k], `tensor ${k} differs`);
  assert.deepEqual(readMetrics(split).map((r) => [r.step, r.lossD, r.lossG]), readMetrics(straight).map((r) => [r.step, r.lossD, r.lossG]));
});

/** The run of `config` in one go (root/straight) and stopped at step 3 then resumed (root/split): the same weights. */
async function assertResumeExact(root: string, config: RunConfig): Promise<void> {
  await train({ outDir: join(root, 'straight'), config, quiet: true });
  await train({ outDir: join(root, 'split'), config, quiet: true, stopAtStep: 3 });
  await train({ outDir: join(root, 'split'), resume: true, quiet: true });
  const a = weights(join(root, 'straight'));
  const b = weights(join(root, 'split'));
  for (const k of Object.keys(a)) assert.deepEqual(a[k], b[k], `tensor ${k} differs after resume`);
}

/** Runs `work` with fs.writeSync failing as on a full disk while `full()` says so (atomic writes, the lock, the export). */
async function withFullDisk<T>(full: () => boolean, work: () => Promise<T>): Promise<T> {
  const fs = createRequire(import.meta.url)('node:fs') as typeof import('node:fs');
  const writeSync = fs.writeSync;
  fs.writeSync = ((...args: Parameters<typeof writeSync>) => {
    if (full()) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', syscall: 'write', errno: -28 });
    return writeSync(...args);
  }) as typeof writeSync;
  syncBuiltinESMExports();
  try {
    return await work();
  } finally {
    fs.writeSync = writeSync;
    syncBuiltinESMExports();
  }
}

test('a full disk: one line naming the file; a new run leaves nothing, a run whose disk fills keeps its last checkpoint and resumes to the end an uninterrupted run reaches', async () => {
  const root = tempDir();
  const fresh = join(root, 'fresh');
  await withFullDisk(() => true, () => assert.rejects(train({ outDir: fresh, config: small(), quiet: true }), { name: 'WriteError', message: `cannot write ${join(fresh, 'lock')}: no space left on the disk; free space on that disk, or choose a folder on another` }));
  assert.ok(!existsSync(fresh), 'nothing left behind');

  const straight = join(root, 'straight');
  const run = join(root, 'run');
  await train({ outDir: straight, config: small(), quiet: true });
  let full = false;
  await withFullDisk(() => full, () => assert.rejects(
    train({ outDir: run, config: small(), quiet: true, onProgress: (step) => void (full = step === 3) }),
    { name: 'GantryError', message: `cannot write ${join(run, 'samples', 'step-000003.png')}: no space left on the disk; the run stopped at step 3 and keeps its checkpoint at step 2: free space on that disk, then continue with \`gantry train --resume --out ${run}\`` },
  ));
  assert.deepEqual(readdirSync(run).filter((f) => f.includes('.tmp-') || f === 'lock'), [], 'no temporary file or lock left');
  assert.equal(JSON.parse(readSafetensors(join(run, 'checkpoint.safetensors')).metadata.gantry).step, 2);
  assert.equal((await train({ outDir: run, resume: true, quiet: true })).step, 6);
  const [a, b] = [weights(straight), weights(run)];
  for (const k of Object.keys(a)) assert.deepEqual(a[k], b[k], `tensor ${k} differs`);
});

test('resume can extend --steps but refuses a different batch', async () => {
  const dir = join(tempDir(), 'run');
  await train({ outDir: dir, config: small({ train: { steps: 2, batch: 8, logEvery: 1, sampleEvery: 100, checkpointEvery: 100, samples: 4 } }), quiet: true });
  const more = await train({ outDir: dir, resume: true, changes: { train: { steps: 4 } }, quiet: true });
  assert.equal(more.step, 4);
  await assert.rejects(train({ outDir: dir, resume: true, changes: { train: { batch: 16 } }, changesSource: '--batch', quiet: true }), / train\.batch is 8 in the run and 16 in --batch; a resumed run keeps its family, seed, data, batch/);
});

test('a resume on data with more or fewer images goes on and says its batches differ from an uninterrupted run\'s', async () => {
  const images = join(tempDir(), 'imgs');
  cpSync(join(fixtures, 'folder'), images, { recursive: true });
  const dir = join(tempDir(), 'run');
  await train({ outDir: dir, config: small({ data: `folder:${images}`, train: { steps: 2, batch: 4, logEvery: 1, sampleEvery: 100, checkpointEvery: 100, samples: 4 } }), quiet: true });
  const said: string[] = [];
  await train({ outDir: dir, resume: true, changes: { train: { steps: 3 } }, quiet: true, log: (l) => said.push(l) });
  assert.equal(said.length, 0, 'the same data: nothing to say');
  const cat = readdirSync(join(images, 'cats'))[0];
  cpSync(join(images, 'cats', cat), join(images, 'cats', `again-${cat}`));
  await train({ outDir: dir, resume: true, changes: { train: { steps: 4 } }, quiet: true, log: (l) => said.push(l) });
  assert.equal(said.length, 1);
  assert.match(said[0], /^warning: folder:.*imgs has 9 training images and had 8 at the checkpoint \(step 3\): the run goes on, but on other batches than an uninterrupted run's; for an exact resume, give it its data as it was$/);
});

test('a loss that becomes NaN stops the run and keeps the last good checkpoint', async () => {
  const dir = join(tempDir(), 'run');
  const config = small({ model: { ngf: 8, ndf: 8, lr: 1e30 } });
  await assert.rejects(train({ outDir: dir, config, quiet: true }), (e: Error) => e instanceof GantryError && /became (NaN|Infinity|-Infinity) at step \d+/.test(e.message) && /last good checkpoint/.test(e.message));
  const state = JSON.parse(readSafetensors(join(dir, 'checkpoint.safetensors')).metadata.gantry);
  assert.ok(state.step <= 2, `checkpoint at step ${state.step}`);
  for (const [name, data] of Object.entries(weights(dir))) assert.ok(data.every(Number.isFinite), `${name} has non-finite values`);
});

test('bad configs name the field; no run folder is left behind', async () => {
  assert.throws(() => validateRunConfig({ family: 'dcgan', model: { ngff: 3 } }, 'config x.json'), /config x\.json: model: unknown field "ngff" \(did you mean "ngf"\?\)$/);
  assert.throws(() => validateRunConfig({ family: 'dcgan', trian: {}, train: { stpes: 1 }, eval: { fid: { n: 10, weigths: 'x' } } }, 'c'), (err: Error) => {
    for (const line of ['(root): unknown field "trian" (did you mean "train"?)', 'train: unknown field "stpes" (did you mean "steps"?)', 'eval.fid: unknown field "weigths" (did you mean "weights"?)']) assert.ok(err.message.includes(line), `${line} in ${err.message}`);
    return true;
  });
  assert.throws(() => validateRunConfig({ family: 'dcgan', model: { zzz: 1 } }, 'c'), /^GantryError: c: model: unknown field "zzz"$/);
  // A field of another section is named where it goes: the family's model fields, train's, eval's, the top level's.
  assert.throws(() => validateRunConfig({ family: 'dcgan', train: { lr: 0.001, seed: 3 } }, 'c'), /^GantryError: c: train: unknown fields "lr" \(it belongs in model: model\.lr\), "seed" \(it belongs at the top level\)$/);
  assert.throws(() => validateRunConfig({ family: 'pix2pixhd', model: { steps: 100, decayFrom: 50 } }, 'c'), /^GantryError: c: model: unknown fields "steps" \(it belongs in train: train\.steps\), "decayFrom" \(it belongs in train: train\.decayFrom\)$/);
  assert.throws(() => validateRunConfig({ family: 'dcgan', eval: { every: 20, fid: { every: 20, n: 10 } } }, 'c'), /^GantryError: c: eval\.fid: unknown field "every" \(it belongs in eval: eval\.every\)$/);
  assert.throws(() => validateRunConfig({ family: 'dcgan', model: { imageSize: 48 } }, 'config'), /model\.imageSize/);
  assert.throws(() => validateRunConfig({ family: 'dcgan', train: { batch: 'big' } }, 'config'), /train\.batch: expected a number, not "big"$/);
  assert.throws(() => validateRunConfig({ family: 'dcgan', model: { ngf: 2.5 } }, 'config'), /model\.ngf: expected a whole number, not 2\.5$/);
  assert.throws(() => validateRunConfig({ model: {} }, 'config'), /config: family: missing; give a string$/);
  assert.throws(() => validateRunConfig({ family: 'stylegan' }, 'config'), /unknown model family "stylegan"/);
  // Node's file errors in words, not as its codes.
  assert.throws(() => readConfigFile('/does/not/exist.json'), /^GantryError: cannot read config \/does\/not\/exist\.json: no such file or folder; check the path$/);
  assert.throws(() => readConfigFile(tempDir()), /: it is a folder, not a file$/);
  const file = join(tempDir(), 'a.json');
  writeFileSync(file, '{}');
  assert.throws(() => readConfigFile(join(file, 'b.json')), /: a part of the path is a file, not a folder$/);
  const dir = join(tempDir(), 'never');
  await assert.rejects(train({ outDir: dir, config: small({ data: 'folder:/does/not/exist' }), quiet: true }), /data folder:\/does\/not\/exist: \/does\/not\/exist does not exist/);
  assert.equal(existsSync(dir), false);
  await assert.rejects(train({ outDir: dir, config: small({ train: { batch: 20000 } }), quiet: true }), /fewer than one batch/);
  assert.equal(existsSync(dir), false);
});

test('a truncated or foreign checkpoint is reported, not crashed on', async () => {
  const dir = join(tempDir(), 'run');
  await train({ outDir: dir, config: small({ train: { steps: 1, batch: 8, samples: 4 } }), quiet: true });
  const path = join(dir, 'checkpoint.safetensors');
  const bytes = readFileSync(path);
  writeFileSync(path, bytes.subarray(0, bytes.length - 5000));
  assert.throws(() => openRun(dir), /checkpoint .*checkpoint\.safetensors is truncated or corrupt/);
  await assert.rejects(train({ outDir: dir, resume: true, quiet: true }), /truncated or corrupt/);
  // The checkpoint before it is whole, and the message says how to go back to it.
  const previous = join(dir, 'checkpoint.previous.safetensors');
  assert.throws(() => openRun(dir), (err: Error) => err.message.includes(`go back to the one before it (step 0) with \`mv ${previous} ${path}\``));
  renameSync(previous, path);
  openRun(dir).model.dispose();
  writeFileSync(path, bytes.subarray(0, 100));
  assert.throws(() => openRun(dir), (err: Error) => !err.message.includes('go back'));
  writeFileSync(path, bytes);
  const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...config, model: { ...config.model, ngf: 16 } }));
  // The checkpoint's G (ngf 8) against the model the edited config builds (ngf 16).
  assert.throws(() => openRun(dir), /tensor net\/G\/main\.0\.weight is 4x4x32x100 but the model expects 4x4x64x100; it belongs to a different model configuration than .*config\.json/);
  assert.throws(() => openRun(tempDir()), /not a gantry run folder \(no config\.json\)/, 'an empty folder');
});

test('a new run refuses a non-empty folder', async () => {
  const dir = tempDir();
  writeFileSync(join(dir, 'something.txt'), 'x');
  await assert.rejects(train({ outDir: dir, config: small(), quiet: true }), /already exists and is not empty; continue with `gantry train --resume --out /);
});

test('tensor count stays flat across a training run, with an average of the weights too', async () => {
  const before = tf.memory().numTensors;
  await train({ outDir: join(tempDir(), 'run'), config: small({ train: { steps: 4, batch: 8, samples: 4 } }), quiet: true });
  assert.equal(tf.memory().numTensors, before);
  await train({ outDir: join(tempDir(), 'run'), config: small({ train: { steps: 4, batch: 8, samples: 4, sampleEvery: 2, ema: 0.99 } }), quiet: true });
  assert.equal(tf.memory().numTensors, before);
});

test('learning-rate schedule (constant, then linear decay to 0) and D steps per G step', async () => {
  const t = small({ train: { steps: 10, batch: 8, decayFrom: 6, dSteps: 2 } }).train;
  assert.deepEqual(Array.from({ length: 11 }, (_, s) => learningRateFactor(t, s)), [1, 1, 1, 1, 1, 1, 1, 0.75, 0.5, 0.25, 0]);
  assert.deepEqual(Array.from({ length: 6 }, (_, s) => updatesGenerator(t, s)), [false, true, false, true, false, true]);
  assert.equal(learningRateFactor(small().train, 5), 1, 'no decayFrom: constant');

  // A D-only step moves D and leaves G; the next step moves both.
  const model = buildModel(small({ model: { ngf: 8, ndf: 8, channels: 1 } }));
  const batch = { images: tf.tensor4d(new Float32Array(8 * 32 * 32).fill(0.5), [8, 32, 32, 1]) };
  const snapshot = (net: string) => model.networks[net].trainable().map((v) => v.dataSync().slice());
  const [g0, d0] = [snapshot('G'), snapshot('D')];
  const l = model.trainStep(batch, { step: 0, rng: new Rng(1), updateG: false });
  assert.deepEqual(Object.keys(l), ['lossD']);
  assert.deepEqual(snapshot('G'), g0);
  assert.notDeepEqual(snapshot('D'), d0);
  tf.dispose(Object.values(l));
  tf.dispose(Object.values(model.trainStep(batch, { step: 1, rng: new Rng(2), updateG: true })));
  assert.notDeepEqual(snapshot('G'), g0);
  tf.dispose(batch.images);
  model.dispose();

  // The run: G's optimizer stepped every other step, the schedule's last update at a quarter of lr, and a
  // resume across both hooks is exact.
  const root = tempDir();
  const config = small({ train: { steps: 8, batch: 8, logEvery: 1, sampleEvery: 100, checkpointEvery: 100, samples: 4, decayFrom: 4, dSteps: 2 } });
  await train({ outDir: join(root, 'straight'), config, quiet: true });
  const state = JSON.parse(readSafetensors(join(root, 'straight', 'checkpoint.safetensors')).metadata.gantry);
  assert.deepEqual(state.optimizerSteps, { G: 4, D: 8 });
  await train({ outDir: join(root, 'split'), config, quiet: true, stopAtStep: 5 });
  await train({ outDir: join(root, 'split'), resume: true, quiet: true });
  const a = weights(join(root, 'straight'));
  const b = weights(join(root, 'split'));
  for (const k of Object.keys(a)) assert.deepEqual(a[k], b[k], `tensor ${k} differs after resume`);
  // Without the decay the same run ends elsewhere: the schedule reached the optimizers.
  await train({ outDir: join(root, 'constant'), config: small({ train: { ...config.train, decayFrom: undefined } }), quiet: true });
  assert.notDeepEqual(weights(join(root, 'constant'))['net/D/main.0.weight'], a['net/D/main.0.weight']);
});

test('a checkpoint reads the weights without handing their arrays out, and a resume or --init-from loads them into arrays Adam may write: in place after each', { skip: !engineInfo()?.native.loaded && 'native addon not built' }, async () => {
  const model = buildModel(small({ model: { ngf: 8, ndf: 8, channels: 1 } }));
  const batch = { images: tf.tensor4d(new Float32Array(8 * 32 * 32).fill(0.5), [8, 32, 32, 1]) };
  const step = (s: number) => tf.dispose(Object.values(model.trainStep(batch, { step: s, rng: new Rng(s), updateG: true })));
  const arrays = () => model.networks.G.trainable().map((v) => (tf.backend() as MathBackendCPU).data.get(v.dataId).values);
  step(0);
  const before = arrays();
  step(1);
  assert.ok(arrays().every((a, i) => a === before[i]), 'in place between steps');
  const dir = tempDir();
  await saveCheckpoint(dir, model, { step: 2, family: 'dcgan', optimizerSteps: optimizerSteps(model) });
  step(2);
  assert.ok(arrays().every((a, i) => a === before[i]), 'and after a checkpoint');
  const saved = readSafetensors(join(dir, 'checkpoint.safetensors')).tensors;
  assert.notDeepEqual(saved['net/G/' + model.networks.G.trainableNames()[0]].data, arrays()[0], 'the file kept the values of its step');
  model.dispose();
  // Resumed, the loaded weights and moments are updated in place from the first step on, too.
  const resumed = buildModel(small({ model: { ngf: 8, ndf: 8, channels: 1 } }));
  loadCheckpoint(dir, resumed);
  const arraysOf = () => resumed.networks.G.trainable().map((v) => (tf.backend() as MathBackendCPU).data.get(v.dataId).values);
  const loaded = arraysOf();
  tf.dispose(Object.values(resumed.trainStep(batch, { step: 2, rng: new Rng(2), updateG: true })));
  assert.ok(arraysOf().every((a, i) => a === loaded[i]), 'in place after a resume');
  resumed.dispose();
  // Started from that run's weights (--init-from), the same.
  const started = buildModel(small({ model: { ngf: 8, ndf: 8, channels: 1 } }));
  initialiseFrom(started, dir);
  const startedArrays = () => started.networks.G.trainable().map((v) => (tf.backend() as MathBackendCPU).data.get(v.dataId).values);
  const taken = startedArrays();
  assert.deepEqual(taken[0], saved['net/G/' + started.networks.G.trainableNames()[0]].data, 'the run\'s weights were taken');
  tf.dispose(Object.values(started.trainStep(batch, { step: 0, rng: new Rng(0), updateG: true })));
  assert.ok(startedArrays().every((a, i) => a === taken[i]), 'in place after --init-from');
  tf.dispose(batch.images);
  started.dispose();
});

/**
 * A field newer than a run keeps the meaning its absence had. dfgan's fusion blocks now read the noise with
 * the sentence vector (the official code); gan-cls's D now batch-norms its text projection and weighs G's
 * interpolated captions at 0.5 (the authors' code). A run saved before those fields existed has none of
 * them, and its checkpoint holds the weights of the older networks: it still opens, draws and resumes, with
 * or without a changed learning rate, and its config stays without the fields.
 */
const newerFields: [family: string, fields: Record<string, unknown>, asBefore: Record<string, unknown>, lr: Record<string, number>][] = [
  ['dfgan', { noiseInFusion: true }, { noiseInFusion: false }, { lrG: 5e-5 }],
  ['gan-cls', { textNorm: true, interpolationWeight: 0.5 }, { textNorm: false, interpolationWeight: 1 }, { lr: 1e-4 }],
];
for (const [family, fields, asBefore, lr] of newerFields) {
  test(`a ${family} run from before ${Object.keys(fields).join(' and ')} opens and resumes as it was made: its absent fields are not filled with the new defaults`, async () => {
    const dir = join(tempDir(), `old-${family}`);
    const config = (model: Record<string, unknown>) => validateRunConfig({
      family, seed: 4, data: 'shapes:16',
      model: { ngf: 2, ndf: 2, nz: 8, embedDim: 16, wordDim: 8, textHidden: 16, textSteps: 1, ...model },
      train: { steps: 3, batch: 4, logEvery: 1, sampleEvery: 3, checkpointEvery: 1, samples: 4 },
    }, 'test config');
    await train({ outDir: join(dir, '..', `new-${family}`), config: config({}), quiet: true });
    const fresh = JSON.parse(readFileSync(join(dir, '..', `new-${family}`, 'config.json'), 'utf8')).model;
    for (const [k, v] of Object.entries(fields)) assert.equal(fresh[k], v, `a new run has ${k} ${v}`);
    await train({ outDir: dir, config: config(asBefore), quiet: true });
    // As an older gantry wrote it: without the fields.
    const file = join(dir, 'config.json');
    const saved = JSON.parse(readFileSync(file, 'utf8'));
    for (const k of Object.keys(fields)) delete saved.model[k];
    writeFileSync(file, JSON.stringify(saved));
    const run = openRun(dir);
    tf.dispose(run.model.generate!(tf.zeros([2, 8]) as tf.Tensor2D, { kind: 'text', vectors: tf.zeros([2, 16]) as tf.Tensor2D }));
    run.model.dispose();
    assert.equal((await train({ outDir: dir, resume: true, changes: { train: { steps: 4 } }, quiet: true })).step, 4);
    assert.equal((await train({ outDir: dir, resume: true, changes: { train: { steps: 5 }, model: lr }, quiet: true })).step, 5);
    const after = JSON.parse(readFileSync(file, 'utf8')).model;
    const [lrField, lrValue] = Object.entries(lr)[0];
    assert.ok(Object.keys(fields).every((k) => !(k in after)) && after[lrField] === lrValue, JSON.stringify(after));
  });
}

test('train.ema: the checkpoint keeps the average beside the weights, the run draws with it, training is unchanged, and a resume is exact', async () => {
  const root = tempDir();
  const train6 = small().train;
  const averaged = small({ train: { ...train6, ema: 0.9 } });
  await train({ outDir: join(root, 'plain'), config: small(), quiet: true });
  await train({ outDir: join(root, 'straight'), config: averaged, quiet: true });
  await train({ outDir: join(root, 'split'), config: averaged, quiet: true, stopAtStep: 3 });
  await train({ outDir: join(root, 'split'), resume: true, quiet: true });
  const plain = weights(join(root, 'plain'));
  const a = weights(join(root, 'straight'));
  const b = weights(join(root, 'split'));
  for (const k of Object.keys(a)) assert.deepEqual(a[k], b[k], `tensor ${k} differs after resume`);
  // Training goes on with the weights themselves: a run's weights are those of the same run without the average.
  for (const k of Object.keys(plain)) assert.deepEqual(a[k], plain[k], `tensor ${k} moved with train.ema`);
  const G = Object.keys(a).filter((k) => k.startsWith('net/G/'));
  assert.deepEqual(Object.keys(a).filter((k) => k.startsWith('ema/')).sort(), G.map((k) => k.replace('net/', 'ema/')).sort(), 'G is averaged, D is not');
  assert.ok(G.some((k) => a[k].some((x, i) => x !== a[k.replace('net/', 'ema/')][i])), 'the average is not the last weights');
  assert.equal(JSON.parse(readSafetensors(join(root, 'straight', 'checkpoint.safetensors')).metadata.gantry).averaged, true);
  // Opened to draw (sample, eval, export, the studio), G holds the average and D its weights.
  const opened = openRun(join(root, 'straight'));
  for (const [net, params] of Object.entries(opened.model.networks)) {
    for (const [name, v] of params.named()) assert.deepEqual(v.dataSync(), a[`${net === 'G' ? 'ema' : 'net'}/${net}/${name}`], `${net} ${name}`);
  }
  opened.model.dispose();
  await assert.rejects(train({ outDir: join(root, 'split'), resume: true, quiet: true, changes: { train: { ema: 0.99 } } }), /train\.ema is 0\.9 in the run and 0\.99/);
});

test('model.spectralNorm: D without batch norm, each weight over its spectral norm; u is in the checkpoint, so a resumed run is exact', async () => {
  const root = tempDir();
  const config = validateRunConfig({
    family: 'acgan', seed: 3, data: 'mnist', model: { ngf: 8, ndf: 8, spectralNorm: true },
    train: { steps: 6, batch: 8, logEvery: 1, sampleEvery: 100, checkpointEvery: 100, samples: 4 },
  }, 'test config');
  const before = tf.memory().numTensors;
  await train({ outDir: join(root, 'straight'), config, quiet: true });
  assert.equal(tf.memory().numTensors, before, 'tensors left behind');
  await train({ outDir: join(root, 'split'), config, quiet: true, stopAtStep: 3 });
  await train({ outDir: join(root, 'split'), resume: true, quiet: true });
  const a = weights(join(root, 'straight'));
  const b = weights(join(root, 'split'));
  for (const k of Object.keys(a)) assert.deepEqual(a[k], b[k], `tensor ${k} differs after resume`);
  // Four convolutions and the class head, each with its u; D's batch norms are gone, G's stay.
  const names = Object.keys(a).filter((k) => k.startsWith('net/D/'));
  assert.deepEqual(names.filter((k) => k.endsWith('.weight_u')).sort(), ['net/D/classHead.weight_u', 'net/D/main.0.weight_u', 'net/D/main.2.weight_u', 'net/D/main.5.weight_u', 'net/D/main.8.weight_u']);
  assert.ok(!names.some((k) => k.includes('running')), names.join(' '));
  assert.ok(Object.keys(a).some((k) => k.startsWith('net/G/') && k.includes('running_mean')));
  const losses = (dir: string) => readMetrics(join(root, dir)).map((r) => [r.lossD, r.lossG]);
  assert.deepEqual(losses('split'), losses('straight'));
});

test('model.r1: the penalty is logged as r1 and a resumed run is exact; a resume may change gamma, as it may the learning rate', async () => {
  const root = tempDir();
  const config = validateRunConfig({
    family: 'dcgan', seed: 3, data: 'mnist', model: { ngf: 8, ndf: 8, r1: 10 },
    train: { steps: 6, batch: 8, logEvery: 1, sampleEvery: 100, checkpointEvery: 100, samples: 4 },
  }, 'test config');
  await assertResumeExact(root, config);
  const rows = (dir: string) => readMetrics(join(root, dir)).map((r) => [r.lossD, r.lossG, r.r1]);
  assert.deepEqual(rows('split'), rows('straight'));
  assert.ok(rows('straight').every(([, , r1]) => r1! > 0), 'R1 in every row');
  // Turned off for two more steps.
  await train({ outDir: join(root, 'split'), resume: true, quiet: true, changes: { model: { r1: 0 }, train: { steps: 8 } } });
  assert.deepEqual(readMetrics(join(root, 'split')).slice(6).map((r) => [r.step, r.r1]), [[7, undefined], [8, undefined]]);
});

test('model.r1Every: a lazy R1 (acgan) takes and logs its penalty on every r1Every-th step only, and a resumed run is exact', async () => {
  const root = tempDir();
  const config = validateRunConfig({
    family: 'acgan', seed: 3, data: 'mnist', model: { ngf: 8, ndf: 8, r1: 10, r1Every: 2 },
    train: { steps: 6, batch: 8, logEvery: 1, sampleEvery: 100, checkpointEvery: 100, samples: 4 },
  }, 'test config');
  await assertResumeExact(root, config);
  const rows = (dir: string) => readMetrics(join(root, dir)).map((r) => [r.step, r.lossD, r.lossG, r.r1]);
  assert.deepEqual(rows('split'), rows('straight'));
  // Steps 0, 2, 4 (logged as 1, 3, 5) take the penalty's update.
  assert.deepEqual(rows('straight').map(([step, , , r1]) => [step, r1 !== undefined && r1 > 0]), [[1, true], [2, false], [3, true], [4, false], [5, true], [6, false]]);
  // The penalty every step instead, from the same start: another run from step 1's update of D on.
  await train({ outDir: join(root, 'every'), config: { ...config, model: { ...config.model, r1Every: 1 } }, quiet: true });
  const every = readMetrics(join(root, 'every'));
  assert.ok(every.every((r) => r.r1! > 0), 'R1 in every row');
  assert.notDeepEqual(every.map((r) => r.lossG), rows('straight').map(([, , lossG]) => lossG));
});

test('model.augment: D sees augmented images (the losses change), drawn from the step\'s stream, so a resumed run is exact', async () => {
  const root = tempDir();
  const config = validateRunConfig({
    family: 'cgan', seed: 3, data: 'mnist', model: { ngf: 8, ndf: 8, augment: ['color', 'translation', 'cutout'] },
    train: { steps: 6, batch: 8, logEvery: 1, sampleEvery: 100, checkpointEvery: 100, samples: 4 },
  }, 'test config');
  await assertResumeExact(root, config);
  await train({ outDir: join(root, 'plain'), config: { ...config, model: { ...config.model, augment: [] } }, quiet: true });
  const losses = (dir: string) => readMetrics(join(root, dir)).map((r) => [r.lossD, r.lossG]);
  assert.deepEqual(losses('split'), losses('straight'));
  assert.notDeepEqual(losses('plain')[0], losses('straight')[0], 'the first step\'s losses differ with the augmentations');
});
