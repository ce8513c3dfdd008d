import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tf } from '../../src/engine/index.ts';
import { Rng } from '../../src/engine/rng.ts';
import { GpuContext } from '../../src/gpu/context.ts';
import { gemm, gemmCandidates, gemmPlan, rowMajorByK, rowMajorByOuter } from '../../src/gpu/kernels/gemm.ts';
import { convForward, convInputGrad, type ConvGeometry } from '../../src/gpu/kernels/conv.ts';
import {
  candidateSplits, disableGemmTuning, enableGemmTuning, gemmKey, gemmsTuned, gemmTuningRequested, pendingGemms, tunedGemm, tunePendingGemms, withExactTimestamps,
  type GemmChoice, type TuningStore,
} from '../../src/gpu/gemm-tuning.ts';
import { tuningFile } from '../../src/gpu/tuning-store.ts';
import { familyModel } from '../../src/bench/family-step.ts';
import { settleGpuProducts, TrainSteps } from '../../src/models/step-runner.ts';
import { Dcgan, dcganSchema } from '../../src/models/dcgan.ts';
import { NO_CONDITION } from '../../src/models/condition.ts';
import { startWebGpuOrSkip } from './adapter.ts';
import { assertClose, convReference, upload } from './checks.ts';

const noGpu = await startWebGpuOrSkip();
const rng = new Rng(11, 'gemm-tuning');
const randn = (n: number) => rng.fillNormal(new Float32Array(n));

/** A store in memory: what it starts with, and every save. */
function memoryStore(initial: Record<string, GemmChoice> = {}): TuningStore & { saved: Record<string, GemmChoice>[] } {
  const saved: Record<string, GemmChoice>[] = [];
  return { saved, load: () => ({ ...initial }), save: (c) => void saved.push({ ...c }) };
}

test('GANTRY_GPU_TUNING: 1 or 0, anything else named; exact timestamps asked of Dawn beside the user\'s own flags', () => {
  assert.equal(gemmTuningRequested(undefined), false);
  assert.equal(gemmTuningRequested('0'), false);
  assert.equal(gemmTuningRequested('1'), true);
  assert.throws(() => gemmTuningRequested('yes'), /GANTRY_GPU_TUNING is 1 .* or 0, not "yes"/);
  assert.deepEqual(withExactTimestamps([]), ['disable-dawn-features=timestamp_quantization']);
  assert.deepEqual(withExactTimestamps(['enable-dawn-features=allow_unsafe_apis', 'disable-dawn-features=lazy_clear_resource_on_first_use']),
    ['enable-dawn-features=allow_unsafe_apis', 'disable-dawn-features=lazy_clear_resource_on_first_use,timestamp_quantization']);
  assert.deepEqual(withExactTimestamps(['disable-dawn-features=timestamp_quantization']), ['disable-dawn-features=timestamp_quantization']);
});

test('tuning candidates: gemmPlan\'s choice first, then each tile under K-splits that keep 64 of K and whose partial sums fit; batches unsplit', () => {
  assert.deepEqual(candidateSplits(64, 64, 100, false), [1]);
  assert.deepEqual(candidateSplits(64, 64, 1024, false), [1, 2, 4, 8, 16]);
  assert.deepEqual(candidateSplits(4096, 8192, 1 << 16, false), [1, 2], 'partial sums past 256 MiB left out');
  assert.deepEqual(candidateSplits(64, 64, 1024, true), [1]);
  const spec = { label: 'mm', M: 256, N: 128, K: 4096, a: rowMajorByK(4096), b: rowMajorByOuter(128) };
  const candidates = gemmCandidates(spec);
  const planned = gemmPlan(256, 128, 4096);
  assert.deepEqual(candidates[0], { tile: planned.tile, splitK: planned.splitK });
  assert.equal(new Set(candidates.map((c) => `${c.tile}/${c.splitK}`)).size, candidates.length, 'no candidate twice');
  assert.deepEqual([...new Set(candidates.map((c) => c.tile))].sort(), ['128', '64'].map(Number).sort());
  assert.deepEqual([...new Set(gemmCandidates({ ...spec, N: 3, b: rowMajorByOuter(3) }).map((c) => c.tile))], ['thin']);
  // The key: the same product the same key; another size, operand or epilogue another.
  const key = (s: object) => gemmKey(256, 128, 4096, s);
  assert.equal(key({ a: 1 }), key({ a: 1 }));
  assert.notEqual(key({ a: 1 }), key({ a: 2 }));
  assert.notEqual(gemmKey(256, 128, 4096, { a: 1 }), gemmKey(256, 128, 2048, { a: 1 }));
  assert.match(key({ a: 1 }), /^256x128x4096:[0-9a-f]{16}$/);
});

