/**
 * The explorer page `gantry export` writes (index.html + explorer.css + this script, bundled): a
 * person explores a trained generator in the page itself, with no server beyond static files. Every
 * image is drawn here by gantry/web (the CLI's networks on tfjs's WebGPU, WebGL or CPU backend).
 *
 * State that names an image (seed, truncation, class, caption, slider edits) lives in the URL's hash,
 * so a reload or a shared link shows the same thing.
 */
// Not gantry/web's index: tfjs's backends and gantry's networks are the worker's (draw-worker.js), not this script's.
import { arithmeticVectors, parseLatentExpression, slerp } from '../../explore/latent.ts';
import { drawImage, pngBytes } from '../canvas.ts';
import type { DownloadProgress } from '../download.ts';
import type { GpuKernels } from '../engine.ts';
import type { GeneratedImages, GenerateOptions, LabelMapInput } from '../generator.ts';
import type { PageGenerator } from '../page-generator.ts';
import { loadGeneratorInWorker, WORKER_SCRIPT } from '../worker-generator.ts';
import { describeError, formatDuration, shellWord } from '../../errors.ts';
import type { TrainingProgress } from '../training-progress.ts';
import { nearestCoverCrop, type RawImage } from '../../io/pixels.ts';

const $ = <T extends HTMLElement = HTMLElement>(id: string) => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`the page has no #${id}`);
  return el as T;
};
const input = (id: string) => $<HTMLInputElement>(id);
const select = (id: string) => $<HTMLSelectElement>(id);

/** Seeds in the start grid. */
const GRID = 12;
/** Sliders move each latent number within ±SLIDER_RANGE. */
const SLIDER_RANGE = 3;
/** How often the studio's live page asks whether the run has a newer checkpoint, and how its training goes. */
const LIVE_POLL_MS = 5000;

// ---- errors: every failure is one visible line, never a silent console entry -----------------------

function showError(err: unknown): void {
  const box = $('error');
  box.textContent = describeError(err);
  box.hidden = false;
}

function clearError(): void {
  $('error').hidden = true;
}

window.addEventListener('error', (e) => showError(e.error ?? e.message));
window.addEventListener('unhandledrejection', (e) => showError(e.reason));

/** Actions still running; the body's data-pending says how many (tests wait for 0). */
let pending = 0;
document.body.dataset.pending = '0';

/** Runs an action of the page, showing its error (and clearing an earlier one when it succeeds). */
async function act(action: () => Promise<void> | void): Promise<void> {
  document.body.dataset.pending = String(++pending);
  try {
    await action();
    clearError();
  } catch (err) {
    showError(err);
  } finally {
    document.body.dataset.pending = String(--pending);
  }
}

/** A whole number >= 0 from a number field, or one error naming the field. */
function seedField(id: string, what: string): number {
  const raw = input(id).value.trim();
  const n = Number(raw);
  if (raw === '' || !Number.isInteger(n) || n < 0) throw new Error(`${what} must be a whole number of 0 or more, not "${raw}"`);
  return n;
}

// ---- drawing ------------------------------------------------------------------------------------------

/**
 * Canvases show their pixels as crisp squares when magnified (image-rendering: pixelated in the CSS). A
 * canvas shown smaller than its pixels (a 1024x512 painter in a 480-pixel column) is smoothed instead:
 * pixelated shrinking drops pixels, and the fine texture of an image turns into false stripes.
 */
const scaling = new ResizeObserver((entries) => {
  for (const e of entries) markShrunk(e.target as HTMLCanvasElement, e.contentRect.width);
});

function markShrunk(canvas: HTMLCanvasElement, shownWidth = canvas.getBoundingClientRect().width): void {
  canvas.classList.toggle('shrunk', shownWidth > 0 && canvas.width > shownWidth);
}

/** Keeps canvas's smoothing right as it is drawn at another size or laid out anew. */
function watchScaling(canvas: HTMLCanvasElement): HTMLCanvasElement {
  scaling.observe(canvas);
  return canvas;
}

