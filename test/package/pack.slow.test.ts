import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PNG } from 'pngjs';
import { tempDir } from '../helpers.ts';
import { serveStatic } from '../web/static-server.ts';
import { CHROMIUM, launchChromium } from '../web/chromium.ts';

/**
 * gantry as web developers get it: `npm pack`, then `npm install ./gantry-*.tgz` in a fresh folder. The
 * CLI runs there from compiled JavaScript (a fast --help, a short training run, an export), and a page
 * that imports `gantry/web` type-checks and bundles with esbuild and with Vite; the Vite build then
 * draws in Chromium from the exported folder, in the page, in a worker of the export's draw-worker.js and in
 * one Vite built from the package's gantry/web/worker entry.
 */
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const bin = (name: string) => join(root, 'node_modules', '.bin', name);

function run(cmd: string, args: string[], cwd: string, timeout = 600_000) {
  // SIGKILL at the timeout: npm, sent SIGTERM in a stalled download, waited on its own clean-up for half an hour.
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', timeout, killSignal: 'SIGKILL', env: { ...process.env, npm_config_audit: 'false', npm_config_fund: 'false' } });
  return { code: r.status, out: `${r.stdout}\n${r.stderr}`, timedOut: (r.error as NodeJS.ErrnoException | undefined)?.code === 'ETIMEDOUT' };
}

const PAGE = `import { loadGenerator, loadGeneratorInWorker, drawImage, type WebGenerator, type WorkerGenerator } from 'gantry/web';

const canvas = document.querySelector('canvas')!;
const g: WebGenerator = await loadGenerator('./site/');
const images = await g.generate({ seeds: [12] });
drawImage(canvas, images);
// The same generator in a worker, from the export's own worker script.
const w: WorkerGenerator = await loadGeneratorInWorker(new Worker('./site/draw-worker.js', { type: 'module' }), './site/');
const inWorker = await w.generate({ seeds: [12] });
const same = inWorker.pixels.every((v, i) => Math.abs(v - images.pixels[i]) <= 1);
document.title = \`drawn on \${g.backend}; in a worker on \${w.backend}, \${same ? 'the same' : 'other'} pixels\`;
`;

/** A second script of the Vite build only: the package's own worker entry, built into the page's assets by Vite's ?worker import. */
const VITE_WORKER = `import { loadGenerator, loadGeneratorInWorker } from 'gantry/web';
import DrawWorker from 'gantry/web/worker?worker';

const w = await loadGeneratorInWorker(new DrawWorker(), './site/');
const inWorker = await w.generate({ seeds: [12] });
const images = await (await loadGenerator('./site/')).generate({ seeds: [12] });
const same = inWorker.pixels.every((v, i) => Math.abs(v - images.pixels[i]) <= 1);
document.body.dataset.viteWorker = \`on \${w.backend}, \${same ? 'the same' : 'other'} pixels\`;
`;

/** A Node program of the user's own on the package's main export: trains, hears progress, draws a seed to PNG. */
const NODE_APP = `import { writeFileSync } from 'node:fs';
import { families, openGenerator, pngBytes, train, type TrainProgress } from 'gantry';

const heard: number[] = [];
const run = await train({
  family: 'dcgan', out: 'runs/api', model: { ngf: 8, ndf: 8 }, train: { steps: 4, batch: 8, logEvery: 2 }, quiet: true,
  onProgress: (p: TrainProgress) => heard.push(p.step),
});
const g = await openGenerator(run.runDir);
writeFileSync('seed-12.png', pngBytes(await g.generate({ seeds: [12] })));
g.dispose();
console.log(JSON.stringify({ heard, step: run.step, families: Object.keys(families).length }));
// Each family's model section is typed: a misspelt field does not compile.
// @ts-expect-error
export const misspelt = () => train({ family: 'dcgan', out: 'runs/x', model: { ngff: 8 } });
`;

