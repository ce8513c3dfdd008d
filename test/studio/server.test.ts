import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { connect } from 'node:net';
import { PNG } from 'pngjs';
import { setup, tempDir, tf } from '../helpers.ts';
import { train } from '../../src/train/trainer.ts';
import { validateRunConfig } from '../../src/train/run-config.ts';
import { openRun } from '../../src/train/run.ts';
import { startStudio } from '../../src/studio/server.ts';
import { latentForSeed } from '../../src/explore/latent.ts';

await setup();

const trainSmall = async (family: string, data: string, model: Record<string, unknown>) => {
  const dir = join(tempDir(), family);
  await train({ outDir: dir, quiet: true, config: validateRunConfig({ family, seed: 1, data, model, train: { steps: 2, batch: 4, samples: 4, logEvery: 1 } }, 'test') });
  return dir;
};

async function post(url: string, body: unknown): Promise<Response> {
  return fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) });
}

async function png(res: Response): Promise<[number, number]> {
  assert.equal(res.status, 200, await res.clone().text());
  assert.equal(res.headers.get('content-type'), 'image/png');
  const img = PNG.sync.read(Buffer.from(await res.arrayBuffer()));
  return [img.width, img.height];
}

test('studio on a class-conditional run: the page, info, seeds as the CLI draws them, slerp, arithmetic, images, clear 4xx errors', async () => {
  const dir = await trainSmall('cgan', 'shapes:40', { ngf: 4, ndf: 4, nz: 6, embedDim: 4 });
  const run = openRun(dir);
  const studio = await startStudio(run, dir, 0);
  try {
    const page = await fetch(studio.url);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<title>gantry studio<\/title>/);
    const info = await (await fetch(studio.url + 'api/info')).json();
    assert.deepEqual([info.family, info.latentDim, info.height, info.width, info.step], ['cgan', 6, 32, 32, 2]);
    assert.deepEqual(info.classes, ['circle', 'square', 'triangle', 'diamond']);
    assert.equal(info.captions, null);
    const { z } = await (await fetch(studio.url + 'api/latent?seed=12')).json();
    assert.deepEqual(z, Array.from(latentForSeed(12, 6)));
    const { vectors } = await (await post(studio.url + 'api/slerp', { a: z, b: z.map((v: number) => -v + 0.5), frames: 5 })).json();
    assert.equal(vectors.length, 5);
    assert.ok(vectors[0].every((v: number, i: number) => Math.abs(v - z[i]) < 1e-6));
    const arith = await (await post(studio.url + 'api/arith', { expr: 'seed:1 - seed:2 + seed:3' })).json();
    assert.equal(arith.vectors.length, 4);
    assert.deepEqual(arith.labels, ['+ seed:1', '- seed:2', '+ seed:3', '=']);
    const onehot = [0, 0, 1, 0];
    const before = tf.memory().numTensors;
    assert.deepEqual(await png(await post(studio.url + 'api/images', { z: vectors, conditions: vectors.map(() => onehot), cols: 5 })), [5 * 34 + 2, 34 + 2]);
    assert.deepEqual(await png(await post(studio.url + 'api/images', { z: [z, z] })), [2 * 34 + 2, 34 + 2]);
    assert.equal(tf.memory().numTensors, before, 'requests leave no tensors behind');
    const errors: [Promise<Response>, number, RegExp][] = [
      [post(studio.url + 'api/images', '{not json'), 400, /not JSON/],
      [post(studio.url + 'api/images', { z: [[1, 2]] }), 400, /z\[0\] has 2 numbers; this run's latent vectors have 6/],
      [post(studio.url + 'api/images', { z: [z], conditions: [[1, 0]] }), 400, /class weights must be \[1, 4\]/],
      [post(studio.url + 'api/images', { z: [z], conditions: [onehot, onehot] }), 400, /1 latent vectors but 2 conditions/],
      [post(studio.url + 'api/images', { z: [z], extra: 1 }), 400, /unknown field "extra"/],
      [post(studio.url + 'api/arith', { expr: 'seed:1 +' }), 400, /cannot read/],
      [post(studio.url + 'api/text', { captions: ['a red bird'] }), 400, /not conditioned on text/],
      [fetch(studio.url + 'api/latent?seed=-1'), 400, /seed must be a whole number/],
      [fetch(studio.url + 'nowhere'), 404, /no GET \/nowhere/],
      [post(studio.url + 'api/slerp', { a: z.map(() => 0), b: z.map(() => 0), frames: 3 }), 400, /needs two non-zero vectors/],
      [post(studio.url + 'api/images', 'x'.repeat(5 << 20)), 413, /over the 4194304-byte limit/],
    ];
    for (const [pending, status, pattern] of errors) {
      const res = await pending;
      assert.equal(res.status, status);
      assert.match((await res.json()).error, pattern);
    }
  } finally {
    await studio.close();
    run.model.dispose();
  }
});

