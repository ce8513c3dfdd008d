import { test } from 'node:test';
import assert from 'node:assert/strict';
import { segmentationScores, SegmentationTally } from '../../src/models/segmentation-scores.ts';

test('pixel accuracy and mean IoU from the confusion matrix (hand-computed), unlabelled truth ignored, absent classes left out', () => {
  const tally = new SegmentationTally(4);
  // truth 0 0 1 1 2 2 (and an id outside the classes: unlabelled), prediction 0 1 1 1 2 0
  tally.add([0, 1, 1, 1, 2, 0, 3], [0, 0, 1, 1, 2, 2, 9]);
  const s = segmentationScores(tally);
  assert.equal(s.pixelAccuracy, 4 / 6);
  // IoU: class 0 1 / (2 + 2 - 1), class 1 2 / (2 + 3 - 2), class 2 1 / (2 + 1 - 1); class 3 occurs nowhere
  assert.deepEqual(s.iou.slice(0, 3), [1 / 3, 2 / 3, 1 / 2]);
  assert.ok(Number.isNaN(s.iou[3]));
  assert.ok(Math.abs(s.meanIoU - (1 / 3 + 2 / 3 + 1 / 2) / 3) < 1e-12);
  // Adding the same pixels twice changes nothing relative.
  tally.add([0, 1, 1, 1, 2, 0], [0, 0, 1, 1, 2, 2]);
  assert.ok(Math.abs(segmentationScores(tally).meanIoU - s.meanIoU) < 1e-12);
  assert.throws(() => tally.add([0], [0, 1]), /1 predictions for 2 pixels/);
});
