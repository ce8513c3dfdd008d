/**
 * The label-map painter (label-map generators: pix2pixHD): a person paints a map with the run's labels,
 * or starts from an example or a PNG of theirs, and the generator draws it, each object in a style
 * learned by the run or taken from a photo. For a run that reads instance maps, a stroke of a class that is
 * made of objects (a car, not road) is an object of its own, outlined as the run's boundary map sees it.
 */
import { drawImage, pngBytes } from '../canvas.ts';
import type { GeneratedImages, GenerateOptions, LabelMapInput } from '../generator.ts';
import type { PageGenerator } from '../page-generator.ts';
import { nearestCoverCrop, type RawImage } from '../../io/pixels.ts';
import { newInstanceId } from '../../explore/instance-styles.ts';
import { instanceBoundaries, labelIdsOfColours } from '../../explore/label-colours.ts';
import { idMapPng, readIdMapPng } from '../id-map-png.ts';
import { $, act, downloadBytes, input, LatestOnly, markShrunk, readImage, seedField, select } from './page.ts';

export function labelPainter(g: PageGenerator): void {
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
  // A label PNG's own size, which its instance PNG must have (null: the map was not loaded from one).
  let loaded: { name: string; width: number; height: number } | null = null;

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
  // Runs with instance maps: whether a stroke is a new object, by default as the label's class is in the data.
  const objects = new Set(labels.objects);
  const newObject = input('newObject');
  $('newObjectField').hidden = !labels.instances;
  const strokesAreObjects = () => labels.instances && newObject.checked && label > 0;
  const hintStrokes = () => {
    const name = labels.names[label] || `label ${label}`;
    $('paintHint').textContent = strokesAreObjects() ? `each stroke of ${name} is a new object (its own outline and style)` : `paint with ${name}`;
  };
  newObject.addEventListener('change', hintStrokes);
  const pick = (id: number) => {
    label = id;
    buttons.forEach((b, i) => b.setAttribute('aria-checked', String(i === id)));
    newObject.checked = objects.has(id);
    newObject.disabled = id === 0;
    hintStrokes();
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
  select('example').addEventListener('change', () => {
    loaded = null;
    start(Number(select('example').value));
  });

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

  /** The label map in colour (its objects outlined where the run reads instances), and the image drawn from it (latest wins while painting). */
  function repaint(): void {
    const rgba = context.createImageData(width, height);
    const outline = labels.instances ? instanceBoundaries(map.instances, width, height) : null;
    for (let p = 0; p < area; p++) {
      const colour = labels.colours[map.labels[p]] ?? [128, 128, 128];
      rgba.data.set(outline?.[p] ? outlined(colour) : colour, p * 4);
      rgba.data[p * 4 + 3] = 255;
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

  /** Paints a disc of the brush at (x, y) with label `id`, of object `instance`. */
  function dab(x: number, y: number, id: number, instance: number): void {
    const radius = brush() / 2;
    for (let dy = Math.floor(-radius); dy <= radius; dy++) {
      for (let dx = Math.floor(-radius); dx <= radius; dx++) {
        const px = Math.round(x + dx);
        const py = Math.round(y + dy);
        if (px < 0 || py < 0 || px >= width || py >= height || dx * dx + dy * dy > Math.max(radius * radius, 0.25)) continue;
        map.labels[py * width + px] = id;
        map.instances[py * width + px] = instance;
      }
    }
  }

  /** Fills the region of (x, y) (its label and object) with label `id`, of object `instance`. */
  function fill(x: number, y: number, id: number, instance: number): void {
    const from = map.labels[y * width + x];
    const fromInstance = map.instances[y * width + x];
    if (from === id && fromInstance === instance) return;
    const stack = [y * width + x];
    const seen = new Uint8Array(area);
    while (stack.length) {
      const p = stack.pop()!;
      if (seen[p] || map.labels[p] !== from || map.instances[p] !== fromInstance) continue;
      seen[p] = 1;
      map.labels[p] = id;
      map.instances[p] = instance;
      const px = p % width;
      if (px > 0) stack.push(p - 1);
      if (px < width - 1) stack.push(p + 1);
      if (p >= width) stack.push(p - width);
      if (p < area - width) stack.push(p + width);
    }
  }

  let painting = false;
  let last: { x: number; y: number } | null = null;
  // What the current stroke paints: a label and its object (a new object's id, or the label's region: its id).
  let stroke = { label: 0, instance: 0 };
  canvas.addEventListener('pointerdown', (e) => {
    const { x, y } = pixelAt(e);
    if (tool() === 'style') {
      void act(() => cycleStyle(x, y));
      return;
    }
    try {
      stroke = tool() === 'eraser' ? { label: 0, instance: 0 } : { label, instance: strokesAreObjects() ? newInstanceId(map.instances, label) : label };
    } catch (err) {
      void act(() => Promise.reject(err)); // shown as the page shows errors (a class with no object id left)
      return;
    }
    pushUndo();
    if (tool() === 'fill') {
      fill(x, y, stroke.label, stroke.instance);
      repaint();
      return;
    }
    painting = true;
    canvas.setPointerCapture(e.pointerId);
    last = { x, y };
    dab(x, y, stroke.label, stroke.instance);
    repaint();
  });
  canvas.addEventListener('pointermove', (e) => {
    if (!painting) return;
    const p = pixelAt(e);
    // A line of dabs from the last point, so a fast stroke has no gaps.
    const steps = Math.max(1, Math.ceil(Math.hypot(p.x - last!.x, p.y - last!.y)));
    for (let s = 1; s <= steps; s++) dab(last!.x + ((p.x - last!.x) * s) / steps, last!.y + ((p.y - last!.y) * s) / steps, stroke.label, stroke.instance);
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
    const { ids, size } = await readLabelPng(file, labels.colours, labels.count, width, height);
    pushUndo();
    map = { labels: ids, instances: ids.slice() };
    loaded = { name: file.name, ...size };
    input('instanceFile').value = '';
    repaint();
  }));
  // Its instance map (as `translate --instances`), fitted as the labels were; read here, as a canvas keeps 8 bits of 16.
  $('instanceFileField').hidden = !labels.instances;
  input('instanceFile').addEventListener('change', () => act(async () => {
    const file = input('instanceFile').files?.[0];
    if (!file) return;
    const read = await readIdMapPng(new Uint8Array(await file.arrayBuffer()), file.name);
    if (loaded && (read.width !== loaded.width || read.height !== loaded.height)) {
      throw new Error(`${file.name} is ${read.width}x${read.height} and the label PNG ${loaded.name} ${loaded.width}x${loaded.height}: give the instance map of that label map`);
    }
    pushUndo();
    map = { labels: map.labels, instances: nearestCoverCrop(read.ids, read.width, read.height, width, height) };
    repaint();
  }));

  $('paintDownload').addEventListener('click', () => act(async () => {
    if (!lastImage) throw new Error('no image yet');
    downloadBytes(await pngBytes(lastImage), 'gantry-painted.png');
  }));

  // The map for the CLI: `gantry translate --labels gantry-labels.png [--instances gantry-instances.png]`.
  $('paintMapDownload').addEventListener('click', () => act(async () => {
    downloadBytes(await idMapPng(map.labels, width, height), 'gantry-labels.png');
    if (labels.instances) downloadBytes(await idMapPng(map.instances, width, height), 'gantry-instances.png');
  }));

  start(examples.length ? 0 : -1, false);
  if (examples.length) select('example').value = '0';
}

/**
 * A label PNG as ids at the generator's size: a grey map's values are the ids, a colour map's pixels
 * the palette's colours. Fitted by cover-and-crop with nearest sampling, as the CLI fits label maps.
 */
async function readLabelPng(file: File, colours: [number, number, number][], count: number, width: number, height: number): Promise<{ ids: Int32Array; size: { width: number; height: number } }> {
  const image = await readImage(file);
  const { width: w, height: h } = image;
  const ids = labelIdsOfColours(image, colours.slice(0, count), file.name);
  return { ids: nearestCoverCrop(ids, w, h, width, height), size: { width: w, height: h } };
}

/** A label's colour on an object's outline: halfway to black, or to white for a dark colour. */
function outlined([r, g, b]: [number, number, number]): [number, number, number, number] {
  const toward = 0.299 * r + 0.587 * g + 0.114 * b > 96 ? 0 : 255;
  return [(r + toward) >> 1, (g + toward) >> 1, (b + toward) >> 1, 255];
}
