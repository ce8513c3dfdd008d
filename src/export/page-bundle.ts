import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { GantryError, describeError } from '../errors.ts';

/**
 * The explorer page's files: index.html and explorer.css as written in src/web/explorer/, and
 * explorer.js, the page's script bundled with everything it imports (gantry's networks, tfjs and its
 * backends) by esbuild for browsers. Bundled once a process.
 */
const EXPLORER = new URL('../web/explorer/', import.meta.url);
export const PAGE_SCRIPT = 'explorer.js';

let bundle: Promise<string> | null = null;

export async function pageFiles(): Promise<Record<string, string>> {
  bundle ??= bundleExplorer().catch((err) => {
    bundle = null;
    throw err;
  });
  return {
    'index.html': readFileSync(new URL('index.html', EXPLORER), 'utf8'),
    'explorer.css': readFileSync(new URL('explorer.css', EXPLORER), 'utf8'),
    [PAGE_SCRIPT]: await bundle,
  };
}

async function bundleExplorer(): Promise<string> {
  let esbuild: typeof import('esbuild');
  try {
    esbuild = await import('esbuild');
  } catch (err) {
    throw new GantryError(`the page is bundled with esbuild, which did not load (${describeError(err)}); run \`npm ci\``);
  }
  const result = await esbuild.build({
    // The TypeScript in a checkout, the compiled script in the installed package.
    entryPoints: [fileURLToPath(new URL(existsSync(new URL('main.ts', EXPLORER)) ? 'main.ts' : 'main.js', EXPLORER))],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    write: false,
    legalComments: 'none',
    define: { 'process.env.NODE_ENV': '"production"' },
    logLevel: 'silent',
  });
  return result.outputFiles[0].text;
}