function figure(images: GeneratedImages, i: number, caption: string, onClick?: () => void): HTMLElement {
  const fig = document.createElement('figure');
  const canvas = watchScaling(document.createElement('canvas'));
  drawImage(canvas, images, i);
  canvas.setAttribute('aria-label', caption);
  fig.append(canvas);
  const cap = document.createElement('figcaption');
  cap.textContent = caption;
  fig.append(cap);
  if (onClick) {
    fig.tabIndex = 0;
    fig.addEventListener('click', onClick);
    fig.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' || e.key === ' ') {
        e.preventDefault();
        onClick();
      }
    });
  }
  return fig;
}

function showTiles(box: HTMLElement, images: GeneratedImages, captions: string[], onClick?: (i: number) => void): void {
  box.replaceChildren(...captions.map((c, i) => figure(images, i, c, onClick && (() => onClick(i)))));
  box.classList.toggle('clickable', Boolean(onClick));
}

/**
 * Draws at most one image request at a time and only the latest of those asked for meanwhile: a slider
 * dragged across its range costs one draw per finished frame, not one per input event. While it draws,
 * its figure is marked `drawing` and, from the first second on, says for how long: a large generator
 * (NVIDIA's label2city at 512x1024) takes seconds on a GPU and minutes on a laptop's software WebGL.
 * The CSS shows the mark only after a moment, so the quick draws of a dragged slider do not flicker.
 */
class LatestOnly {
  private running = false;
  private next: (() => Promise<void>) | null = null;
  private readonly status: HTMLElement;

  constructor(private readonly figure: HTMLElement) {
    this.status = document.createElement('span');
    this.status.className = 'busy';
    figure.append(this.status);
  }

  request(job: () => Promise<void>): void {
    this.next = job;
    if (!this.running) void this.drain();
  }

  private async drain(): Promise<void> {
    this.running = true;
    const started = performance.now();
    this.figure.classList.add('drawing');
    this.figure.setAttribute('aria-busy', 'true');
    this.status.textContent = 'drawing…';
    const clock = setInterval(() => (this.status.textContent = `drawing… ${Math.floor((performance.now() - started) / 1000)} s`), 1000);
    try {
      while (this.next) {
        const job = this.next;
        this.next = null;
        await act(job);
      }
    } finally {
      clearInterval(clock);
      this.figure.classList.remove('drawing');
      this.figure.removeAttribute('aria-busy');
      this.status.textContent = '';
      this.running = false;
    }
  }
}

// ---- the latent explorer (generators with latent vectors) ---------------------------------------------

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

