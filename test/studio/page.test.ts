import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Window } from 'happy-dom';
import { setup, tempDir } from '../helpers.ts';
import { train } from '../../src/train/trainer.ts';
import { validateRunConfig } from '../../src/train/run-config.ts';
import { openRun } from '../../src/train/run.ts';
import { startStudio } from '../../src/studio/server.ts';
import { STUDIO_PAGE } from '../../src/studio/page.ts';

await setup();

/**
 * The studio page in a headless DOM (happy-dom) against a live server: its script builds the controls
 * from the run, draws images on load and on each control, and shows the server's errors.
 */
test('studio page: sliders for the latent vector, a class picker, interpolation and arithmetic all draw images', async () => {
  const dir = join(tempDir(), 'cgan');
  await train({ outDir: dir, quiet: true, config: validateRunConfig({ family: 'cgan', seed: 1, data: 'shapes:40', model: { ngf: 4, ndf: 4, nz: 6, embedDim: 4 }, train: { steps: 1, batch: 4, samples: 4 } }, 'test') });
  const run = openRun(dir);
  const studio = await startStudio(run, dir, 0);
  const window = new Window({ url: studio.url, settings: { enableJavaScriptEvaluation: true } });
  try {
    const document = window.document;
    const settle = async () => {
      for (let i = 0; i < 50; i++) {
        await new Promise((r) => setTimeout(r, 40));
        await window.happyDOM.waitUntilComplete();
      }
    };
    document.write(STUDIO_PAGE);
    await settle();
    assert.match(document.getElementById('about')!.textContent!, /^cgan · .* · step 1 · 32x32$/);
    assert.equal(document.querySelectorAll('#sliders input').length, 6, 'one slider per latent dimension');
    assert.equal(document.querySelectorAll('#cls option').length, 4);
    const single = document.getElementById('single') as unknown as { src: string };
    assert.match(single.src, /^blob:/, 'the first image is drawn');
    assert.equal(document.getElementById('singleError')!.textContent, '');
    // Moving a slider redraws.
    const first = single.src;
    const slider = document.querySelector('#sliders input') as unknown as { value: string; dispatchEvent(e: unknown): void };
    slider.value = '2.5';
    slider.dispatchEvent(new window.Event('input'));
    await settle();
    assert.notEqual(single.src, first);
    (document.getElementById('interpolate') as unknown as { click(): void }).click();
    await settle();
    assert.match((document.getElementById('strip') as unknown as { src: string }).src, /^blob:/);
    (document.getElementById('expr') as unknown as { value: string }).value = 'seed:1 +';
    (document.getElementById('arith') as unknown as { click(): void }).click();
    await settle();
    assert.match(document.getElementById('arithError')!.textContent!, /cannot read/);
  } finally {
    await window.happyDOM.close();
    await studio.close();
    run.model.dispose();
  }
});

test('studio page on a text run: a typed caption redraws, unknown words are named, caption interpolation draws a strip', async () => {
  const dir = join(tempDir(), 'text');
  await train({ outDir: dir, quiet: true, config: validateRunConfig({ family: 'gan-cls', seed: 1, data: 'shapes:40', model: { ngf: 4, ndf: 4, nz: 6, projectionDim: 4, embedDim: 8, wordDim: 4, textHidden: 8, textSteps: 1 }, train: { steps: 2, batch: 4, samples: 4 } }, 'test') });
  const run = openRun(dir);
  const studio = await startStudio(run, dir, 0);
  const window = new Window({ url: studio.url, settings: { enableJavaScriptEvaluation: true } });
  type Field = { value: string; src: string; hidden: boolean; click(): void; dispatchEvent(e: unknown): void };
  const el = (id: string) => window.document.getElementById(id) as unknown as Field;
  const settle = async () => {
    for (let i = 0; i < 50; i++) {
      await new Promise((r) => setTimeout(r, 40));
      await window.happyDOM.waitUntilComplete();
    }
  };
  try {
    window.document.write(STUDIO_PAGE);
    await settle();
    assert.equal(el('textRow').hidden, false);
    assert.equal(el('classRow').hidden, true);
    assert.match(el('caption').value, / background$/, 'starts with the first sample caption');
    const first = el('single').src;
    assert.match(first, /^blob:/);
    el('caption').value = 'a small magenta square on a white background';
    el('caption').dispatchEvent(new window.KeyboardEvent('keydown', { key: 'Enter' }));
    await settle();
    assert.notEqual(el('single').src, first);
    assert.match(window.document.getElementById('captionHint')!.textContent!, /never seen in training .*magenta/);
    el('interpolateText').click();
    await settle();
    assert.match(el('strip').src, /^blob:/);
    assert.equal(window.document.getElementById('stripError')!.textContent, '');
  } finally {
    await window.happyDOM.close();
    await studio.close();
    run.model.dispose();
  }
});
