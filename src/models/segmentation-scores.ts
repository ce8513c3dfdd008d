/**
 * Semantic segmentation scores as Cityscapes' evaluation defines them: a confusion matrix over every
 * pixel of a set, then pixel accuracy (correct / all) and mean IoU (per class true positives / (TP + FP +
 * FN), averaged over the classes that occur in the ground truth or the prediction).
 */
export class SegmentationTally {
  /** counts[truth * classes + predicted], float64 (large sets pass 2^32 pixels). */
  readonly counts: Float64Array;

  constructor(readonly classes: number) {
    this.counts = new Float64Array(classes * classes);
  }

  /** Adds predicted and true ids of the same pixels. Ids outside 0 .. classes - 1 in the truth are ignored (unlabelled). */
  add(predicted: ArrayLike<number>, truth: ArrayLike<number>): void {
    if (predicted.length !== truth.length) throw new Error(`segmentation: ${predicted.length} predictions for ${truth.length} pixels`);
    const k = this.classes;
    for (let i = 0; i < truth.length; i++) {
      const t = truth[i];
      if (t < 0 || t >= k) continue;
      this.counts[t * k + predicted[i]]++;
    }
  }
}

export interface SegmentationScores {
  pixelAccuracy: number;
  meanIoU: number;
  /** IoU per class id (NaN where a class occurs in neither truth nor prediction). */
  iou: number[];
}

export function segmentationScores(tally: SegmentationTally): SegmentationScores {
  const k = tally.classes;
  const c = tally.counts;
  let correct = 0;
  let total = 0;
  const iou: number[] = [];
  for (let t = 0; t < k; t++) {
    let truthTotal = 0;
    let predTotal = 0;
    for (let p = 0; p < k; p++) {
      truthTotal += c[t * k + p];
      predTotal += c[p * k + t];
    }
    const tp = c[t * k + t];
    correct += tp;
    total += truthTotal;
    const union = truthTotal + predTotal - tp;
    iou.push(union > 0 ? tp / union : Number.NaN);
  }
  const present = iou.filter((v) => !Number.isNaN(v));
  return { pixelAccuracy: total ? correct / total : Number.NaN, meanIoU: present.length ? present.reduce((a, b) => a + b, 0) / present.length : Number.NaN, iou };
}
