import { GantryError } from '../errors.ts';
import { classifierFamily } from './classifier.ts';
import { dcganFamily } from './dcgan.ts';
import { vaeFamily } from './vae.ts';
import { vaeGanFamily } from './vae-gan.ts';
import { unetVaeGanFamily } from './unet-vae-gan.ts';
import { cganFamily } from './cgan.ts';
import { acganFamily } from './acgan.ts';
import { ganClsFamily } from './gan-cls.ts';
import { dfganFamily } from './dfgan.ts';
import type { Family } from './family.ts';

/** A family behind the registry's uniform type: configs are validated by its own schema before use. */
const erase = <C>(family: Family<C>): Family<unknown> => family as unknown as Family<unknown>;

/** Every model family the CLI can train, by name. */
export const FAMILIES: Record<string, Family<unknown>> = {
  dcgan: erase(dcganFamily),
  classifier: erase(classifierFamily),
  vae: erase(vaeFamily),
  'vae-gan': erase(vaeGanFamily),
  'unet-vae-gan': erase(unetVaeGanFamily),
  cgan: erase(cganFamily),
  acgan: erase(acganFamily),
  'gan-cls': erase(ganClsFamily),
  dfgan: erase(dfganFamily),
};

export function getFamily(name: string): Family<unknown> {
  const family = FAMILIES[name];
  if (!family) throw new GantryError(`unknown model family "${name}"; known: ${Object.keys(FAMILIES).join(', ')}`);
  return family;
}
