import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, copyFileSync, existsSync, linkSync, mkdirSync, openSync, readFileSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { tempDir, withEnv } from '../helpers.ts';
import { openDataset, parseDataSpec } from '../../src/data/index.ts';
import { dataShape, readImages } from '../../src/data/dataset.ts';
import { loadEmbeddedMnist } from '../../src/data/mnist.ts';
import { listFolderImages } from '../../src/data/folder.ts';
import { readCaptionLists } from '../../src/data/captions.ts';
import { GantryError } from '../../src/errors.ts';

const fixtures = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures');

test('embedded MNIST: 10,000 real digits with labels, padded to 32 or kept at 28', () => {
  const raw = loadEmbeddedMnist();
  assert.ok(raw.n >= 9990 && raw.n <= 10010, `n = ${raw.n}`);
  assert.equal(raw.height, 28);
  const counts = new Array(10).fill(0);
  for (const l of raw.labels!) counts[l]++;
  assert.ok(counts.every((c) => c > 800), `class counts ${counts}`);
  // Real digits: mostly black background with some bright strokes.
  let dark = 0, bright = 0;
  for (const p of raw.pixels.subarray(0, 784 * 100)) {
    if (p < 10) dark++;
    if (p > 200) bright++;
  }
  assert.ok(dark / 78400 > 0.7 && bright / 78400 > 0.05, `dark ${dark} bright ${bright}`);
  const padded = openDataset('mnist', { height: 32, width: 32, channels: 0 });
  assert.deepEqual([padded.height, padded.width, padded.channels], [32, 32, 1]);
  // Padding keeps the digit unscaled in the centre: pixel (r, c) of 28x28 is at (r + 2, c + 2).
  assert.equal(padded.pixels![(14 + 2) * 32 + 14 + 2], raw.pixels[14 * 28 + 14]);
  assert.equal(padded.pixels![0], 0);
  const kept = openDataset('mnist', { height: 28, width: 28, channels: 0 });
  assert.equal(kept.height, 28);
  const rgb64 = openDataset('mnist', { height: 64, width: 64, channels: 3 });
  assert.deepEqual([rgb64.height, rgb64.channels], [64, 3]);
});

test('mnist?classes= keeps those digits, labelled in the order named; a class that is not there is named', () => {
  const raw = loadEmbeddedMnist();
  const some = openDataset('mnist?classes=7,3', { height: 28, width: 28, channels: 0 });
  const want = [...raw.labels!.keys()].filter((i) => raw.labels![i] === 7 || raw.labels![i] === 3);
  assert.equal(some.n, want.length);
  assert.deepEqual(some.classNames, ['7', '3']);
  // Image 10 of the kept ones is the 11th 7-or-3 of the set, its label 0 for a 7 and 1 for a 3.
  assert.deepEqual(some.pixels!.subarray(784 * 10, 784 * 11), raw.pixels.subarray(784 * want[10], 784 * (want[10] + 1)));
  assert.equal(some.labels![10], raw.labels![want[10]] === 7 ? 0 : 1);
  assert.throws(() => openDataset('mnist?classes=3,x', { height: 28, width: 28, channels: 0 }), /^GantryError: mnist: unknown class "x"; the classes are 0, 1, 2, 3, 4, 5, 6, 7, 8, 9$/);
  assert.throws(() => openDataset('shapes?classes=1', { height: 28, width: 28, channels: 0 }), /unknown option "classes"; known: seed, colours/);
  assert.throws(() => openDataset('mnist?classes=3,7,3', { height: 28, width: 28, channels: 0 }), /^GantryError: mnist: class "3" is named twice in \?classes=; name each once$/);
});

test('mnist-idx reads gzipped images with raw labels; they match the embedded digits', () => {
  const ds = openDataset(`mnist-idx:${join(fixtures, 'mnist-idx')}`, { height: 28, width: 28, channels: 0 });
  assert.equal(ds.n, 32);
  const raw = loadEmbeddedMnist();
  assert.deepEqual(ds.pixels!.subarray(784 * 3, 784 * 4), raw.pixels.subarray(784 * 900, 784 * 901));
  assert.equal(ds.labels![3], raw.labels![900]);
});