function latentExplorer(g: PageGenerator): void {
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

function downloadBytes(bytes: Uint8Array, name: string): void {
  const url = URL.createObjectURL(new Blob([bytes as BlobPart], { type: 'image/png' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

// ---- painting label maps (label-map generators: pix2pixHD) --------------------------------------------

function labelPainter(g: PageGenerator): void {
  const labels = g.labels!;
  const { width, height } = g.info;
  const area = width * height;
  $('paint').hidden = false;
  const canvas = $<HTMLCanvasElement>('labelCanvas');
  canvas.width = width;
  canvas.height = height;
  const context = canvas.getContext('2d')!;
  let map: { labels: Int32Array; instances: Int32Array } = { labels: new Int32Array(area), instances: new Int32Array(area) };
  const undoStack: { labels: Int32Array; instances: Int32Array }[] = [];
  const choose: Record<number, number> = {};
  // A photo whose objects' features (the generator's encoder reads them) style every object not chosen.
  let photo: { name: string; image: RawImage } | null = null;
  const drawer = new LatestOnly($('paintResult').parentElement!);
  let label = 0;
  let lastImage: GeneratedImages | null = null;

  // The palette: one button a label, in its display colour.
  const buttons = labels.colours.map(([r, gr, b], id) => {
    const button = document.createElement('button');
    button.type = 'button';
    button.textContent = labels.names[id] ? `${id} ${labels.names[id]}` : String(id);
    button.style.background = `rgb(${r},${gr},${b})`;
    button.setAttribute('role', 'radio');
    button.addEventListener('click', () => pick(id));
    return button;
  });
  $('palette').replaceChildren(...buttons);
  const pick = (id: number) => {
    label = id;
    buttons.forEach((b, i) => b.setAttribute('aria-checked', String(i === id)));
  };
  pick(Math.min(1, labels.count - 1));
  // Styles are the learned ones of a run with a feature encoder; without them the style controls do nothing.
  if (!g.file.styles) {
    $('styleSeedField').hidden = true;
    select('tool').querySelector('option[value="style"]')?.remove();
  }

  const examples = g.examples;
  select('example').replaceChildren(new Option('a blank map', '-1'), ...examples.map((_, i) => new Option(`test map ${i + 1}`, String(i))));
  /** Starts from test map k (-1: a blank map); `undoable`: a person chose it, so undo can go back. */
  const start = (k: number, undoable = true) => {
    if (undoable) pushUndo();
    const e = examples[k];
    map = e
      ? { labels: Int32Array.from(e.labels), instances: e.instances ? Int32Array.from(e.instances) : Int32Array.from(e.labels) }
      : { labels: new Int32Array(area), instances: new Int32Array(area) };
    repaint();
  };
  select('example').addEventListener('change', () => start(Number(select('example').value)));

  function pushUndo(): void {
    undoStack.push({ labels: map.labels.slice(), instances: map.instances.slice() });
    if (undoStack.length > 100) undoStack.shift();
    ($('paintUndo') as HTMLButtonElement).disabled = false;
  }
  function undo(): void {
    const previous = undoStack.pop();
    if (!previous) return;
    map = previous;
    ($('paintUndo') as HTMLButtonElement).disabled = undoStack.length === 0;
    repaint();
  }
  $('paintUndo').addEventListener('click', undo);
  document.addEventListener('keydown', (e) => {
    if ((e.ctrlKey || e.metaKey) && e.key === 'z') {
      e.preventDefault();
      undo();
    }
  });

  const input_ = (): LabelMapInput => ({ width, height, labels: map.labels, instances: labels.instances ? map.instances : undefined });

  /** What the result image is drawn with. */
  const request = (): GenerateOptions => ({ labelMaps: [input_()], styles: { seed: seedField('styleSeed', 'the style seed'), choose: { ...choose }, ...(photo ? { photo: photo.image } : {}) } });
  (window as unknown as { gantryExplorer: Record<string, unknown> }).gantryExplorer.painting = request;

  // A generator with a feature encoder but no learned styles (NVIDIA's, exported with --encoder alone) draws from a photo's.
  const needsPhoto = g.encodesPhotos && !g.file.styles;

  /** The label map in colour, and the image drawn from it (latest wins while painting). */
  function repaint(): void {
    const rgba = context.createImageData(width, height);
    for (let p = 0; p < area; p++) {
      const [r, gr, b] = labels.colours[map.labels[p]] ?? [128, 128, 128];
      rgba.data.set([r, gr, b, 255], p * 4);
    }
    context.putImageData(rgba, 0, 0);
    if (needsPhoto && !photo) {
      $('paintCaption').textContent = 'choose "styles of a photo": this generator has no learned styles, and draws each object as its encoder reads it in a photo';
      return;
    }
    drawer.request(async () => {
      const images = await g.generate(request());
      lastImage = images;
      drawImage($<HTMLCanvasElement>('paintResult'), images, 0);
      markShrunk($<HTMLCanvasElement>('paintResult'));
      const chosen = Object.keys(choose).length;
      $('paintCaption').textContent = `drawn from the map${photo ? ` in the styles of ${photo.name}` : ''}${chosen ? `, ${chosen} objects with chosen styles` : ''}`;
    });
  }

  const pixelAt = (e: PointerEvent) => {
    const r = canvas.getBoundingClientRect();
    return { x: Math.min(width - 1, Math.max(0, Math.floor(((e.clientX - r.left) / r.width) * width))), y: Math.min(height - 1, Math.max(0, Math.floor(((e.clientY - r.top) / r.height) * height))) };
  };
  const tool = () => select('tool').value;
  const brush = () => Number(select('brush').value);

  function dab(x: number, y: number, id: number): void {
    const radius = brush() / 2;
    for (let dy = Math.floor(-radius); dy <= radius; dy++) {
      for (let dx = Math.floor(-radius); dx <= radius; dx++) {
        const px = Math.round(x + dx);
        const py = Math.round(y + dy);
        if (px < 0 || py < 0 || px >= width || py >= height || dx * dx + dy * dy > Math.max(radius * radius, 0.25)) continue;
        map.labels[py * width + px] = id;
        // A painted region is one object of its label (as stuff is in Cityscapes' instance maps).
        map.instances[py * width + px] = id;
      }
    }
  }

  function fill(x: number, y: number, id: number): void {
    const from = map.labels[y * width + x];
    const fromInstance = map.instances[y * width + x];
    if (from === id && fromInstance === id) return;
    const stack = [y * width + x];
    const seen = new Uint8Array(area);
    while (stack.length) {
      const p = stack.pop()!;
      if (seen[p] || map.labels[p] !== from || map.instances[p] !== fromInstance) continue;
      seen[p] = 1;
      map.labels[p] = id;
      map.instances[p] = id;
      const px = p % width;
      if (px > 0) stack.push(p - 1);
      if (px < width - 1) stack.push(p + 1);
      if (p >= width) stack.push(p - width);
      if (p < area - width) stack.push(p + width);
    }
  }

  let painting = false;
  let last: { x: number; y: number } | null = null;
  canvas.addEventListener('pointerdown', (e) => {
    const { x, y } = pixelAt(e);
    if (tool() === 'style') {
      void act(() => cycleStyle(x, y));
      return;
    }
    pushUndo();
    if (tool() === 'fill') {
      fill(x, y, label);
      repaint();
      return;
    }
    painting = true;
    canvas.setPointerCapture(e.pointerId);
    last = { x, y };
    dab(x, y, tool() === 'eraser' ? 0 : label);
    repaint();
  });
  canvas.addEventListener('pointermove', (e) => {
    if (!painting) return;
    const p = pixelAt(e);
    const id = tool() === 'eraser' ? 0 : label;
    // A line of dabs from the last point, so a fast stroke has no gaps.
    const steps = Math.max(1, Math.ceil(Math.hypot(p.x - last!.x, p.y - last!.y)));
    for (let s = 1; s <= steps; s++) dab(last!.x + ((p.x - last!.x) * s) / steps, last!.y + ((p.y - last!.y) * s) / steps, id);
    last = p;
    repaint();
  });
  const stop = () => {
    painting = false;
    last = null;
  };
  canvas.addEventListener('pointerup', stop);
  canvas.addEventListener('pointercancel', stop);

  function cycleStyle(x: number, y: number): void {
    const { id, label: cls } = g.objectAt(input_(), x, y);
    const count = g.styleCount(cls);
    const name = labels.names[cls] || `label ${cls}`;
    if (count === 0) throw new Error(`${name} has no learned styles (${g.file.styles ? 'no instance of it was large enough in training' : 'this run has no feature encoder'})`);
    choose[id] = ((choose[id] ?? -1) + 1) % count;
    $('paintHint').textContent = `${name}: style ${choose[id] + 1} of ${count}`;
    repaint();
  }

  input('styleSeed').addEventListener('change', () => {
    for (const k of Object.keys(choose)) delete choose[Number(k)];
    repaint();
  });

  $('photoStyleField').hidden = !g.encodesPhotos;
  input('photoStyleFile').addEventListener('change', () => act(async () => {
    const file = input('photoStyleFile').files?.[0];
    if (!file) return;
    photo = { name: file.name, image: await readImage(file) };
    $('photoStyleClear').hidden = false;
    repaint();
  }));
  $('photoStyleClear').addEventListener('click', () => {
    photo = null;
    input('photoStyleFile').value = '';
    $('photoStyleClear').hidden = true;
    repaint();
  });

  input('labelFile').addEventListener('change', () => act(async () => {
    const file = input('labelFile').files?.[0];
    if (!file) return;
    const ids = await readLabelPng(file, labels.colours, labels.count, width, height);
    pushUndo();
    map = { labels: ids, instances: ids.slice() };
    repaint();
  }));

  $('paintDownload').addEventListener('click', () => act(async () => {
    if (!lastImage) throw new Error('no image yet');
    downloadBytes(await pngBytes(lastImage), 'gantry-painted.png');
  }));

  start(examples.length ? 0 : -1, false);
  if (examples.length) select('example').value = '0';
}

/** An image file as RGBA pixels (as the browser decodes it, no colour conversion). */
async function readImage(file: File): Promise<{ width: number; height: number; channels: number; data: Uint8Array }> {
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(file, { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
  } catch (err) {
    throw new Error(`${file.name} is not an image this browser reads (${describeError(err)})`);
  }
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  const context = canvas.getContext('2d')!;
  context.drawImage(bitmap, 0, 0);
  const { data } = context.getImageData(0, 0, bitmap.width, bitmap.height);
  return { width: bitmap.width, height: bitmap.height, channels: 4, data: new Uint8Array(data.buffer) };
}

/**
 * A label PNG as ids at the generator's size: a grey map's values are the ids, a colour map's pixels
 * the palette's colours. Fitted by cover-and-crop with nearest sampling, as the CLI fits label maps.
 */
async function readLabelPng(file: File, colours: [number, number, number][], count: number, width: number, height: number): Promise<Int32Array> {
  const { width: w, height: h, data } = await readImage(file);
  const byColour = new Map(colours.map(([r, g, b], id) => [(r << 16) | (g << 8) | b, id]));
  const ids = new Int32Array(w * h);
  for (let p = 0; p < ids.length; p++) {
    const [r, g, b] = [data[p * 4], data[p * 4 + 1], data[p * 4 + 2]];
    const id = r === g && g === b && r < count ? r : byColour.get((r << 16) | (g << 8) | b);
    if (id === undefined || id >= count) throw new Error(`${file.name} has colour rgb(${r}, ${g}, ${b}) at pixel ${p % w},${Math.floor(p / w)}: neither an id below ${count} in grey nor a label's colour`);
    ids[p] = id;
  }
  return nearestCoverCrop(ids, w, h, width, height);
}

// ---- start ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const params = new URLSearchParams(location.search);
  // The studio's page: the training panel from the start, while a large generator still loads.
  const live = document.querySelector<HTMLMetaElement>('meta[name="gantry-live"]');
  if (live) watchTraining();
  const backends = params.get('backend')?.split(',') as ('webgpu' | 'webgl' | 'cpu')[] | undefined;
  // ?kernels=gantry: on WebGPU, gantry's kernels and replayed draws instead of tfjs's kernels op by op.
  const gpuKernels = (params.get('kernels') ?? undefined) as GpuKernels | undefined;
  // The generator loads and draws in a worker, so the page answers while it builds networks or draws.
  const g = await loadGeneratorInWorker(new Worker(WORKER_SCRIPT, { type: 'module' }), './', { backends, gpuKernels, onProgress: showDownload });
  $('loading').hidden = true;
  // The generator, for the browser's console and for tests: gantryExplorer.generator.generate({ seeds: [1] }).
  (window as unknown as { gantryExplorer: unknown }).gantryExplorer = { generator: g };
  describeGenerator(g, g.gpuKernels);
  for (const canvas of document.querySelectorAll('canvas')) watchScaling(canvas);
  if (g.info.conditioning.kind === 'labelMap') labelPainter(g);
  else latentExplorer(g);
  if (live) watchForNewWeights(g.file.step);
}

/** The weights' download in the header (NVIDIA's label2city generator is 730 MB); the last count stays in data-downloaded. */
function showDownload({ loaded, total }: DownloadProgress): void {
  const bar = $<HTMLProgressElement>('loading');
  bar.hidden = false;
  if (total) bar.value = loaded / total;
  else bar.removeAttribute('value');
  const mb = (bytes: number) => (bytes / 1e6).toFixed(1);
  // All of it here: the networks are built next (seconds for a large generator).
  $('about').textContent = total && loaded >= total ? `loading the generator: ${mb(total)} MB, building its networks…` : `loading the generator: ${mb(loaded)}${total ? ` of ${mb(total)}` : ''} MB`;
  document.body.dataset.downloaded = `${loaded}/${total ?? '?'}`;
}

function describeGenerator(g: PageGenerator, gpuKernels: GpuKernels | null): void {
  const { family, height, width } = g.info;
  $('about').textContent = `${family} · ${width}x${height} · ${g.file.run} ${g.file.origin ? `(${g.file.origin})` : `at step ${g.file.step}`}`;
  $('backend').textContent = gpuKernels ? `${g.backend} (${gpuKernels}'s kernels)` : g.backend;
  document.title = `gantry · ${g.file.run}`;
  document.body.dataset.backend = g.backend;
  if (gpuKernels) document.body.dataset.gpuKernels = gpuKernels;
}

/** The studio's page: when the run writes a newer checkpoint, the page reloads with it (keeping the hash). */
function watchForNewWeights(step: number): void {
  setInterval(() => {
    fetch('model.json', { cache: 'no-store' }).then((r) => r.json()).then((m: { step: number }) => {
      if (m.step !== step) location.reload();
    }, () => undefined);
  }, LIVE_POLL_MS);
}

/**
 * The studio's training panel: the run's step, rate and time left, newest losses and scores, its plots
 * and sample grids, asked for every few seconds. The grid slider follows the newest grid until moved.
 */
function watchTraining(): void {
  const slider = input('trainSampleStep');
  let grids: TrainingProgress['samples'] = [];
  let plotRows = -1;
  const showGrid = () => {
    const grid = grids[Number(slider.value)];
    if (!grid) return;
    const img = $<HTMLImageElement>('trainSamples');
    if (!img.src.endsWith(`/samples/${grid.file}`)) img.src = `samples/${grid.file}`;
    $('trainSampleValue').textContent = `step ${grid.step.toLocaleString('en')}`;
  };
  slider.addEventListener('input', showGrid);
  const refresh = async () => {
    let p: TrainingProgress;
    try {
      const res = await fetch('progress.json', { cache: 'no-store' });
      if (!res.ok) throw new Error(await res.text());
      p = await res.json();
    } catch (err) {
      $('trainState').textContent = `cannot read the run's progress (${describeError(err).trim()}); asking again in ${LIVE_POLL_MS / 1000} s`;
      return;
    }
    $('training').hidden = false;
    $<HTMLProgressElement>('trainProgress').value = p.steps ? Math.min(1, p.step / p.steps) : 0;
    const reading = p.reading === null ? '' : ` · reading metrics.jsonl, ${Math.floor(100 * p.reading)}% so far`;
    $('trainStep').textContent = `step ${p.step.toLocaleString('en')} of ${p.steps.toLocaleString('en')} (${Math.floor((100 * p.step) / Math.max(1, p.steps))}%)${reading}`;
    $('trainState').textContent = p.writer
      ? `training (process ${p.writer.pid} on ${p.writer.host})${p.imagesPerSec ? ` · ${p.imagesPerSec.toFixed(p.imagesPerSec < 10 ? 1 : 0)} images/s · about ${formatDuration(p.etaSeconds ?? Infinity)} left` : ''}`
      : p.reading !== null ? 'not training now' : p.step >= p.steps ? 'finished' : `not training now: stopped at step ${p.step.toLocaleString('en')}; ${p.resume ?? ''}`;
    const number = (v: number) => (Math.abs(v) >= 100 ? v.toFixed(1) : v.toPrecision(4));
    $('trainValues').textContent = [
      ...Object.entries(p.losses).map(([k, v]) => `${k} ${number(v)}`),
      ...Object.entries(p.scores).map(([k, { step, value }]) => `${k} ${number(value)} (step ${step.toLocaleString('en')})`),
    ].join(' · ');
    if (p.rows !== plotRows) {
      plotRows = p.rows;
      $('trainPlots').replaceChildren(...p.plots.map((name) => Object.assign(document.createElement('img'), { src: `plots/${name}.svg?rows=${p.rows}`, alt: `${name} against the step` })));
    }
    const followNewest = Number(slider.value) >= grids.length - 1;
    const shown = grids[Number(slider.value)]?.step ?? 0;
    grids = p.samples;
    $('trainSamplesBox').hidden = grids.length === 0;
    slider.max = String(Math.max(0, grids.length - 1));
    // A long run's list is re-spread as grids come: the slider stays on the step it showed, or the nearest listed before it.
    if (followNewest) slider.value = slider.max;
    else slider.value = String(Math.max(0, grids.filter((g) => g.step <= shown).length - 1));
    showGrid();
    document.body.dataset.trainingStep = String(p.step);
  };
  void refresh();
  setInterval(() => void refresh(), LIVE_POLL_MS);
}

main().then(() => {
  document.body.dataset.ready = 'true';
}, (err) => {
  showError(err);
  $('loading').hidden = true;
  $('about').textContent = 'the generator did not load';
  document.body.dataset.ready = 'error';
});
