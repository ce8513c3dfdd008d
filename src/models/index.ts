import { GantryError } from '../errors.ts';
import { classifierFamily } from './classifier.ts';
import { dcganFamily } from './dcgan.ts';
import { vaeFamily } from './vae.ts';
import { vaeGanFamily } from './vae-gan.ts';
import { unetVaeGanFamily } from './unet-vae-gan.ts';
import type { Family } from './family.ts';

/** Every model family the CLI can train, by name. */
export const FAMILIES: Record<string, Family<any>> = {
  dcgan: dcganFamily,
  classifier: classifierFamily,
  vae: vaeFamily,
  'vae-gan': vaeGanFamily,
  'unet-vae-gan': unetVaeGanFamily,
};

export function getFamily(name: string): Family<unknown> {
  const family = FAMILIES[name];
  if (!family) throw new GantryError(`unknown model family "${name}"; known: ${Object.keys(FAMILIES).join(', ')}`);
  return family;
}
