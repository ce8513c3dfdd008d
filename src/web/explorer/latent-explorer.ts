/**
 * The explorer of generators with latent vectors: a grid of seeds, one image edited with sliders over
 * its latent vector (with undo), truncation, the class or caption, interpolation and vector arithmetic.
 * What names the image (seed, truncation, class, caption, slider edits) lives in the URL's hash, so a
 * reload or a shared link shows the same thing.
 */
import { arithmeticVectors, parseLatentExpression, slerp } from '../../explore/latent.ts';
import { drawImage, pngBytes } from '../canvas.ts';
import type { GeneratedImages, GenerateOptions } from '../generator.ts';
import type { PageGenerator } from '../page-generator.ts';
import { shellWord } from '../../errors.ts';
import { $, act, downloadBytes, input, LatestOnly, markShrunk, readImage, seedField, select, showTiles } from './page.ts';

/** Seeds in the start grid. */
const GRID = 12;
/** Sliders move each latent number within ±SLIDER_RANGE. */
const SLIDER_RANGE = 3;

interface EditorState {
  seed: number;
  truncation: number | undefined;
  cls: number | undefined;
  caption: string | undefined;
  /** Slider edits: latent index -> value (the rest are the seed's own). */
  edits: Map<number, number>;
}

function readHash(): URLSearchParams {
  return new URLSearchParams(location.hash.slice(1));
}

function stateFromHash(g: PageGenerator): EditorState {
  const h = readHash();
  const int = (key: string) => {
    const v = Number(h.get(key));
    return h.has(key) && Number.isInteger(v) && v >= 0 ? v : undefined;
  };
  const t = Number(h.get('t'));
  const edits = new Map<number, number>();
  for (const pair of (h.get('edit') ?? '').split(',').filter(Boolean)) {
    const [i, v] = pair.split(':').map(Number);
    if (Number.isInteger(i) && i >= 0 && i < g.info.latentDim && Number.isFinite(v)) edits.set(i, v);
  }
  const classes = g.classes?.length ?? 0;
  const cls = int('class');
  return {
    seed: int('seed') ?? 0,
    truncation: t > 0 ? t : undefined,
    cls: cls !== undefined && cls < classes ? cls : classes ? 0 : undefined,
    caption: g.info.conditioning.kind === 'text' ? h.get('text') ?? g.captions?.[0] : undefined,
    edits,
  };
}

function writeHash(s: EditorState): void {
  const h = new URLSearchParams();
  h.set('seed', String(s.seed));
  if (s.truncation) h.set('t', String(s.truncation));
  if (s.cls !== undefined) h.set('class', String(s.cls));
  if (s.caption !== undefined) h.set('text', s.caption);
  if (s.edits.size) h.set('edit', [...s.edits].map(([i, v]) => `${i}:${v.toFixed(2)}`).join(','));
  history.replaceState(null, '', `#${h.toString()}`);
}

