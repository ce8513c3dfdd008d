import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { setup, tempDir, tf } from '../helpers.ts';
import { train } from '../../src/train/trainer.ts';
import { validateRunConfig } from '../../src/train/run-config.ts';
import { openRun, type OpenedRun } from '../../src/train/run.ts';
import { arithCommand, interpolateCommand, sampleCommand } from '../../src/cli/explore.ts';
import { latentForSeed, slerp } from '../../src/explore/latent.ts';
import { evaluationConditions, gridColumns } from '../../src/explore/conditions.ts';
import { NO_CONDITION, type Condition } from '../../src/models/condition.ts';
import { readImageFile } from '../../src/io/image.ts';
import { convertChannels, type RawImage } from '../../src/io/pixels.ts';
import { imageGrid } from '../../src/explore/grid.ts';
import { generatorFiles } from '../../src/export/export-run.ts';
import { buildGenerator } from '../../src/web/generator.ts';
import { tile } from '../../src/web/canvas.ts';

await setup();

/**
 * sample, interpolate, arith, eval and the studio prepare what a run is conditioned on in one module
 * (src/explore/conditions.ts). Here a run of each kind (none, class, text) is driven through them and
 * every image is compared with the generator fed conditions built by hand: class i % K and caption i % C
 * in grids, the first class or caption in strips and arithmetic.
 */
const root = tempDir();
const common = { seed: 2, data: 'shapes:64', train: { steps: 2, batch: 8, logEvery: 1, sampleEvery: 100, checkpointEvery: 100, samples: 4 } };
const small = { ngf: 4, ndf: 4, nz: 6 };
const runs: Record<'none' | 'class' | 'text', string> = { none: join(root, 'dcgan'), class: join(root, 'cgan'), text: join(root, 'gan-cls') };
await train({ outDir: runs.none, config: validateRunConfig({ ...common, family: 'dcgan', model: small }, 'test'), quiet: true });
await train({ outDir: runs.class, config: validateRunConfig({ ...common, family: 'cgan', model: small }, 'test'), quiet: true });
await train({ outDir: runs.text, config: validateRunConfig({ ...common, family: 'gan-cls', model: { ...small, textSteps: 1, embedDim: 8, wordDim: 4, textHidden: 8 } }, 'test'), quiet: true });

/** The hand-built condition of images i < n: `pick(i)` is the class index or the caption. */
function handCondition(run: OpenedRun, n: number, pick: (i: number) => number): Condition {
  const c = run.info.conditioning;
  if (c.kind === 'class') return { kind: 'class', weights: tf.cast(tf.oneHot(tf.tensor1d(Array.from({ length: n }, (_, i) => pick(i)), 'int32'), c.numClasses), 'float32') as tf.Tensor2D };
  if (c.kind === 'text') return { kind: 'text', vectors: run.model.encodeText!(Array.from({ length: n }, (_, i) => c.sampleCaptions[pick(i)])) };
  return NO_CONDITION;
}

async function expectedGrid(run: OpenedRun, vectors: Float32Array[], condition: () => Condition, cols: number | undefined) {
  const images = tf.tidy(() => run.model.generate!(tf.tensor2d(vectors.flatMap((v) => Array.from(v)), [vectors.length, run.info.latentDim]), condition()));
  const grid = await imageGrid(images, cols);
  tf.dispose(images);
  return grid;
}

function assertSame(decoded: RawImage, expected: RawImage, what: string) {
  const got = convertChannels(decoded, expected.channels);
  assert.deepEqual([got.width, got.height], [expected.width, expected.height], `${what}: size`);
  assert.ok(Buffer.from(got.data).equals(Buffer.from(expected.data)), `${what}: pixels differ from the hand-conditioned generator`);
}

async function assertSameImage(file: string, expected: RawImage, what: string) {
  assertSame(readImageFile(file), expected, what);
}

