import { readFileSync } from 'node:fs';

/**
 * The studio page: one self-contained HTML document (no build step, no external requests), made of the
 * markup and styles in studio.html and the script in studio.js, which is inlined where studio.html
 * names it. The script asks the server (server.ts) for vectors and PNGs and draws four panels: latent
 * sliders, interpolation, latent arithmetic and, for conditional runs, the class or typed caption every
 * image is drawn with.
 */
const read = (name: string) => readFileSync(new URL(name, import.meta.url), 'utf8');

export const STUDIO_PAGE = read('studio.html').replace('<script src="studio.js"></script>', () => `<script>\n${read('studio.js')}</script>`);
