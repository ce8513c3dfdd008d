import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setup, tempDir, tf, withEnv } from '../helpers.ts';
import { evaluationCaptions, openCaptions, openDataset } from '../../src/data/index.ts';
import { imageBytes, readImages, subset } from '../../src/data/dataset.ts';
import { birdCrop } from '../../src/data/captions.ts';
import { fitImage } from '../../src/data/transform.ts';
import { readImageFile } from '../../src/io/image.ts';
import { cropImage } from '../../src/io/pixels.ts';
import { FIXTURE_BOXES, birdsFolder, cocoFolder, cubImages, flowersFolder } from '../fixtures/text-layouts.ts';
import { BatchSampler, makeBatch } from '../../src/data/sampler.ts';
import { encodePng } from '../../src/io/png.ts';
import { GantryError } from '../../src/errors.ts';
import { Rng } from '../../src/engine/rng.ts';

await setup();
const fixtures = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures');

test('captions:DIR reads the CUB layout (images/<class>/X.jpg, text_c10/<class>/X.txt): images, classes, every caption', () => {
  const ds = openDataset(`captions:${join(fixtures, 'captions')}`, { height: 32, width: 32, channels: 3 });
  assert.equal(ds.n, 6);
  assert.deepEqual([ds.height, ds.width, ds.channels], [32, 32, 3]);
  assert.deepEqual(ds.classNames, ['001.Cardinal', '002.Blue_Jay']);
  assert.deepEqual(Array.from(ds.labels!), [0, 0, 0, 1, 1, 1]);
  assert.equal(ds.captions!.length, 6);
  assert.deepEqual(ds.captions![4], ['this bird is blue with a short beak.', 'a small blue bird perched on branch number 1.', 'the bird has blue feathers and black eyes.']);
  // A subset keeps each image's captions with it.
  assert.deepEqual(subset(ds, [4, 0]).captions, [ds.captions![4], ds.captions![0]]);
});

test('batches of captioned data carry one caption an image, drawn per step and the same on every run', () => {
  const ds = openDataset(`captions:${join(fixtures, 'captions')}`, { height: 32, width: 32, channels: 3 });
  const sampler = new BatchSampler(ds, 6, 1);
  const drawn = new Set<string>();
  for (let step = 0; step < 8; step++) {
    const a = sampler.batchAt(step);
    const b = new BatchSampler(ds, 6, 1).batchAt(step);
    assert.deepEqual(a.captions, b.captions);
    const indices = sampler.indicesAt(step);
    a.captions!.forEach((c, i) => {
      assert.ok(ds.captions![indices[i]].includes(c), 'a caption of that image');
      drawn.add(c);
    });
    tf.dispose([a.images, a.labels!, b.images, b.labels!]);
  }
  assert.ok(drawn.size > 6, 'more than the first caption of each image is used');
  const first = makeBatch(ds, [1]);
  assert.deepEqual(first.captions, [ds.captions![1][0]], 'without a caption stream, the first caption');
  first.images.dispose();
  first.labels?.dispose();
  // shapes: one caption an image
  const shapes = openDataset('shapes:10', { height: 16, width: 16, channels: 3 });
  const batch = makeBatch(shapes, [0, 3], new Rng(0));
  assert.match(batch.captions![1], /^a (small|large) \w+ \w+ on a \w+ background$/);
  tf.dispose([batch.images, batch.labels!]);
});

