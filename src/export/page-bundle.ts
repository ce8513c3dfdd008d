import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { GantryError, describeError } from '../errors.ts';
import { WORKER_SCRIPT } from '../web/worker-generator.ts';

export { WORKER_SCRIPT };

/**
 * The explorer page's files: index.html and explorer.css as written in src/web/explorer/; explorer.js,
 * the page's script; and draw-worker.js, the worker that holds the generator's networks and draws
 * (gantry/web/worker: tfjs, its backends and gantry's networks). The scripts are bundled with everything
 * they import by esbuild for browsers, once a process.
 */
const WEB = new URL('../web/', import.meta.url);
const EXPLORER = new URL('explorer/', WEB);
export const PAGE_SCRIPT = 'explorer.js';

let bundle: Promise<Record<string, string>> | null = null;

export async function pageFiles(): Promise<Record<string, string>> {
  bundle ??= bundleExplorer().catch((err) => {
    bundle = null;
    throw err;
  });
  return {
    'index.html': readFileSync(new URL('index.html', EXPLORER), 'utf8'),
    'explorer.css': readFileSync(new URL('explorer.css', EXPLORER), 'utf8'),
    ...(await bundle),
  };
}

async function bundleExplorer(): Promise<Record<string, string>> {
  let esbuild: typeof import('esbuild');
  try {
    esbuild = await import('esbuild');
  } catch (err) {
    throw new GantryError(`the page is bundled with esbuild, which did not load (${describeError(err)}); run \`npm ci\``);
  }
  // The TypeScript in a checkout, the compiled script in the installed package.
  const source = (dir: URL, name: string) => fileURLToPath(new URL(existsSync(new URL(`${name}.ts`, dir)) ? `${name}.ts` : `${name}.js`, dir));
  const scripts: Record<string, string> = { [PAGE_SCRIPT]: source(EXPLORER, 'main'), [WORKER_SCRIPT]: source(WEB, 'worker') };
  const built = await Promise.all(Object.entries(scripts).map(async ([name, entry]) => {
    const result = await esbuild.build({
      entryPoints: [entry],
      bundle: true,
      // The worker is started as a module worker (new Worker(url, { type: 'module' })).
      format: 'esm',
      platform: 'browser',
      target: 'es2022',
      minify: true,
      write: false,
      legalComments: 'none',
      define: { 'process.env.NODE_ENV': '"production"' },
      logLevel: 'silent',
    });
    return [name, result.outputFiles[0].text] as const;
  }));
  return Object.fromEntries(built);
}
