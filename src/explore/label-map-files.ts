import { GantryError, given, inWords } from '../errors.ts';
import { readIdMap } from '../io/id-map.ts';
import { readImageFile } from '../io/image.ts';
import { nearestCoverCrop } from '../io/pixels.ts';
import { takesPictures, type ModelInfo } from '../models/condition.ts';
import { picturesOf, unknownLabelAt, type LabelMaps } from './conditions.ts';

/** What translate and readLabelMaps say when a run that takes instance maps is given label maps alone. */
export const instancesFromLabelsNote = () => `this run was trained with instance maps and none were given (${given('instances')}), so each label's area is read as one object, as the page's painter reads a painted map: edges only where labels meet, touching objects of one class as one`;

/**
 * Label maps read from PNG files of ids (`translate --labels`), with their instance maps where the run
 * takes them, fitted to the run's size nearest-neighbour. Without instance files such a run reads each
 * label map as its own instance map (instancesFromLabelsNote; `instancesFromLabels` says so). Each problem is
 * one line naming the file: an id the run never learned, an extra instance map, maps and instance maps of
 * different sizes.
 */
export function labelMapsFromFiles(info: ModelInfo, labelFiles: string[], instanceFiles: string[] | null): { kind: 'labelMap'; maps: LabelMaps; instancesFromLabels: boolean } {
  const c = info.conditioning;
  if (c.kind !== 'labelMap') throw new GantryError(`this ${info.family} run does not take label maps; translate draws with a pix2pixhd run`);
  if (c.pictures) throw new GantryError(`this ${info.family} run was trained on pictures as inputs, not label maps; give pictures (${inWords('--inputs PICTURE.png', 'readPictures(files) and generate({ pictures })')})`);
  if (!c.instances && instanceFiles) throw new GantryError(`${given('instances')}: this run was trained without instance maps; leave them out`);
  if (instanceFiles && instanceFiles.length !== labelFiles.length) throw new GantryError(`${labelFiles.length} label maps but ${instanceFiles.length} instance maps; give one instance map per label map`);
  const { height, width } = info;
  const area = height * width;
  const labels = new Int32Array(labelFiles.length * area);
  const instancesFromLabels = c.instances && !instanceFiles;
  const instances = c.instances ? new Int32Array(labelFiles.length * area) : null;
  labelFiles.forEach((file, i) => {
    const map = readIdMap(file, 'label map');
    const bad = unknownLabelAt(map.ids, c.labelCount);
    if (bad >= 0) {
      throw new GantryError(`label map ${file} has label ${map.ids[bad]} at pixel ${bad % map.width},${Math.floor(bad / map.width)}, but the run knows labels 0..${c.labelCount - 1}; use the ids the run was trained on`);
    }
    labels.set(nearestCoverCrop(map.ids, map.width, map.height, width, height), i * area);
    if (instances && instancesFromLabels) instances.set(labels.subarray(i * area, (i + 1) * area), i * area);
    if (instances && instanceFiles) {
      const inst = readIdMap(instanceFiles[i], 'instance map');
      if (inst.width !== map.width || inst.height !== map.height) throw new GantryError(`instance map ${instanceFiles[i]} is ${inst.width}x${inst.height} but label map ${file} is ${map.width}x${map.height}; they must be the same size`);
      instances.set(nearestCoverCrop(inst.ids, inst.width, inst.height, width, height), i * area);
    }
  });
  return { kind: 'labelMap', maps: { n: labelFiles.length, height, width, labels, instances }, instancesFromLabels };
}

/**
 * Input pictures read from files (`translate --inputs`) for a run whose inputs are pictures (pix2pixHD's
 * --label_nc 0): fitted to the run's size as its training pictures were, kept as its maps are (each
 * pixel's levels packed).
 */
export function picturesFromFiles(info: ModelInfo, files: string[]): { kind: 'labelMap'; maps: LabelMaps } {
  return { kind: 'labelMap', maps: picturesOf(info, files.map(readImageFile)) };
}

/**
 * A run's inputs read from files, of the kind it was trained on: input pictures (picturesFromFiles), or label
 * maps with their instance maps (labelMapsFromFiles).
 */
export function inputsFromFiles(info: ModelInfo, files: string[], instanceFiles: string[] | null): { kind: 'labelMap'; maps: LabelMaps; instancesFromLabels: boolean } {
  return takesPictures(info) ? { ...picturesFromFiles(info, files), instancesFromLabels: false } : labelMapsFromFiles(info, files, instanceFiles);
}