test('studio on a text run: typed captions become sentence vectors (unknown words named) that draw the images', async () => {
  const dir = await trainSmall('gan-cls', 'shapes:40', { ngf: 4, ndf: 4, nz: 6, projectionDim: 4, embedDim: 8, wordDim: 4, textHidden: 8, textSteps: 1 });
  const run = openRun(dir);
  const studio = await startStudio(run, dir, 0);
  try {
    const info = await (await fetch(studio.url + 'api/info')).json();
    assert.equal(info.family, 'gan-cls');
    assert.equal(info.classes, null);
    assert.ok(info.captions.length > 0 && info.captions.every((c: string) => / background$/.test(c)));
    const text = await (await post(studio.url + 'api/text', { captions: ['a large red circle on a blue background', 'a magenta circle'] })).json();
    assert.equal(text.vectors.length, 2);
    assert.equal(text.vectors[0].length, 8);
    assert.deepEqual(text.unknown, [[], ['magenta']]);
    const z = Array.from(latentForSeed(3, 6));
    const a = await post(studio.url + 'api/images', { z: [z], conditions: [text.vectors[0]] });
    const b = await post(studio.url + 'api/images', { z: [z], conditions: [text.vectors[1]] });
    const [pa, pb] = [Buffer.from(await a.arrayBuffer()), Buffer.from(await b.arrayBuffer())];
    assert.notDeepEqual(pa, pb, 'another caption, another image');
  } finally {
    await studio.close();
    run.model.dispose();
  }
});

test('gantry studio from the CLI: prints its address, serves the run, stops on Ctrl-C; a missing run is one line', async () => {
  const { spawn, spawnSync } = await import('node:child_process');
  const { fileURLToPath } = await import('node:url');
  const bin = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..', 'bin', 'gantry.js');
  const dir = await trainSmall('dcgan', 'mnist', { ngf: 4, ndf: 4 });
  const child = spawn(process.execPath, [bin, 'studio', '--run', dir, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /at (http:\/\/127\.0\.0\.1:\d+\/)/.exec(out);
      if (m) resolve(m[1]);
    });
    child.once('exit', (code) => reject(new Error(`studio exited ${code} before listening: ${out}`)));
  });
  const info = await (await fetch(url + 'api/info')).json();
  assert.equal(info.family, 'dcgan');
  assert.equal(info.classes, null);
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  child.kill('SIGINT');
  assert.equal(await exited, 0);
  const missing = spawnSync(process.execPath, [bin, 'studio', '--run', join(dir, 'nope')], { encoding: 'utf8' });
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /not a gantry run folder/);
});

test('studio under a slow client: a body that never ends holds only its own request and gets 408', async () => {
  const dir = await trainSmall('dcgan', 'shapes:40', { ngf: 4, ndf: 4, nz: 6 });
  const run = openRun(dir);
  const studio = await startStudio(run, dir, 0);
  const { port } = new URL(studio.url);
  try {
    // Headers promise 1000 bytes; 10 arrive, then nothing.
    const socket = connect(Number(port), '127.0.0.1');
    await new Promise((r) => socket.once('connect', r));
    socket.write('POST /api/images HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"z": [[0,');
    let answer = '';
    socket.on('data', (d) => (answer += d.toString()));
    const closed = new Promise((r) => socket.once('close', r));
    const started = Date.now();
    const info = await fetch(studio.url + 'api/info');
    assert.equal(info.status, 200);
    assert.ok(Date.now() - started < 2000, `another request waited ${Date.now() - started} ms behind the slow one`);
    await closed;
    assert.match(answer, /^HTTP\/1\.1 408/);
    assert.match(answer, /did not arrive within 10 s/);
  } finally {
    await studio.close();
    run.model.dispose();
  }
});
