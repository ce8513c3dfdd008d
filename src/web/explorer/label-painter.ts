/**
 * The label-map painter (label-map generators: pix2pixHD): a person paints a map with the run's labels,
 * or starts from an example or a PNG of theirs, and the generator draws it, each object in a style
 * learned by the run or taken from a photo.
 */
import { drawImage, pngBytes } from '../canvas.ts';
import type { GeneratedImages, GenerateOptions, LabelMapInput } from '../generator.ts';
import type { PageGenerator } from '../page-generator.ts';
import { nearestCoverCrop, type RawImage } from '../../io/pixels.ts';
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
