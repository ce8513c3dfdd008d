/**
 * The picture translator (pix2pixHD runs on pictures as inputs, a run on train_A/ + train_B/): a person
 * starts from one of the run's test pictures or a picture of theirs, and the generator draws it.
 */
import { drawImage, pngBytes } from '../canvas.ts';
import type { GeneratedImages } from '../generator.ts';
import type { PageGenerator } from '../page-generator.ts';
import { fitImage } from '../../data/transform.ts';
import type { RawImage } from '../../io/pixels.ts';
import { $, act, downloadBytes, input, LatestOnly, markShrunk, readImage, select } from './page.ts';

export function pictureTranslator(g: PageGenerator): void {
  const { width, height } = g.info;
  $('pictures').hidden = false;
  const examples = g.examplePictures;
  const drawer = new LatestOnly($('pictureResult').parentElement!);
  let lastImage: GeneratedImages | null = null;

  /** The input as the generator reads it (fitted to its size, as the CLI fits it), shown, and its image drawn. */
  function show(picture: RawImage, name: string): void {
    const fitted = fitImage(picture, { height, width, channels: 3 });
    drawImage($<HTMLCanvasElement>('pictureInput'), { n: 1, height, width, channels: 3, pixels: fitted.data });
    markShrunk($<HTMLCanvasElement>('pictureInput'));
    $('pictureInputCaption').textContent = name;
    drawer.request(async () => {
      const images = await g.generate({ pictures: [fitted] });
      lastImage = images;
      drawImage($<HTMLCanvasElement>('pictureResult'), images, 0);
      markShrunk($<HTMLCanvasElement>('pictureResult'));
      $('pictureCaption').textContent = `drawn from ${name}`;
    });
  }

  select('pictureExample').replaceChildren(...examples.map((_, i) => new Option(`test picture ${i + 1}`, String(i))));
  select('pictureExample').addEventListener('change', () => {
    const k = Number(select('pictureExample').value);
    show(examples[k], `test picture ${k + 1}`);
  });
  input('pictureFile').addEventListener('change', () => act(async () => {
    const file = input('pictureFile').files?.[0];
    if (!file) return;
    show(await readImage(file), file.name);
  }));
  $('pictureDownload').addEventListener('click', () => act(async () => {
    if (!lastImage) throw new Error('no image yet');
    downloadBytes(await pngBytes(lastImage), 'gantry-translated.png');
  }));
  if (examples.length) show(examples[0], 'test picture 1');
  else $('pictureCaption').textContent = 'load a picture to draw from';
}