test('captionsPerImage: each image\'s caption, then more drawn with replacement from the step\'s stream; the same on every run', () => {
  const ds = openDataset(`captions:${join(fixtures, 'captions')}`, { height: 16, width: 16, channels: 3 });
  const drawn = new Set<string>();
  for (let step = 0; step < 6; step++) {
    const one = new BatchSampler(ds, 4, 2).batchAt(step);
    const four = new BatchSampler(ds, 4, 2, false, undefined, 4).batchAt(step);
    const again = new BatchSampler(ds, 4, 2, false, undefined, 4).batchAt(step);
    assert.equal(one.captionDraws, undefined);
    assert.deepEqual(four.captions, one.captions, 'the first draw is the one caption a batch has without averaging');
    assert.equal(four.captionDraws!.perImage, 4);
    assert.deepEqual(four.captionDraws, again.captionDraws);
    const indices = new BatchSampler(ds, 4, 2).indicesAt(step);
    for (let i = 0; i < 4; i++) {
      const mine = four.captionDraws!.captions.slice(4 * i, 4 * i + 4);
      assert.equal(mine[0], four.captions![i]);
      for (const c of mine) assert.ok(ds.captions![indices[i]].includes(c), 'a caption of that image');
      if (new Set(mine).size > 1) drawn.add(`${step}:${i}`);
    }
    tf.dispose([one.images, one.labels!, four.images, four.labels!, again.images, again.labels!]);
  }
  assert.ok(drawn.size > 6, 'most images get several different captions');
});

test('captions:DIR with the .txt beside each image; a missing caption file or an empty folder is one clear error', () => {
  const dir = tempDir();
  const img = encodePng({ width: 8, height: 8, channels: 3, data: new Uint8Array(192).fill(90) });
  for (const name of ['a', 'b']) {
    writeFileSync(join(dir, `${name}.png`), img);
    writeFileSync(join(dir, `${name}.txt`), `\n  a grey square ${name}  \r\n\nanother line\n`);
  }
  const ds = openDataset(`captions:${dir}`, { height: 8, width: 8, channels: 3 });
  assert.deepEqual(ds.captions, [['a grey square a', 'another line'], ['a grey square b', 'another line']]);
  assert.equal(ds.labels, null);
  writeFileSync(join(dir, 'c.png'), img);
  assert.throws(() => openDataset(`captions:${dir}`, { height: 8, width: 8, channels: 3 }), (e: Error) =>
    e instanceof GantryError && /1 of 3 images have no captions, e\.g\. .*c\.png; write one caption a line to .*c\.txt/.test(e.message));
  writeFileSync(join(dir, 'c.txt'), '\n\n');
  assert.throws(() => openDataset(`captions:${dir}`, { height: 8, width: 8, channels: 3 }), /1 of 3 images have no captions/);
  // The captions alone (what FID of a text run needs) come without decoding an image: a corrupt one is no error there.
  writeFileSync(join(dir, 'c.txt'), 'a third caption\n');
  writeFileSync(join(dir, 'c.png'), 'not a png');
  assert.deepEqual(openCaptions(`captions:${dir}`, { height: 8, width: 8, channels: 3 }), [...ds.captions!, ['a third caption']]);
  assert.throws(() => openDataset(`captions:${dir}`, { height: 8, width: 8, channels: 3 }), /c\.png is neither a PNG nor a JPEG/);
  assert.equal(openCaptions('mnist', { height: 32, width: 32, channels: 1 }), null);
  assert.equal(openCaptions('shapes:3', { height: 16, width: 16, channels: 3 })!.length, 3);
  const empty = join(dir, 'empty');
  mkdirSync(empty);
  assert.throws(() => openDataset(`captions:${empty}`, { height: 8, width: 8, channels: 3 }), /captions: no \.png\/\.jpg images in/);
  assert.throws(() => openDataset(`captions:${join(dir, 'nope')}`, { height: 8, width: 8, channels: 3 }), /data captions:.*nope: .*nope does not exist; check the path/);
  assert.throws(() => openDataset('captions', { height: 8, width: 8, channels: 3 }), /needs a folder: captions:DIR/);
  rmSync(join(dir, 'c.png'));
});

