/**
 * Cityscapes' label ids (cityscapesScripts' labels.py): the name and the colour of ids 0 .. 33, the values
 * of its `*_gtFine_labelIds.png`. pix2pixHD trains on them with labelNc 35.
 */
export const CITYSCAPES_LABELS: [string, [number, number, number]][] = [
  ['unlabeled', [0, 0, 0]], ['ego vehicle', [0, 0, 0]], ['rectification border', [0, 0, 0]], ['out of roi', [0, 0, 0]],
  ['static', [0, 0, 0]], ['dynamic', [111, 74, 0]], ['ground', [81, 0, 81]], ['road', [128, 64, 128]],
  ['sidewalk', [244, 35, 232]], ['parking', [250, 170, 160]], ['rail track', [230, 150, 140]], ['building', [70, 70, 70]],
  ['wall', [102, 102, 156]], ['fence', [190, 153, 153]], ['guard rail', [180, 165, 180]], ['bridge', [150, 100, 100]],
  ['tunnel', [150, 120, 90]], ['pole', [153, 153, 153]], ['polegroup', [153, 153, 153]], ['traffic light', [250, 170, 30]],
  ['traffic sign', [220, 220, 0]], ['vegetation', [107, 142, 35]], ['terrain', [152, 251, 152]], ['sky', [70, 130, 180]],
  ['person', [220, 20, 60]], ['rider', [255, 0, 0]], ['car', [0, 0, 142]], ['truck', [0, 0, 70]],
  ['bus', [0, 60, 100]], ['caravan', [0, 0, 90]], ['trailer', [0, 0, 110]], ['train', [0, 80, 100]],
  ['motorcycle', [0, 0, 230]], ['bicycle', [119, 11, 32]],
];

/**
 * The Cityscapes ids that are countable objects (labels.py's hasInstances: person to bicycle): their pixels in
 * `*_instanceIds.png` are id * 1000 + k, one k an object; every other class is one region (its id).
 */
export const CITYSCAPES_OBJECT_IDS: readonly number[] = [24, 25, 26, 27, 28, 29, 30, 31, 32, 33];

/** Whether label names are Cityscapes' (ids 0 .. n - 1 in its order), as a Cityscapes run's are. */
export function areCityscapesNames(names: string[]): boolean {
  return names.length > 0 && names.every((n, i) => CITYSCAPES_LABELS[i]?.[0] === n);
}
