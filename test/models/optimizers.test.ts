import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setup } from '../helpers.ts';
import { FAMILIES } from '../../src/models/index.ts';
import type { DataShape } from '../../src/data/batch.ts';

await setup();

/**
 * Every family's optimizers cover every trainable tensor of their networks: an Adam made before its
 * network's layers holds no variables, and that network then never learns while its losses still look
 * sane (pix2pixhd's D once did). Built from each family's defaults on data that has everything.
 */
test('every network of every family is trained by an optimizer that holds all its trainable tensors', () => {
  for (const [name, family] of Object.entries(FAMILIES)) {
    const configs = name === 'pix2pixhd' ? [{ height: 32 }, { height: 32, netG: 'local' }, { height: 32, featNum: 3 }] : [{}];
    for (const raw of configs) {
      const info = family.describe(family.schema.parse(raw));
      const data: DataShape = {
        height: info.height, width: info.width, channels: info.channels || 3, numClasses: 4, classNames: ['a', 'b', 'c', 'd'],
        captions: Array.from({ length: 8 }, (_, i) => [`a small red circle number ${i}`]),
        labelMaps: { maxLabel: 4, maxLabelAt: 'test', instances: true, labelNames: [] },
      };
      const model = family.create(family.resolve(family.schema.parse(raw), data), 0);
      try {
        for (const [net, params] of Object.entries(model.networks)) {
          const optimizer = model.optimizers[net];
          const what = `${name} ${JSON.stringify(raw)} network ${net}`;
          assert.ok(optimizer, `${what} has no optimizer`);
          assert.ok(params.trainable().length > 0, `${what} has no trainable tensors`);
          assert.deepEqual(optimizer.params.map((v) => v.name), params.trainable().map((v) => v.name), `${what}: its optimizer does not hold exactly its trainable tensors`);
        }
      } finally {
        model.dispose();
      }
    }
  }
});