test('tuning file: choices kept per GPU in the cache folder; a corrupt file counts as empty, bad entries are dropped, an unwritable folder is said once', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gantry-tuning-'));
  const before = process.env.GANTRY_CACHE;
  process.env.GANTRY_CACHE = dir;
  try {
    const store = tuningFile('NVIDIA hopper H200 (driver 580)');
    assert.deepEqual(store.load(), {});
    store.save({ 'a': { tile: 128, splitK: 4 }, 'b': { tile: 'thin', splitK: 1 } });
    assert.deepEqual(tuningFile('NVIDIA hopper H200 (driver 580)').load(), { 'a': { tile: 128, splitK: 4 }, 'b': { tile: 'thin', splitK: 1 } });
    assert.deepEqual(tuningFile('another GPU').load(), {}, 'another adapter, another file');
    // Two processes on one GPU: each save keeps what the other wrote.
    tuningFile('NVIDIA hopper H200 (driver 580)').save({ 'c': { tile: 64, splitK: 8 } });
    store.save({ 'a': { tile: 64, splitK: 1 } });
    assert.deepEqual(store.load(), { 'a': { tile: 64, splitK: 1 }, 'b': { tile: 'thin', splitK: 1 }, 'c': { tile: 64, splitK: 8 } });
    const path = join(dir, 'gpu-tuning', 'NVIDIA_hopper_H200_driver_580_.json');
    writeFileSync(path, JSON.stringify({ ok: { tile: 64, splitK: 2 }, tile: { tile: 96, splitK: 1 }, split: { tile: 64, splitK: 0.5 } }));
    assert.deepEqual(store.load(), { ok: { tile: 64, splitK: 2 } });
    writeFileSync(path, '{"a": {"tile"');
    assert.deepEqual(store.load(), {});
    // A cache folder that cannot be made (a file in its place, which stops root too): said once, nothing thrown.
    writeFileSync(join(dir, 'not-a-folder'), '');
    process.env.GANTRY_CACHE = join(dir, 'not-a-folder');
    const warnings: string[] = [];
    const unwritable = tuningFile('NVIDIA hopper H200 (driver 580)', (line) => warnings.push(line));
    unwritable.save({ 'a': { tile: 64, splitK: 1 } });
    unwritable.save({ 'a': { tile: 64, splitK: 1 } });
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /cannot keep the GPU's tuned products in .*not-a-folder.*gpu-tuning.*timed again next time.*GANTRY_CACHE/);
    assert.deepEqual(unwritable.load(), {});
  } finally {
    if (before === undefined) delete process.env.GANTRY_CACHE;
    else process.env.GANTRY_CACHE = before;
    rmSync(dir, { recursive: true, force: true });
  }
});

const square = (batch: number, h: number, w: number, inC: number, outC: number, k: number, stride: number, pad: number): ConvGeometry =>
  ({ batch, h, w, inC, outC, kh: k, kw: k, sh: stride, sw: stride, padTop: pad, padBottom: pad, padLeft: pad, padRight: pad });

test('tuned products: noted the first time, timed under every candidate, the fastest kept and saved, taken by later calls; the same sums to rounding', { skip: noGpu }, async () => {
  const ctx = GpuContext.fromTfjs();
  const store = memoryStore();
  enableGemmTuning(store);
  try {
    // A strided convolution's forward (one GEMM) and its input gradient (residue classes as groups): K long
    // enough for K-splits among the candidates.
    const g = square(2, 8, 8, 48, 24, 4, 2, 1);
    const x = randn(2 * 8 * 8 * 48);
    const w = randn(4 * 4 * 48 * 24);
    const dy = randn(2 * 4 * 4 * 24);
    const { y: yWant, dx: dxWant } = convReference(g, x, w, dy);
    const [xr, wr, dyr] = [x, w, dy].map((v) => upload(ctx, v));
    const y = ctx.region(ctx.buffer(yWant.length, 'y'), yWant.length);
    const dx = ctx.region(ctx.buffer(x.length, 'dx'), x.length);
    const run = () => {
      ctx.run(convForward(ctx, 'fwd', g, xr, wr, y));
      ctx.run(convInputGrad(ctx, 'dgrad', g, dyr, wr, dx));
    };
    run();
    assert.equal(pendingGemms(), 2, 'both products noted, as gemmPlan runs them');
    assertClose(await ctx.read(y), yWant, 'forward, untuned');
    assertClose(await ctx.read(dx), dxWant, 'input gradient, untuned');
    const lines: string[] = [];
    const tunedBefore = gemmsTuned();
    assert.equal(await tunePendingGemms(ctx.device, (line) => lines.push(line)), 2);
    assert.equal(gemmsTuned() - tunedBefore, 2);
    assert.equal(pendingGemms(), 0);
    assert.match(lines[0], /timing 2 GPU matrix products under \d+ tiles and splits/);
    assert.equal(store.saved.length, 1);
    const saved = Object.entries(store.saved[0]);
    assert.equal(saved.length, 2);
    for (const [key, choice] of saved) assert.ok([64, 128].includes(choice.tile as number) && choice.splitK >= 1, `${key}: ${JSON.stringify(choice)}`);
    // Later calls take the choices, note nothing, and give the same products.
    run();
    assert.equal(pendingGemms(), 0);
    assertClose(await ctx.read(y), yWant, 'forward, tuned');
    assertClose(await ctx.read(dx), dxWant, 'input gradient, tuned');
    assert.equal(await tunePendingGemms(ctx.device), 0, 'nothing left to time');
  } finally {
    disableGemmTuning();
    ctx.dispose();
  }
});