test('mnist-idx: truncated, corrupt gzip and wrong files get clear errors naming the file', () => {
  const dir = tempDir();
  const bytes = readFileSync(join(fixtures, 'mnist-idx', 'train-images-idx3-ubyte.gz'));
  const truncatedGz = join(dir, 'gz');
  mkdirSync(truncatedGz);
  writeFileSync(join(truncatedGz, 'train-images-idx3-ubyte.gz'), bytes.subarray(0, bytes.length - 100));
  assert.throws(() => openDataset(`mnist-idx:${truncatedGz}`, { height: 28, width: 28, channels: 0 }), (e: Error) => e instanceof GantryError && /corrupt or truncated gzip/.test(e.message) && e.message.includes('train-images-idx3-ubyte.gz'));
  const shortData = join(dir, 'short');
  mkdirSync(shortData);
  const header = Buffer.from([0, 0, 8, 3, 0, 0, 0, 10, 0, 0, 0, 28, 0, 0, 0, 28]);
  writeFileSync(join(shortData, 'train-images-idx3-ubyte'), Buffer.concat([header, Buffer.alloc(784 * 3)]));
  assert.throws(() => openDataset(`mnist-idx:${shortData}`, { height: 28, width: 28, channels: 0 }), /is truncated: its header promises 7840 bytes/);
  const notIdx = join(dir, 'notidx');
  mkdirSync(notIdx);
  writeFileSync(join(notIdx, 'train-images-idx3-ubyte'), gzipSync(Buffer.from('hello world, not an idx file')));
  assert.throws(() => openDataset(`mnist-idx:${notIdx}`, { height: 28, width: 28, channels: 0 }), /bad magic number/);
  assert.throws(() => openDataset(`mnist-idx:${join(dir, 'nothing')}`, { height: 28, width: 28, channels: 0 }), /does not exist/);
  // A data folder that is a file is named as one, for every kind that reads a folder.
  const file = join(notIdx, 'train-images-idx3-ubyte');
  for (const kind of ['mnist-idx', 'cifar10', 'folder', 'captions', 'pairs']) {
    assert.throws(() => openDataset(`${kind}:${file}`, { height: 28, width: 28, channels: 0 }), new RegExp(`^GantryError: data ${kind}:.*ubyte: .*ubyte is a file, not a folder`));
  }
});

test('cifar10 reads binary batches (CHW planes to HWC) and filters classes', () => {
  const ds = openDataset(`cifar10:${join(fixtures, 'cifar10')}`, { height: 32, width: 32, channels: 0 });
  assert.deepEqual([ds.n, ds.height, ds.channels], [24, 32, 3]);
  const raw = readFileSync(join(fixtures, 'cifar10', 'data_batch_1.bin'));
  // Record 5, pixel (3, 7): R at 1 + 3*32+7, G at +1024, B at +2048.
  const p = 3 * 32 + 7;
  const rec = 5 * 3073;
  assert.deepEqual([...ds.pixels!.subarray((5 * 1024 + p) * 3, (5 * 1024 + p) * 3 + 3)], [raw[rec + 1 + p], raw[rec + 1025 + p], raw[rec + 2049 + p]]);
  assert.equal(ds.labels![5], raw[rec]);
  const cars = openDataset(`cifar10:${join(fixtures, 'cifar10')}?classes=automobile,airplane`, { height: 32, width: 32, channels: 0 });
  assert.equal(cars.n, 6); // labels cycle 0..9 over 24 records: three of each of 0 and 1
  assert.deepEqual(cars.classNames, ['automobile', 'airplane']);
  assert.deepEqual([...new Set(cars.labels)].sort(), [0, 1]);
  assert.throws(() => openDataset(`cifar10:${join(fixtures, 'cifar10')}?classes=zebra`, { height: 32, width: 32, channels: 0 }), /unknown class "zebra"/);
});

test('cifar10: a truncated batch file is named in the error', () => {
  const dir = tempDir();
  const raw = readFileSync(join(fixtures, 'cifar10', 'data_batch_1.bin'));
  writeFileSync(join(dir, 'data_batch_1.bin'), raw.subarray(0, raw.length - 1000));
  assert.throws(() => openDataset(`cifar10:${dir}`, { height: 32, width: 32, channels: 0 }), (e: Error) => /data_batch_1\.bin is truncated/.test(e.message));
});