test('captions:DIR over GANTRY_DATA_MEMORY_MB is read a batch at a time from the cache: the same batches, captions and labels', () => {
  withEnv({ GANTRY_CACHE: tempDir(), GANTRY_DATA_MEMORY_MB: undefined }, () => {
    const spec = `captions:${join(fixtures, 'captions')}`;
    const fit = { height: 16, width: 16, channels: 3 };
    const memory = openDataset(spec, fit);
    process.env.GANTRY_DATA_MEMORY_MB = '0';
    const stored = openDataset(spec, fit);
    assert.equal(stored.pixels, null, 'no image held in memory');
    assert.match(stored.note!, /^fitted the \d+ captioned images of .* into .*\/images\/[0-9a-f]{20}\.bin/);
    assert.deepEqual([stored.captions, stored.labels, stored.classNames], [memory.captions, memory.labels, memory.classNames]);
    for (let step = 0; step < 3; step++) {
      const [a, b] = [stored, memory].map((ds) => new BatchSampler(ds, 4, 7).batchAt(step));
      assert.deepEqual(a.images.dataSync(), b.images.dataSync(), `step ${step}`);
      assert.deepEqual(a.captions, b.captions);
      tf.dispose([a.images, a.labels!, b.images, b.labels!]);
    }
  });
});