export function latentExplorer(g: PageGenerator): void {
  const dim = g.info.latentDim;
  const classes = g.classes;
  const isText = g.info.conditioning.kind === 'text';
  const state = stateFromHash(g);
  const undoStack: Map<number, number>[] = [];
  const drawer = new LatestOnly($('image').parentElement!);
  let lastImage: GeneratedImages | null = null;

  for (const id of ['start', 'editor', 'interp', 'arith']) $(id).hidden = false;
  $('classBox').hidden = !classes;
  $('classStripBox').hidden = !classes;
  $('classInterpBox').hidden = !classes;
  $('textBox').hidden = !isText;
  $('textInterpBox').hidden = !isText;
  if (classes) {
    for (const id of ['classSelect', 'classA', 'classB']) {
      select(id).replaceChildren(...classes.map((name, k) => new Option(name === String(k) ? name : `${k}: ${name}`, String(k))));
    }
    select('classB').value = String(Math.min(1, classes.length - 1));
  }
  const captions = g.captions ?? [];
  if (isText) {
    input('captionA').value = captions[0] ?? '';
    input('captionB').value = captions[1] ?? captions[0] ?? '';
  }

  /** What every image of the editor, the interpolation and the arithmetic is conditioned on. */
  const condition = (): Pick<GenerateOptions, 'class' | 'text'> => ({ class: state.cls, text: isText ? state.caption : undefined });

  const seedVector = () => g.latent(state.seed, state.truncation);
  const currentVector = () => {
    const z = seedVector();
    for (const [i, v] of state.edits) z[i] = v;
    return z;
  };

  // Sliders: one per latent number, with its value; edited ones marked; double-click resets one.
  const sliders: HTMLInputElement[] = [];
  const outputs: HTMLOutputElement[] = [];
  const labels: HTMLLabelElement[] = [];
  for (let i = 0; i < dim; i++) {
    const label = document.createElement('label');
    const range = document.createElement('input');
    Object.assign(range, { type: 'range', min: String(-SLIDER_RANGE), max: String(SLIDER_RANGE), step: '0.01' });
    range.setAttribute('aria-label', `latent ${i}`);
    const out = document.createElement('output');
    label.append(`z${i}`, range, out);
    // One undo step a slider interaction (a drag, key presses, a typed value): the edits before its first input.
    let moving = false;
    range.addEventListener('input', () => {
      if (!moving) pushUndo();
      moving = true;
      state.edits.set(i, Number(range.value));
      syncSlider(i);
      changed();
    });
    range.addEventListener('change', () => {
      moving = false;
    });
    range.addEventListener('dblclick', () => {
      pushUndo();
      state.edits.delete(i);
      syncSliders();
      changed();
    });
    sliders.push(range);
    outputs.push(out);
    labels.push(label);
  }
  $('sliders').replaceChildren(...labels);

  function syncSlider(i: number, base = seedVector()): void {
    const v = state.edits.get(i) ?? base[i];
    sliders[i].value = String(v);
    outputs[i].value = v.toFixed(2);
    labels[i].classList.toggle('edited', state.edits.has(i));
  }

  function syncSliders(): void {
    const base = seedVector();
    for (let i = 0; i < dim; i++) syncSlider(i, base);
    ($('undo') as HTMLButtonElement).disabled = undoStack.length === 0;
  }

  function pushUndo(): void {
    undoStack.push(new Map(state.edits));
    if (undoStack.length > 200) undoStack.shift();
    ($('undo') as HTMLButtonElement).disabled = false;
  }

  function syncFields(): void {
    input('seed').value = String(state.seed);
    input('truncation').value = String(state.truncation ?? 0);
    $('truncationValue').textContent = state.truncation ? state.truncation.toFixed(2) : 'off';
    if (classes && state.cls !== undefined) select('classSelect').value = String(state.cls);
    if (isText && document.activeElement !== input('caption')) input('caption').value = state.caption ?? '';
  }

  function describeShown(): string {
    const parts = [`seed ${state.seed}`];
    if (state.edits.size) parts.push(`${state.edits.size} of ${dim} numbers edited`);
    if (state.truncation) parts.push(`truncation ${state.truncation}`);
    if (classes && state.cls !== undefined) parts.push(`class ${classes[state.cls]}`);
    if (isText) parts.push(`"${state.caption}"`);
    return parts.join(' · ');
  }

  /** The editor's image, redrawn after any change (latest wins). */
  function changed(): void {
    writeHash(state);
    drawer.request(async () => {
      const images = await g.generate({ latents: [currentVector()], ...condition() });
      lastImage = images;
      drawImage($<HTMLCanvasElement>('image'), images, 0);
      markShrunk($<HTMLCanvasElement>('image'));
      $('imageCaption').textContent = describeShown();
    });
  }

  function select_(seed: number, cls?: number): void {
    pushUndo();
    state.seed = seed;
    if (cls !== undefined) state.cls = cls;
    state.edits.clear();
    syncFields();
    syncSliders();
    changed();
    void act(drawClassStrip);
  }

  async function drawGrid(): Promise<void> {
    const first = seedField('gridSeed', 'the first seed');
    const seeds = Array.from({ length: GRID }, (_, i) => first + i);
    const images = await g.generate({ seeds, truncation: state.truncation, ...(isText ? { text: state.caption } : {}) });
    // Class runs: class i % K, as `gantry sample` lays out a grid.
    const label = (i: number) => (classes ? `seed ${seeds[i]} · ${classes[i % classes.length]}` : `seed ${seeds[i]}`);
    showTiles($('grid'), images, seeds.map((_, i) => label(i)), (i) => select_(seeds[i], classes ? i % classes.length : undefined));
  }

  async function drawClassStrip(): Promise<void> {
    if (!classes) return;
    const images = await g.generate({ latents: classes.map(() => currentVector()), classWeights: classes.map((_, k) => classes.map((__, j) => (j === k ? 1 : 0))) });
    showTiles($('classStrip'), images, classes.map((c) => c), (k) => {
      pushUndo();
      state.cls = k;
      syncFields();
      changed();
    });
  }

  // Editor controls.
  input('seed').addEventListener('change', () => act(() => select_(seedField('seed', 'the seed'))));
  $('randomSeed').addEventListener('click', () => select_(Math.floor(Math.random() * 100000)));
  input('truncation').addEventListener('input', () => {
    const t = Number(input('truncation').value);
    state.truncation = t > 0 ? t : undefined;
    state.edits.clear();
    syncFields();
    syncSliders();
    changed();
  });
  input('truncation').addEventListener('change', () => act(drawGrid));
  select('classSelect').addEventListener('change', () => {
    pushUndo();
    state.cls = Number(select('classSelect').value);
    changed();
  });
  input('caption').addEventListener('keydown', (e) => {
    if (e.key !== 'Enter') return;
    const text = input('caption').value.trim();
    void act(() => {
      if (!text) throw new Error('the caption is empty; type one, e.g. ' + (captions[0] ?? 'a red circle'));
      const unknown = g.unknownWords(text);
      $('captionHint').textContent = unknown.length ? `never seen in training (read as an unknown word): ${unknown.join(', ')}` : '';
      state.caption = text;
      changed();
      void act(drawGrid);
    });
  });
  $('undo').addEventListener('click', undo);
  $('resetSliders').addEventListener('click', () => {
    pushUndo();
    state.edits.clear();
    syncSliders();
    changed();
  });
  $('download').addEventListener('click', () => act(async () => {
    if (!lastImage) throw new Error('no image yet');
    downloadBytes(await pngBytes(lastImage), `gantry-seed-${state.seed}.png`);
  }));
  $('copyVector').addEventListener('click', () => act(async () => {
    await navigator.clipboard.writeText(cliCommand());
    $('imageCaption').textContent = `${describeShown()} · command copied`;
  }));
  /** The gantry sample command that draws what the editor shows (its vector, class or caption). */
  function cliCommand(): string {
    const vector = JSON.stringify(Array.from(currentVector(), (v) => Number(v.toFixed(4))));
    const condition = classes && state.cls !== undefined ? ` --class ${state.cls}` : isText && state.caption ? ` --text ${shellWord(state.caption)}` : '';
    return `gantry sample --run ${shellWord(g.file.run)} --latent '${vector}'${condition} --out seed-${state.seed}-edited.png`;
  }
  (window as unknown as { gantryExplorer: Record<string, unknown> }).gantryExplorer.cliCommand = cliCommand;
  // The editor's vector, for tests and the browser's console.
  (window as unknown as { gantryExplorer: Record<string, unknown> }).gantryExplorer.vector = () => Array.from(currentVector());
  $('styleBox').hidden = !g.infersStyle;
  // A text run's encoder gives the image's style, drawn with the caption; an auto-encoder's, the image itself.
  if (!isText) $('styleLabel').textContent = 'start from an image (its encoding)';
  input('styleFile').addEventListener('change', () => act(async () => {
    const file = input('styleFile').files?.[0];
    if (!file) return;
    const z = await g.styleLatent(await readImage(file));
    pushUndo();
    state.edits = new Map(Array.from(z, (v, i) => [i, v]));
    syncSliders();
    changed();
  }));
  // Projection: the vector (and class) whose image is closest to the user's, as `gantry project` finds it.
  $('projectBox').hidden = !g.projects;
  let stopProjection: AbortController | null = null;
  $('projectStop').addEventListener('click', () => stopProjection?.abort());
  input('projectFile').addEventListener('change', () => act(async () => {
    const file = input('projectFile').files?.[0];
    if (!file) return;
    const steps = seedField('projectSteps', 'steps');
    const status = $('projectStatus');
    status.textContent = 'finding its vector…';
    let percent = 0;
    stopProjection = new AbortController();
    input('projectFile').disabled = true;
    $('projectStop').hidden = false;
    try {
      const found = await g.project(await readImage(file), {
        steps,
        text: isText ? state.caption : undefined,
        signal: stopProjection.signal,
        onProgress: (done, total) => {
          percent = Math.floor((100 * done) / total);
          status.textContent = `finding its vector: ${percent}%`;
        },
      });
      pushUndo();
      state.edits = new Map(Array.from(found.latent, (v, i) => [i, v]));
      if (classes && found.class !== undefined) state.cls = classes.indexOf(found.class);
      const how = stopProjection.signal.aborted && percent < 100 ? `stopped at ${percent}%` : 'found';
      status.textContent = `${how}: squared error ${found.start.toPrecision(3)} → ${found.distance.toPrecision(3)}${found.class !== undefined ? `, class ${found.class}` : ''}`;
    } catch (err) {
      status.textContent = 'not found (the error is above)';
      throw err;
    } finally {
      stopProjection = null;
      input('projectFile').disabled = false;
      input('projectFile').value = '';
      $('projectStop').hidden = true;
    }
    syncFields();
    syncSliders();
    changed();
  }));
  function undo(): void {
    const previous = undoStack.pop();
    if (!previous) return;
    state.edits = previous;
    syncSliders();
    changed();
  }
  document.addEventListener('keydown', (e) => {
    if ((e.ctrlKey || e.metaKey) && e.key === 'z' && !(e.target instanceof HTMLInputElement && e.target.type === 'text')) {
      e.preventDefault();
      undo();
    }
  });

  // The start grid.
  input('gridSeed').addEventListener('change', () => act(drawGrid));
  const page = (delta: number) => act(() => {
    input('gridSeed').value = String(Math.max(0, seedField('gridSeed', 'the first seed') + delta));
    return drawGrid();
  });
  $('gridPrev').addEventListener('click', () => page(-GRID));
  $('gridNext').addEventListener('click', () => page(GRID));

  // Interpolation: between seeds, classes or captions.
  const frames = () => {
    const raw = input('frames').value.trim();
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 2 || n > 64) throw new Error(`frames must be a whole number from 2 to 64, not "${raw}"`);
    return n;
  };
  const strip = (images: GeneratedImages, label: (f: number) => string) => showTiles($('strip'), images, Array.from({ length: images.n }, (_, f) => label(f)));
  $('interpolate').addEventListener('click', () => act(async () => {
    const a = seedField('seedA', 'the first seed');
    const b = seedField('seedB', 'the second seed');
    const n = frames();
    const za = g.latent(a, state.truncation);
    const zb = g.latent(b, state.truncation);
    const latents = Array.from({ length: n }, (_, f) => slerp(za, zb, f / (n - 1)));
    strip(await g.generate({ latents, ...condition() }), (f) => (f === 0 ? `seed ${a}` : f === n - 1 ? `seed ${b}` : `${f}/${n - 1}`));
  }));
  $('interpolateClasses').addEventListener('click', () => act(async () => {
    const [a, b] = [Number(select('classA').value), Number(select('classB').value)];
    const n = frames();
    const k = classes!.length;
    const classWeights = Array.from({ length: n }, (_, f) => Array.from({ length: k }, (__, j) => (j === a ? 1 - f / (n - 1) : 0) + (j === b ? f / (n - 1) : 0)));
    const z = currentVector();
    strip(await g.generate({ latents: classWeights.map(() => z), classWeights }), (f) => (f === 0 ? classes![a] : f === n - 1 ? classes![b] : `${f}/${n - 1}`));
  }));
  $('interpolateText').addEventListener('click', () => act(async () => {
    const [a, b] = [input('captionA').value.trim(), input('captionB').value.trim()];
    if (!a || !b) throw new Error('type both captions to interpolate between');
    const n = frames();
    const z = currentVector();
    // GAN-INT's path: the sentence vectors move linearly from caption A to caption B.
    const unknown = [...g.unknownWords(a), ...g.unknownWords(b)];
    strip(await g.generate({ latents: Array.from({ length: n }, () => z), textBetween: [a, b] }), (f) => (f === 0 ? a : f === n - 1 ? b : `${f}/${n - 1}`));
    $('captionHint').textContent = unknown.length ? `never seen in training: ${unknown.join(', ')}` : '';
  }));

  // Latent arithmetic.
  const arithmetic = () => act(async () => {
    const terms = parseLatentExpression(input('expr').value);
    const vectors = arithmeticVectors(terms, dim, state.truncation);
    const images = await g.generate({ latents: vectors, ...condition() });
    showTiles($('arithOut'), images, [...terms.map((t, i) => `${i === 0 && t.sign > 0 ? '' : t.sign < 0 ? '− ' : '+ '}${t.text}`), '= result']);
  });
  $('arithmetic').addEventListener('click', arithmetic);
  input('expr').addEventListener('keydown', (e) => {
    if (e.key === 'Enter') void arithmetic();
  });

  syncFields();
  syncSliders();
  changed();
  void act(drawGrid);
  void act(drawClassStrip);
}