test('npm pack, installed in a fresh folder: the CLI from compiled JavaScript, a Node program on gantry\'s API, and gantry/web type-checked, bundled by esbuild and Vite, drawing in Chromium', async () => {
  const dir = tempDir();
  const packed = run('npm', ['pack', '--pack-destination', dir], root);
  assert.equal(packed.code, 0, packed.out);
  assert.ok(!existsSync(join(root, 'dist')), 'the build of the package is not left in the checkout');
  const tarball = readdirSync(dir).find((f) => f.endsWith('.tgz'))!;
  const app = join(dir, 'app');
  mkdirSync(app);
  // The install scripts the project allows (npm 12 and later run a dependency's only where it is listed;
  // `npm install-scripts approve` writes a tarball's entry as its path): gantry's builds the native addon.
  const allowScripts = { [`file:${join(dir, tarball)}`]: true, esbuild: true, 'msgpackr-extract': true, webgpu: true };
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module', allowScripts }));
  // The install downloads gantry's dependencies from the registry (~1 minute): a download that stalls is tried once more.
  let installed = run('npm', ['install', join(dir, tarball)], app, 300_000);
  if (installed.timedOut) installed = run('npm', ['install', join(dir, tarball)], app, 300_000);
  assert.equal(installed.code, 0, installed.out);
  const pkg = join(app, 'node_modules', 'gantry');
  assert.ok(existsSync(join(pkg, 'dist', 'web', 'index.d.ts')), 'typed');
  assert.ok(!existsSync(join(pkg, 'src', 'cli')), 'compiled JavaScript ships, not the TypeScript sources');
  assert.ok(existsSync(join(pkg, 'build', 'Release', 'gantry_native.node')), 'the native addon was built on install');
  assert.doesNotMatch(installed.out, /not yet covered by allowScripts/);

  // The CLI: --help without loading tfjs or any command, then the main job's first steps.
  const gantry = join(app, 'node_modules', '.bin', 'gantry');
  const started = process.hrtime.bigint();
  const help = run(gantry, ['--help'], app);
  const helpMs = Number(process.hrtime.bigint() - started) / 1e6;
  assert.equal(help.code, 0, help.out);
  assert.match(help.out, /gantry export --run RUN_DIR --out DIR/);
  assert.ok(helpMs < 1000, `gantry --help took ${helpMs.toFixed(0)} ms`);
  // Without the addon (an install whose script npm skipped), the installed package says how to build it.
  assert.match(run(gantry, ['--version'], app).out, /CPU kernels: native/);
  renameSync(join(pkg, 'build'), join(pkg, 'build.away'));
  const unbuilt = run(gantry, ['--version'], app);
  renameSync(join(pkg, 'build.away'), join(pkg, 'build'));
  assert.match(unbuilt.out, /gantry_native\.node is missing; .*run `npm install-scripts approve gantry`, then `npm rebuild gantry`/);
  const trained = run(gantry, ['train', 'dcgan', '--steps', '50', '--out', 'runs/first', '--quiet'], app);
  assert.equal(trained.code, 0, trained.out);
  assert.match(trained.out, /runs\/first: step 50 lossD=/);
  const exported = run(gantry, ['export', '--run', 'runs/first', '--out', 'site'], app);
  assert.equal(exported.code, 0, exported.out);

  // A Node program of the user's own: type-checked against the shipped .d.ts (no DOM), compiled, run.
  const node = join(app, 'node-app');
  mkdirSync(node);
  writeFileSync(join(node, 'app.ts'), NODE_APP);
  writeFileSync(join(node, 'tsconfig.json'), JSON.stringify({
    compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, skipLibCheck: true, lib: ['ES2022'], types: ['node'], typeRoots: [join(root, 'node_modules', '@types')], outDir: 'out' },
    include: ['app.ts'],
  }));
  const compiled = run(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', '.'], node);
  assert.equal(compiled.code, 0, compiled.out);
  const ran = run(process.execPath, [join(node, 'out', 'app.js')], app);
  assert.equal(ran.code, 0, ran.out);
  assert.deepEqual(JSON.parse(ran.out.trim().split('\n').find((l) => l.startsWith('{'))!), { heard: [2, 4], step: 4, families: 11 });
  assert.deepEqual(PNG.sync.read(readFileSync(join(app, 'seed-12.png'))).width, 32);

  // A page of the user's own: type-checked against the shipped .d.ts, bundled by esbuild and by Vite.
  writeFileSync(join(app, 'main.ts'), PAGE);
  writeFileSync(join(app, 'vite-worker.js'), VITE_WORKER);
  writeFileSync(join(app, 'index.html'), '<!doctype html><html><body><canvas></canvas><script type="module" src="./main.ts"></script><script type="module" src="./vite-worker.js"></script></body></html>\n');
  writeFileSync(join(app, 'tsconfig.json'), JSON.stringify({ compilerOptions: { target: 'ES2022', module: 'ESNext', moduleResolution: 'bundler', strict: true, noEmit: true, skipLibCheck: true, lib: ['ES2022', 'DOM'] }, include: ['main.ts'] }));
  const checked = run(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', '.'], app);
  assert.equal(checked.code, 0, checked.out);
  const esbuilt = run(bin('esbuild'), ['main.ts', '--bundle', '--platform=browser', '--format=esm', '--outfile=out/esbuild.js', '--log-level=warning'], app);
  assert.equal(esbuilt.code, 0, esbuilt.out);
  const vite = run(process.execPath, [join(root, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', '--outDir', 'out/vite', '--logLevel', 'error'], app);
  assert.equal(vite.code, 0, vite.out);
  for (const file of [join(app, 'out', 'esbuild.js'), ...readdirSync(join(app, 'out', 'vite', 'assets')).map((f) => join(app, 'out', 'vite', 'assets', f))]) {
    assert.doesNotMatch(readFileSync(file, 'utf8'), /from\s*["']node:|__vite-browser-external/, `${file}: no Node module in a browser bundle`);
  }

  // The Vite build, beside the exported folder on a static server, draws in Chromium.
  if (!existsSync(CHROMIUM)) return;
  cpSync(join(app, 'site'), join(app, 'out', 'vite', 'site'), { recursive: true });
  const server = await serveStatic(join(app, 'out', 'vite'));
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(server.url);
    await page.waitForFunction(() => document.title.startsWith('drawn on'), null, { timeout: 60_000 });
    assert.equal(await page.title(), 'drawn on webgl; in a worker on webgl, the same pixels');
    await page.waitForFunction(() => document.body.dataset.viteWorker, null, { timeout: 60_000 });
    assert.equal(await page.evaluate(() => document.body.dataset.viteWorker), 'on webgl, the same pixels');
    assert.deepEqual(await page.evaluate(() => [document.querySelector('canvas')!.width, document.querySelector('canvas')!.height]), [32, 32]);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
    await server.close();
  }
});