test('the birds/ folder of StackGAN, AttnGAN and DF-GAN: CUB_200_2011/images with text/, the split of filenames.pickle (train unless asked), each bird cropped to its box', () => {
  const dir = birdsFolder();
  const fit = { height: 16, width: 16, channels: 3 };
  const whole = openDataset(`captions:${join(fixtures, 'captions')}`, fit);
  const train = openDataset(`captions:${dir}`, fit);
  assert.equal(train.n, 4);
  assert.deepEqual(train.classNames, ['001.Cardinal', '002.Blue_Jay']);
  assert.deepEqual(Array.from(train.labels!), [0, 0, 1, 1]);
  assert.deepEqual(train.captions, [0, 1, 3, 4].map((i) => whole.captions![i]));
  assert.match(train.note!, /^the train split: 4 of 6 images \(train\/filenames\.pickle; captions:.*\?split=test is the test split\); each bird cropped to 1\.5 times its box \(CUB_200_2011\/bounding_boxes\.txt/);
  const held = openDataset(`captions:${dir}?split=test`, fit);
  assert.deepEqual(held.captions, [whole.captions![2], whole.captions![5]]);
  assert.match(held.note!, /^the test split: 2 of 6 images \(test\/filenames\.pickle\)/);

  // The box as StackGAN's get_imgs makes it: r = int(max(w, h) * 0.75) about the centre int((2x + w) / 2), cut by the edges.
  assert.deepEqual(birdCrop([10, 5, 20, 30]), { x0: 0, y0: 0, x1: 42, y1: 42 });
  assert.deepEqual(birdCrop([20.5, 10.5, 16, 12]), { x0: 16, y0: 4, x1: 40, y1: 28 });
  const first = readImageFile(join(fixtures, 'captions', 'images', cubImages()[0]));
  const cut = cropImage(first, birdCrop(FIXTURE_BOXES[0]));
  assert.deepEqual([cut.width, cut.height], [42, 40], 'PIL\'s crop of a box past the bottom edge keeps the picture');
  assert.deepEqual(cut.data.subarray(0, 42 * 3), first.data.subarray(0, 42 * 3));
  const per = imageBytes(train);
  [0, 1, 3, 4].forEach((k, i) => {
    const image = readImageFile(join(fixtures, 'captions', 'images', cubImages()[k]));
    assert.deepEqual(train.pixels!.subarray(i * per, (i + 1) * per), fitImage(cropImage(image, birdCrop(FIXTURE_BOXES[k])), fit).data, `image ${k}`);
  });
  const uncropped = openDataset(`captions:${dir}?crop=none`, fit);
  assert.deepEqual(uncropped.pixels, readImages(whole, [0, 1, 3, 4]).pixels, '?crop=none: whole images');
  assert.doesNotMatch(uncropped.note!, /cropped/);

  // The captions a text run on it is scored with: the test split's; without a split, its own.
  assert.deepEqual(evaluationCaptions(`captions:${dir}`, fit), held.captions);
  assert.deepEqual(evaluationCaptions(`captions:${join(fixtures, 'captions')}`, fit), whole.captions);

  // Fitted into the cache: cropped and whole images are stores of their own.
  withEnv({ GANTRY_CACHE: tempDir(), GANTRY_DATA_MEMORY_MB: '0' }, () => {
    assert.deepEqual(readImages(openDataset(`captions:${dir}`, fit), [0, 1, 2, 3]).pixels, train.pixels);
    assert.deepEqual(readImages(openDataset(`captions:${dir}?crop=none`, fit), [0, 1, 2, 3]).pixels, uncropped.pixels);
  });
});

test('Oxford-102 with Reed et al.\'s captions: images flat in jpg/, classes from text_c10/class_K/, the class split of trainvalclasses.txt and testclasses.txt', () => {
  const dir = flowersFolder();
  const fit = { height: 16, width: 16, channels: 3 };
  const whole = openDataset(`captions:${join(fixtures, 'captions')}`, fit);
  const train = openDataset(`captions:${dir}`, fit);
  assert.equal(train.n, 3);
  assert.deepEqual(train.classNames, ['class_00001']);
  assert.deepEqual(train.captions, whole.captions!.slice(0, 3));
  assert.deepEqual(train.pixels, readImages(whole, [0, 1, 2]).pixels, 'no boxes: whole images');
  assert.match(train.note!, /^the train split: 3 of 6 images \(trainvalclasses\.txt; /);
  const held = openDataset(`captions:${dir}?split=test`, fit);
  assert.deepEqual([held.classNames, held.captions], [['class_00002'], whole.captions!.slice(3)]);
});

test('DF-GAN\'s and AttnGAN\'s coco/ folder: images/ and text/ flat, split by filenames.pickle, no classes, no crops', () => {
  const dir = cocoFolder();
  const fit = { height: 16, width: 16, channels: 3 };
  const whole = openDataset(`captions:${join(fixtures, 'captions')}`, fit);
  const train = openDataset(`captions:${dir}`, fit);
  assert.deepEqual([train.n, train.labels, train.classNames], [4, null, null]);
  assert.deepEqual(train.captions, whole.captions!.slice(0, 4));
  assert.deepEqual(train.pixels, readImages(whole, [0, 1, 2, 3]).pixels);
  assert.equal(train.note, 'the train split: 4 of 6 images (train/filenames.pickle; captions:' + dir + '?split=test is the test split)');
  assert.deepEqual(openDataset(`captions:${dir}?split=test`, fit).captions, whole.captions!.slice(4));
});

test('captions:DIR?classes= keeps those class folders, labelled in the order named, within the split; the captions a run on them is scored with', () => {
  const fit = { height: 8, width: 8, channels: 3 };
  const plain = join(fixtures, 'captions');
  const whole = openDataset(`captions:${plain}`, fit);
  const jays = openDataset(`captions:${plain}?classes=002.Blue_Jay,001.Cardinal`, fit);
  assert.deepEqual(jays.classNames, ['002.Blue_Jay', '001.Cardinal']);
  assert.deepEqual(Array.from(jays.labels!), [1, 1, 1, 0, 0, 0], 'file order kept, labels in the order named');
  assert.deepEqual(jays.captions, whole.captions);
  const one = openDataset(`captions:${plain}?classes=002.Blue_Jay`, fit);
  assert.deepEqual([one.n, one.classNames, Array.from(one.labels!)], [3, ['002.Blue_Jay'], [0, 0, 0]]);
  assert.deepEqual(one.pixels, readImages(whole, [3, 4, 5]).pixels);
  assert.deepEqual(openCaptions(`captions:${plain}?classes=002.Blue_Jay`, fit), whole.captions!.slice(3));
  assert.throws(() => openDataset(`captions:${plain}?classes=003.Robin`, fit), /^GantryError: captions:.*: unknown class "003\.Robin"; the classes are 001\.Cardinal, 002\.Blue_Jay$/);
  assert.throws(() => openDataset(`captions:${cocoFolder()}?classes=a`, fit), /\?classes= needs images in class folders \(images\/<class>\/ or text_c10\/<class>\/\), and it has none/);

  // StackGAN's image split: each class has images in both splits; a run on the jays is scored with the jays' test captions.
  const birds = birdsFolder();
  const train = openDataset(`captions:${birds}?classes=002.Blue_Jay`, fit);
  assert.deepEqual([train.n, train.captions], [2, [whole.captions![3], whole.captions![4]]]);
  assert.match(train.note!, /^the train split: 4 of 6 images .*; classes 002\.Blue_Jay: 2 images; each bird cropped/);
  assert.deepEqual(evaluationCaptions(`captions:${birds}?classes=002.Blue_Jay`, fit), [whole.captions![5]]);
  assert.deepEqual(openDataset(`captions:${birds}?split=test&classes=002.Blue_Jay`, fit).captions, [whole.captions![5]]);

  // Reed et al.'s class split: a class is in one split only; a run on train classes is scored with their own captions.
  const flowers = flowersFolder();
  assert.throws(() => openDataset(`captions:${flowers}?classes=class_00002`, fit), /^GantryError: captions:.*: class "class_00002" has no images in the train split; it is in the test split \(\?split=test\), or choose among class_00001$/);
  assert.equal(openDataset(`captions:${flowers}?split=test&classes=class_00002`, fit).n, 3);
  assert.deepEqual(evaluationCaptions(`captions:${flowers}?classes=class_00001`, fit), whole.captions!.slice(0, 3));
  assert.deepEqual(evaluationCaptions(`captions:${flowers}`, fit), whole.captions!.slice(3), 'without ?classes=, the test split\'s as before');
});

test('captions splits and boxes that do not fit the data are one line each', () => {
  const fit = { height: 8, width: 8, channels: 3 };
  const plain = join(fixtures, 'captions');
  assert.throws(() => openDataset(`captions:${plain}?split=test`, fit), /\?split=test: the folder defines no split; it needs train\/filenames\.pickle and test\/filenames\.pickle \(StackGAN, AttnGAN, DF-GAN\) or trainvalclasses\.txt and testclasses\.txt/);
  assert.throws(() => openDataset(`captions:${plain}?crop=bbox`, fit), /\?crop=bbox: no bounding_boxes\.txt and images\.txt beside .*images \(CUB_200_2011's\); leave \?crop out/);
  assert.throws(() => openDataset(`captions:${plain}?crop=square`, fit), /crop is bbox or none, not "square"/);
  assert.throws(() => openDataset(`captions:${plain}?size=a`, fit), /unknown option "size"; known: split, crop, classes/);

  const birds = birdsFolder();
  rmSync(join(birds, 'CUB_200_2011', 'images', '002.Blue_Jay', 'jay_1.jpg'));
  assert.throws(() => openDataset(`captions:${birds}`, fit), /train\/filenames\.pickle names 4 images but 1 of them are not in .*images with captions, e\.g\. 002\.Blue_Jay\/jay_1; give the whole data set/);
  assert.equal(openDataset(`captions:${birds}?split=test`, fit).n, 2, 'the other split is whole');
  appendFileSync(join(birds, 'CUB_200_2011', 'bounding_boxes.txt'), '7 1 2 three 4\n');
  assert.throws(() => openDataset(`captions:${birds}?split=test`, fit), /bounding_boxes\.txt line 7 is "7 1 2 three 4"; each line should be an image id of images\.txt and its box: x y width height/);
  assert.equal(openDataset(`captions:${birds}?split=test&crop=none`, fit).n, 2, '?crop=none reads no boxes');
  writeFileSync(join(birds, 'test', 'filenames.pickle'), 'not a pickle');
  assert.throws(() => openDataset(`captions:${birds}?split=test&crop=none`, fit), /captions: cannot read .*test\/filenames\.pickle \(.*\); it should be a pickled list of image names/);
  rmSync(join(birds, 'test', 'filenames.pickle'));
  assert.throws(() => openDataset(`captions:${birds}?split=test&crop=none`, fit), /the test split has no test\/filenames\.pickle beside train\/filenames\.pickle; add it/);
});
