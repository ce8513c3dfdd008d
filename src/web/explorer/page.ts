/**
 * What the explorer page's parts share: its elements by id, one visible line for every error, actions
 * counted in the body's data-pending (tests wait for 0), canvases and tiles of drawn images, and files
 * in and out (a PNG downloaded, an image file read).
 */
import { drawImage } from '../canvas.ts';
import type { GeneratedImages } from '../generator.ts';
import { describeError } from '../../errors.ts';

export const $ = <T extends HTMLElement = HTMLElement>(id: string) => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`the page has no #${id}`);
  return el as T;
};
export const input = (id: string) => $<HTMLInputElement>(id);
export const select = (id: string) => $<HTMLSelectElement>(id);

// ---- errors: every failure is one visible line, never a silent console entry -----------------------

export function showError(err: unknown): void {
  const box = $('error');
  box.textContent = describeError(err);
  box.hidden = false;
}

export function clearError(): void {
  $('error').hidden = true;
}

window.addEventListener('error', (e) => showError(e.error ?? e.message));
window.addEventListener('unhandledrejection', (e) => showError(e.reason));

/** Actions still running; the body's data-pending says how many (tests wait for 0). */
let pending = 0;
document.body.dataset.pending = '0';

/** Runs an action of the page, showing its error (and clearing an earlier one when it succeeds). */
export async function act(action: () => Promise<void> | void): Promise<void> {
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
export function seedField(id: string, what: string): number {
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

export function markShrunk(canvas: HTMLCanvasElement, shownWidth = canvas.getBoundingClientRect().width): void {
  canvas.classList.toggle('shrunk', shownWidth > 0 && canvas.width > shownWidth);
}

/** Keeps canvas's smoothing right as it is drawn at another size or laid out anew. */
export function watchScaling(canvas: HTMLCanvasElement): HTMLCanvasElement {
  scaling.observe(canvas);
  return canvas;
}

export function figure(images: GeneratedImages, i: number, caption: string, onClick?: () => void): HTMLElement {
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

export function showTiles(box: HTMLElement, images: GeneratedImages, captions: string[], onClick?: (i: number) => void): void {
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
export class LatestOnly {
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

export function downloadBytes(bytes: Uint8Array, name: string): void {
  const url = URL.createObjectURL(new Blob([bytes as BlobPart], { type: 'image/png' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

/** An image file as RGBA pixels (as the browser decodes it, no colour conversion). */
export async function readImage(file: File): Promise<{ width: number; height: number; channels: number; data: Uint8Array }> {
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