for (const kind of ['none', 'class', 'text'] as const) {
  test(`${kind}-conditioned run: sample, interpolate, arith, eval and the studio draw the conditions a person expects`, async () => {
    const dir = tempDir();
    const run = openRun(runs[kind]);
    const before = tf.memory().numTensors;
    const c = run.info.conditioning;
    const columns = c.kind === 'class' ? c.numClasses : c.kind === 'text' ? c.sampleCaptions.length : undefined;
    assert.equal(gridColumns(run.info), columns);
    try {
      // sample: image i is seed:i, of class i % K or sample caption i % C, one column each.
      const n = 6;
      await sampleCommand(['--run', runs[kind], '--n', String(n), '--out', join(dir, 's.png')]);
      const seeds = Array.from({ length: n }, (_, i) => latentForSeed(i, run.info.latentDim));
      const k = columns ?? 1;
      await assertSameImage(join(dir, 's.png'), await expectedGrid(run, seeds, () => handCondition(run, n, (i) => i % k), columns), 'sample');
      // interpolate between seeds: every frame of the first class / caption.
      await interpolateCommand(['--run', runs[kind], '--seeds', '3,4', '--frames', '3', '--out', join(dir, 'i.png')]);
      const [a, b] = [latentForSeed(3, run.info.latentDim), latentForSeed(4, run.info.latentDim)];
      const strip = [0, 0.5, 1].map((t) => slerp(a, b, t));
      await assertSameImage(join(dir, 'i.png'), await expectedGrid(run, strip, () => handCondition(run, 3, () => 0), 3), 'interpolate');
      // arith: each term, then the result, all of the first class / caption.
      await arithCommand(['--run', runs[kind], '--expr', 'seed:1 - seed:2', '--out', join(dir, 'a.png')]);
      const [s1, s2] = [latentForSeed(1, run.info.latentDim), latentForSeed(2, run.info.latentDim)];
      await assertSameImage(join(dir, 'a.png'), await expectedGrid(run, [s1, s2, s1.map((v, i) => v - s2[i])], () => handCondition(run, 3, () => 0), 3), 'arith');
      // eval: images 5..8 of a set are balanced classes (5 + i) % K, or captions of the data in order.
      const captions = ['a large red square on a blue background', 'a small green circle on a black background'];
      const evalRows = await evaluationConditions(run, 5, 4, captions);
      if (c.kind === 'class') assert.deepEqual(evalRows.kind === 'class' && evalRows.rows.map((r) => r.indexOf(1)), [5, 6, 7, 8].map((j) => j % c.numClasses));
      else if (c.kind === 'text') {
        const phi = run.model.encodeText!([captions[1], captions[0], captions[1], captions[0]]);
        assert.deepEqual(evalRows.kind === 'text' && evalRows.rows.map((r) => Array.from(r)), (phi.arraySync() as number[][]).map((r) => Array.from(Float32Array.from(r))));
        phi.dispose();
      } else assert.deepEqual(evalRows, { kind: 'none' });
      // An exported generator (the page's): images without conditions are a grid's; conditions a run does not take are errors.
      const files = await generatorFiles(run, runs[kind]);
      const g = buildGenerator(JSON.parse(JSON.stringify(files.model)), files.weights);
      try {
        const drawn = tile(await g.generate({ seeds: [0, 1] }), 2);
        const want = await expectedGrid(run, seeds.slice(0, 2), () => handCondition(run, 2, (i) => i % k), 2);
        assertSame({ width: drawn.width, height: drawn.height, channels: drawn.channels, data: drawn.pixels }, want, 'exported generator (no conditions: the grid default)');
        if (kind === 'none') await assert.rejects(g.generate({ seeds: [0], class: 1 }), /not class-conditional/);
      } finally {
        g.dispose();
      }
      // Flags a run does not take: one line saying what it takes.
      const out = join(dir, 'x.png');
      if (kind !== 'class') await assert.rejects(sampleCommand(['--run', runs[kind], '--class', '1', '--out', out]), kind === 'text' ? /conditioned on text; use --text/ : /not class-conditional/);
      if (kind !== 'text') await assert.rejects(sampleCommand(['--run', runs[kind], '--text', 'a red square', '--out', out]), /not conditioned on text/);
      if (kind === 'class') await assert.rejects(interpolateCommand(['--run', runs[kind], '--classes', '1,99', '--out', out]), /--classes "99": expected a class index 0\.\.\d+ or a name/);
      assert.equal(tf.memory().numTensors, before, 'tensors left behind');
    } finally {
      run.model.dispose();
    }
  });
}