test('folder: PNG and JPEG, resized and centre-cropped, sub-folders are classes', () => {
  const ds = openDataset(`folder:${join(fixtures, 'folder')}`, { height: 16, width: 16, channels: 3 });
  assert.deepEqual([ds.n, ds.height, ds.width, ds.channels], [8, 16, 16, 3]);
  assert.deepEqual(ds.classNames, ['cats', 'dogs']);
  assert.deepEqual([...ds.labels!], [0, 0, 0, 0, 1, 1, 1, 1]);
  const grey = openDataset(`folder:${join(fixtures, 'folder', 'dogs')}`, { height: 8, width: 8, channels: 1 });
  assert.deepEqual([grey.n, grey.channels, grey.labels], [4, 1, null]);
  // ?classes= reads those sub-folders only, labelled in the order named, as mnist?classes= does.
  const dogs = openDataset(`folder:${join(fixtures, 'folder')}?classes=dogs,cats`, { height: 16, width: 16, channels: 3 });
  assert.deepEqual([dogs.n, dogs.classNames, [...dogs.labels!]], [8, ['dogs', 'cats'], [0, 0, 0, 0, 1, 1, 1, 1]]);
  assert.deepEqual(dogs.pixels!.subarray(0, 4 * 16 * 16 * 3), ds.pixels!.subarray(4 * 16 * 16 * 3));
  const cats = openDataset(`folder:${join(fixtures, 'folder')}?classes=cats`, { height: 16, width: 16, channels: 3 });
  assert.deepEqual([cats.n, cats.classNames, [...cats.labels!]], [4, ['cats'], [0, 0, 0, 0]]);
  assert.throws(() => openDataset(`folder:${join(fixtures, 'folder')}?classes=cats,horses`, { height: 16, width: 16, channels: 3 }), /^GantryError: folder:.*folder: unknown class "horses"; the classes are cats, dogs$/);
  assert.throws(() => openDataset(`folder:${join(fixtures, 'folder', 'dogs')}?classes=dogs`, { height: 8, width: 8, channels: 3 }), /^GantryError: folder:.*dogs: \?classes= needs class sub-folders, and .*dogs has none$/);
});

test('folder: a corrupt image is named; non-images and empty folders are explained', () => {
  const dir = tempDir();
  copyFileSync(join(fixtures, 'folder', 'cats', 'cat0.png'), join(dir, 'good.png'));
  const jpg = readFileSync(join(fixtures, 'folder', 'dogs', 'dog0.jpg'));
  writeFileSync(join(dir, 'broken.jpg'), jpg.subarray(0, 200));
  assert.throws(() => openDataset(`folder:${dir}`, { height: 8, width: 8, channels: 3 }), /^GantryError: image .*broken\.jpg is corrupt or truncated \(the file ends before the image does\); re-export it or leave it out$/);
  const cut = tempDir();
  writeFileSync(join(cut, 'cut.png'), readFileSync(join(dir, 'good.png')).subarray(0, 100));
  assert.throws(() => openDataset(`folder:${cut}`, { height: 8, width: 8, channels: 3 }), /^GantryError: image .*cut\.png is corrupt or truncated \(the file ends before the image does\); re-export it or leave it out$/);
  const dir2 = tempDir();
  writeFileSync(join(dir2, 'fake.png'), 'not a png');
  assert.throws(() => openDataset(`folder:${dir2}`, { height: 8, width: 8, channels: 3 }), /fake\.png is neither a PNG nor a JPEG/);
  assert.throws(() => openDataset(`folder:${tempDir()}`, { height: 8, width: 8, channels: 3 }), /no \.png\/\.jpg images/);
});