test('a stored choice is what gemm runs: a K-split the plan would not make, and the plan\'s own choice where tuning is off', { skip: noGpu }, async () => {
  const ctx = GpuContext.fromTfjs();
  const [M, N, K] = [40, 72, 700];
  const spec = { label: 'mm', M, N, K, a: rowMajorByK(K), b: rowMajorByOuter(N) };
  assert.equal(gemmPlan(M, N, K).splitK > 1, true, 'the plan splits this K');
  const a = randn(M * K);
  const b = randn(K * N);
  const want = new Float64Array(M * N);
  for (let m = 0; m < M; m++) for (let k = 0; k < K; k++) for (let n = 0; n < N; n++) want[m * N + n] += a[m * K + k] * b[k * N + n];
  const [ar, br] = [a, b].map((v) => upload(ctx, v));
  const c = ctx.region(ctx.buffer(M * N, 'c'), M * N);
  // The key gemm() gives this product: its spec without the label, and no bias.
  const { label: _, ...shape } = spec;
  const key = gemmKey(M, N, K, { ...shape, bias: false });
  try {
    enableGemmTuning(memoryStore({ [key]: { tile: 128, splitK: 1 } }));
    const tuned = gemm(ctx, spec, ar, br, c);
    assert.deepEqual(tuned.map((d) => d.label), ['mm'], 'one pass, as stored, where the plan splits K');
    assert.equal(tuned[0].workgroups[0], 1, '128-row tiles: one covers the 40 rows');
    ctx.run(tuned);
    assertClose(await ctx.read(c), want, 'stored choice');
    assert.equal(pendingGemms(), 0, 'a stored product is not timed again');
    // A caller's own tile or split is kept: neither noted nor replaced.
    assert.deepEqual(gemm(ctx, spec, ar, br, c, { splitK: 2, tile: 64 }).map((d) => d.label), ['mm.splitk', 'mm.reduce']);
    // A choice the product cannot take (a hand-edited file: the thin tile for 72 columns) is passed over.
    enableGemmTuning(memoryStore({ [key]: { tile: 'thin', splitK: 1 } }));
    assert.deepEqual(gemm(ctx, spec, ar, br, c).map((d) => d.label), ['mm.splitk', 'mm.reduce'], 'an unusable choice: the plan');
    disableGemmTuning();
    assert.deepEqual(gemm(ctx, spec, ar, br, c).map((d) => d.label), ['mm.splitk', 'mm.reduce'], 'tuning off: the plan');
    assert.equal(pendingGemms(), 0);
  } finally {
    disableGemmTuning();
    ctx.dispose();
  }
});

