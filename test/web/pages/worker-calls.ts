// A test page (test/web/browser.test.ts bundles it): loadGeneratorInWorker as a page of the user's own
// calls it, against an exported dcgan folder and its draw-worker.js. Each case says what it saw.
import { GantryError, loadGeneratorInWorker, type WorkerGenerator } from '../../../src/web/index.ts';

type Seen = { ok: true; value: unknown } | { ok: false; message: string; gantry: boolean };

async function seen(action: () => Promise<unknown>): Promise<Seen> {
  try {
    return { ok: true, value: await action() };
  } catch (err) {
    return { ok: false, message: (err as Error).message, gantry: err instanceof GantryError };
  }
}

async function workerCalls(site: string): Promise<Record<string, Seen>> {
  const script = `${site}draw-worker.js`;
  const worker = () => new Worker(script, { type: 'module' });
  const out: Record<string, Seen> = {};
  out.missingScript = await seen(() => loadGeneratorInWorker(new Worker(`${site}no-such-worker.js`, { type: 'module' }), site));
  out.missingFolder = await seen(() => loadGeneratorInWorker(worker(), `${site}no-such-folder/`));
  const progress: { loaded: number; total: number | null }[] = [];
  const g: WorkerGenerator = await loadGeneratorInWorker(worker(), site, { backends: ['cpu'], onProgress: (p) => progress.push(p) });
  const last = progress.at(-1);
  out.loaded = { ok: true, value: { backend: g.backend, family: g.family, infersStyle: g.infersStyle, progressCalls: progress.length, last } };
  out.noSeeds = await seen(() => g.generate({}));
  out.seedsAndLatents = await seen(() => g.generate({ seeds: [1], latents: [g.latent(1)] }));
  out.unsendable = await seen(() => g.generate({ seeds: [1], truncation: (() => 1) as unknown as number }));
  out.noEncoder = await seen(() => g.styleLatent({ width: 2, height: 2, channels: 1, data: new Uint8Array(4) }));
  // Requests in flight together each get their own answer.
  const [one, two] = await Promise.all([g.generate({ seeds: [3] }), g.generate({ seeds: [4, 5] })]);
  const again = await g.generate({ seeds: [4] });
  const per = one.pixels.length;
  out.together = {
    ok: true,
    value: { n: [one.n, two.n], sameSeedSamePixels: again.pixels.every((v, i) => v === two.pixels[i]), otherSeedOtherPixels: one.pixels.some((v, i) => v !== two.pixels[i]), per, twoLength: two.pixels.length },
  };
  g.dispose();
  out.afterDispose = await seen(() => g.generate({ seeds: [1] }));
  return out;
}

(window as unknown as { workerCalls: typeof workerCalls }).workerCalls = workerCalls;
document.body.dataset.ready = 'true';