test('folder: pictures in formats gantry does not read, and images beside class sub-folders, are named, not dropped in silence', () => {
  const warnings: string[] = [];
  const write = process.stderr.write;
  process.stderr.write = ((chunk: string) => (warnings.push(String(chunk)), true)) as typeof process.stderr.write;
  try {
    const fit = { height: 8, width: 8, channels: 3 };
    const only = tempDir();
    for (const f of ['a.webp', 'b.WEBP', 'c.gif', 'notes.txt']) writeFileSync(join(only, f), 'x');
    assert.throws(() => openDataset(`folder:${only}`, fit), /no \.png\/\.jpg images in .*, only 2 \.webp, 1 \.gif files; gantry reads PNG and JPEG: convert them/);
    const mixed = tempDir();
    copyFileSync(join(fixtures, 'folder', 'cats', 'cat0.png'), join(mixed, 'good.png'));
    writeFileSync(join(mixed, 'photo.heic'), 'x');
    writeFileSync(join(mixed, 'notes.txt'), 'x');
    assert.equal(openDataset(`folder:${mixed}`, fit).n, 1);
    const classes = tempDir();
    for (const c of ['cats', 'dogs']) {
      mkdirSync(join(classes, c));
      copyFileSync(join(fixtures, 'folder', c, `${c.slice(0, 3)}0.${c === 'cats' ? 'png' : 'jpg'}`), join(classes, c, `x.${c === 'cats' ? 'png' : 'jpg'}`));
    }
    writeFileSync(join(classes, 'dogs', 'y.bmp'), 'x');
    copyFileSync(join(fixtures, 'folder', 'cats', 'cat0.png'), join(classes, 'loose.png'));
    assert.equal(openDataset(`folder:${classes}`, fit).n, 2);
    assert.deepEqual(warnings, [
      `warning: folder: left out 1 .heic files of ${mixed}; gantry reads PNG and JPEG: convert them (ImageMagick: mogrify -format png FILES) to use them\n`,
      `warning: folder: left out 1 .bmp files of ${classes}; gantry reads PNG and JPEG: convert them (ImageMagick: mogrify -format png FILES) to use them\n`,
      `warning: folder: left out the 1 image(s) directly in ${classes}: its sub-folders are the classes, so each image belongs in one of them\n`,
    ]);
  } finally {
    process.stderr.write = write;
  }
});

test('folder: a set whose decoding took long is kept fitted in the cache and read from there; a changed file or size decodes anew', () => {
  const cache = tempDir();
  withEnv({ GANTRY_CACHE: cache, GANTRY_IMAGE_CACHE_SECONDS: undefined }, () => {
    const dir = tempDir();
    for (const f of ['cat0.png', 'cat1.png']) copyFileSync(join(fixtures, 'folder', 'cats', f), join(dir, f));
    const fit = { height: 8, width: 8, channels: 3 };
    const images = join(cache, 'images');
    // Quick to decode: nothing is kept.
    const decoded = openDataset(`folder:${dir}`, fit).pixels!;
    assert.equal(existsSync(images), false);
    process.env.GANTRY_IMAGE_CACHE_SECONDS = '0';
    assert.deepEqual(openDataset(`folder:${dir}`, fit).pixels, decoded);
    const bins = () => readdirSync(images).filter((f) => f.endsWith('.bin'));
    const [file] = bins();
    assert.deepEqual(new Uint8Array(readFileSync(join(images, file))), decoded);
    // Read from the cache: what it holds is what the dataset gets.
    writeFileSync(join(images, file), new Uint8Array(decoded.length).fill(7));
    assert.ok(openDataset(`folder:${dir}`, fit).pixels!.every((v) => v === 7));
    // Another size, or a file changed (its time), is another entry.
    assert.equal(openDataset(`folder:${dir}`, { ...fit, height: 4, width: 4 }).n, 2);
    utimesSync(join(dir, 'cat1.png'), new Date(), new Date(Date.now() + 5000));
    assert.deepEqual(openDataset(`folder:${dir}`, fit).pixels, decoded);
    assert.equal(bins().length, 3);
    process.env.GANTRY_IMAGE_CACHE_SECONDS = 'soon';
    assert.throws(() => openDataset(`folder:${dir}`, { ...fit, height: 5 }), /GANTRY_IMAGE_CACHE_SECONDS is "soon"; give the seconds/);
  });
});