test('a product whose timing fails keeps the plan\'s choice, said once; the others are still timed', { skip: noGpu }, async () => {
  const ctx = GpuContext.fromTfjs();
  const store = memoryStore();
  enableGemmTuning(store);
  try {
    const plan: GemmChoice = { tile: 64, splitK: 1 };
    tunedGemm('broken', () => ({ lengths: [16], candidates: [plan, { tile: 128, splitK: 1 }], build: () => { throw new Error('no such kernel'); } }));
    tunedGemm('broken too', () => ({ lengths: [16], candidates: [plan], build: () => { throw new Error('nor this'); } }));
    const lines: string[] = [];
    await tunePendingGemms(ctx.device, (line) => lines.push(line));
    assert.equal(lines.filter((l) => l.includes('failed')).length, 1);
    assert.match(lines.find((l) => l.includes('failed'))!, /broken: no such kernel.*keep gantry's own choice/);
    assert.deepEqual(store.saved.at(-1), { broken: plan, 'broken too': plan });
  } finally {
    disableGemmTuning();
    ctx.dispose();
  }
});

test('training with tuning: the first step\'s products timed before the step is recorded, the replayed steps follow the untuned ones to rounding; tensors flat', { skip: noGpu }, async () => {
  const losses = async (tuned: boolean) => {
    if (tuned) enableGemmTuning(memoryStore());
    const { model, batchAt } = familyModel('vae', 'mnist', { imageSize: 32, width: 8 }, 4);
    const runner = new TrainSteps(model, { log: () => {} });
    const out: number[] = [];
    let tensors = 0;
    for (let step = 0; step < 6; step++) {
      const b = batchAt(step);
      const l = runner.run(b, { step, rng: new Rng(3, 'step', step) });
      out.push((await l.lossTotal.data())[0]);
      tf.dispose([b.images, b.labels ?? [], ...Object.values(l)]);
      await runner.settle();
      if (step === 3) tensors = tf.memory().numTensors;
      if (step === 5) assert.equal(tf.memory().numTensors, tensors, 'tensor count flat over replayed steps');
    }
    const replayed = runner.replayed;
    const refused = runner.refusals();
    runner.dispose();
    model.dispose();
    disableGemmTuning();
    return { out, replayed, refused };
  };
  const plain = await losses(false);
  const tunedBefore = gemmsTuned();
  const tuned = await losses(true);
  assert.ok(gemmsTuned() - tunedBefore > 0, 'the step\'s products were timed');
  assert.deepEqual(tuned.refused, {}, 'the tuned step is replayed: its two recordings agree');
  assert.equal(tuned.replayed, plain.replayed);
  assert.ok(tuned.replayed >= 3);
  for (let i = 0; i < plain.out.length; i++) {
    assert.ok(Math.abs(tuned.out[i] - plain.out[i]) <= 1e-4 * Math.abs(plain.out[i]), `step ${i}: ${tuned.out[i]} tuned, ${plain.out[i]} untuned`);
  }
});

test('DCGAN\'s hand-built step and generator, built before their products are timed, are built again once they are and train on as untuned', { skip: noGpu }, async () => {
  const run = async (tuned: boolean) => {
    if (tuned) enableGemmTuning(memoryStore());
    const model = new Dcgan(dcganSchema.parse({ imageSize: 32, channels: 1, ngf: 8, ndf: 8 }), 0);
    assert.ok(model.replaysItself, 'the hand-built step');
    const held = model as unknown as { gpu: object | null; gpuGenerator: object | null };
    const data = new Rng(5, 'images');
    const losses: number[] = [];
    const steps: (object | null)[] = [];
    for (let step = 0; step < 4; step++) {
      const images = tf.tensor4d(data.fillNormal(new Float32Array(4 * 32 * 32)), [4, 32, 32, 1]);
      const l = model.trainStep({ images }, { step, rng: new Rng(9, 'step', step) });
      steps.push(held.gpu);
      losses.push((await l.lossD.data())[0], (await l.lossG.data())[0]);
      tf.dispose([images, ...Object.values(l)]);
      await settleGpuProducts();
    }
    // Another batch than training's: products the step did not have, so the generator is built untimed.
    const z = tf.tensor2d(data.fillNormal(new Float32Array(6 * 100)), [6, 100]);
    const draws: (object | null)[] = [];
    const images: Float32Array[] = [];
    for (let i = 0; i < 2; i++) {
      const drawn = model.generate(z, NO_CONDITION);
      draws.push(held.gpuGenerator);
      images.push(await drawn.data() as Float32Array);
      drawn.dispose();
      await settleGpuProducts();
    }
    z.dispose();
    model.dispose();
    disableGemmTuning();
    return { losses, rebuilt: new Set(steps).size, drawRebuilt: new Set(draws).size, images };
  };
  const plain = await run(false);
  const tuned = await run(true);
  assert.equal(plain.rebuilt, 1, 'untuned: one step, built once');
  assert.equal(tuned.rebuilt, 2, 'tuned: built again after the first step\'s products were timed, then kept');
  assert.equal(plain.drawRebuilt, 1);
  assert.equal(tuned.drawRebuilt, 2);
  for (let i = 0; i < plain.losses.length; i++) assert.ok(Math.abs(tuned.losses[i] - plain.losses[i]) <= 1e-4 * Math.abs(plain.losses[i]), `loss ${i}: ${tuned.losses[i]} tuned, ${plain.losses[i]} untuned`);
  // Other tiles and K-splits sum in another order, and four Adam steps carry that on into the weights: the
  // draws of a generator this young (|image| under 0.003) differed by 1.02e-4 of their scale once in CI.
  for (let i = 0; i < 2; i++) assertClose(tuned.images[i], Float64Array.from(plain.images[i]), `draw ${i}`, 1e-3);
});