test('folder: a set over GANTRY_DATA_MEMORY_MB is fitted once into the cache and read a batch at a time, the same batches as in memory', () => {
  withEnv({ GANTRY_CACHE: tempDir(), GANTRY_DATA_MEMORY_MB: undefined }, () => {
    const spec = `folder:${join(fixtures, 'folder')}`;
    const fit = { height: 16, width: 16, channels: 3 };
    const memory = openDataset(spec, fit);
    process.env.GANTRY_DATA_MEMORY_MB = '0';
    let decoded = 0;
    const stored = openDataset(spec, fit, () => decoded++);
    assert.equal(stored.pixels, null, 'no image held in memory');
    assert.equal(decoded, 8);
    assert.match(stored.note!, /^fitted the 8 images of .* into .*\/images\/[0-9a-f]{20}\.bin \(\d+ kB at 16x16, more than GANTRY_DATA_MEMORY_MB\)/);
    assert.deepEqual([stored.n, stored.labels, stored.classNames], [memory.n, memory.labels, memory.classNames]);
    assert.deepEqual(readImages(stored, [7, 0, 3]).pixels, readImages(memory, [7, 0, 3]).pixels);
    assert.deepEqual(dataShape(stored), dataShape(memory));
    const again = openDataset(spec, fit, () => decoded++);
    assert.equal(decoded, 8, 'read from the file the second time');
    assert.match(again.note!, /^reading the 8 images of /);
    assert.deepEqual(readImages(again, [1, 6]).pixels, readImages(memory, [1, 6]).pixels);
  });
});

test('data specs: unknown kinds and options are rejected with the accepted forms', () => {
  assert.throws(() => parseDataSpec('imagenet:/x'), /unknown data source "imagenet:\/x"; use mnist/);
  assert.throws(() => parseDataSpec('minst'), /unknown data source "minst" \(did you mean "mnist"\?\); use mnist/);
  assert.throws(() => parseDataSpec('folders:/x'), /unknown data source "folders:\/x" \(did you mean "folder"\?\)/);
  assert.throws(() => parseDataSpec('/home/me/faces'), /unknown data source "\/home\/me\/faces" \(a folder of images is folder:\/home\/me\/faces\); use mnist/);
  assert.throws(() => parseDataSpec('folder'), /needs a folder/);
  assert.throws(() => parseDataSpec('folder:/x?split=test'), /^GantryError: data source "folder:\/x\?split=test": unknown option "split"; known: classes$/);
  assert.deepEqual(parseDataSpec('cifar10:/d?classes=a,b'), { kind: 'cifar10', path: '/d', options: { classes: 'a,b' } });
  // A kind without a path takes options too, as the help writes it: shapes[:N][?seed=K].
  assert.deepEqual(parseDataSpec('shapes?seed=3&colours=by-shape'), { kind: 'shapes', path: null, options: { seed: '3', colours: 'by-shape' } });
  assert.deepEqual(parseDataSpec('shapes:40?seed=3'), { kind: 'shapes', path: '40', options: { seed: '3' } });
  assert.throws(() => parseDataSpec('mnist?split=test'), /^GantryError: data source "mnist\?split=test": unknown option "split"; known: classes$/);
});

test('folder: and captions: list a folder of 160,000 images (CelebA keeps its 202,599 in one), past what one call\'s arguments can hold', () => {
  const dir = tempDir();
  mkdirSync(join(dir, 'flat'));
  mkdirSync(join(dir, 'captioned', 'images'), { recursive: true });
  const n = 160_000;
  for (let i = 0; i < n; i++) {
    // Hard links to a few empty files (a file takes 65,000 at most): made 20 times faster than as many files; listing reads no image.
    const one = join(dir, `empty-${Math.floor(i / 30_000)}`);
    if (i % 30_000 === 0) closeSync(openSync(one, 'w'));
    const name = `${String(i).padStart(6, '0')}.png`;
    linkSync(one, join(dir, 'flat', name));
    linkSync(one, join(dir, 'captioned', 'images', name));
  }
  const { files, labels } = listFolderImages(join(dir, 'flat'));
  assert.equal(files.length, n);
  assert.equal(labels, null);
  assert.equal(basename(files[n - 1]), '159999.png');
  assert.throws(() => readCaptionLists(join(dir, 'captioned')), /captions: 160000 of 160000 images have no captions/, 'listed, then the missing captions named');
});
