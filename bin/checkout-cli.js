// A checkout's CLI, started quickly: src/ bundled by esbuild (already a dependency) into
// node_modules/.cache/gantry-cli/<fingerprint>/, built again whenever a source file changes, and loaded as
// plain JavaScript. tsx, the fallback where the bundle cannot be built or written, makes a loader round
// trip for every module a command imports before the command starts.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync } from 'node:fs';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';

// Bumped when the bundle's options below change, so an old bundle is not reused.
const FORMAT = 1;
// A bundle unused this long is deleted when another is built (a process still running it may need its
// lazily loaded chunks).
const KEEP_UNUSED_MS = 7 * 24 * 3600 * 1000;

/**
 * Every source file's path, size and modification time, and tsconfig.json's (esbuild reads it), hashed:
 * any edit, addition or removal changes it.
 */
function fingerprint(root, src, esbuildVersion) {
  const hash = createHash('sha256').update(`${FORMAT} ${esbuildVersion}\n`);
  const files = readdirSync(src, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => join(e.parentPath ?? e.path, e.name)).sort();
  const tsconfig = join(root, 'tsconfig.json');
  if (existsSync(tsconfig)) files.push(tsconfig);
  for (const file of files) {
    const s = statSync(file);
    hash.update(`${relative(root, file)} ${s.size} ${s.mtimeMs}\n`);
  }
  return hash.digest('hex').slice(0, 16);
}

/** Each module's own import.meta.url (its file in src/, as tsx gives it), for the paths it finds files by. */
const ownImportMetaUrl = {
  name: 'own-import-meta-url',
  setup(build) {
    build.onLoad({ filter: /\.ts$/ }, (args) => ({
      contents: readFileSync(args.path, 'utf8').replaceAll('import.meta.url', JSON.stringify(pathToFileURL(args.path).href)),
      loader: 'ts',
    }));
  },
};

async function build(esbuild, root, dir) {
  const staging = `${dir}.${process.pid}.tmp`;
  rmSync(staging, { recursive: true, force: true });
  await esbuild.build({
    entryPoints: [join(root, 'src', 'cli', 'main.ts')],
    outdir: staging,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    packages: 'external',
    outExtension: { '.js': '.mjs' },
    sourcemap: true,
    logLevel: 'silent',
    plugins: [ownImportMetaUrl],
  });
  try {
    renameSync(staging, dir);
  } catch (err) {
    // Another gantry process built the same sources first: theirs is used.
    rmSync(staging, { recursive: true, force: true });
    if (!existsSync(join(dir, 'main.mjs'))) throw err;
  }
}

function pruneOthers(cache, keep) {
  const now = Date.now();
  for (const name of readdirSync(cache)) {
    if (name === keep) continue;
    const path = join(cache, name);
    try {
      if (now - statSync(path).mtimeMs > KEEP_UNUSED_MS) rmSync(path, { recursive: true, force: true });
    } catch {
      // Another process removed it.
    }
  }
}

/** The CLI's main() from the bundle of `root`/src, or null where it cannot be had (then tsx runs src/). */
export async function bundledMain(root) {
  let dir;
  try {
    const esbuildVersion = JSON.parse(readFileSync(join(root, 'node_modules', 'esbuild', 'package.json'), 'utf8')).version;
    const cache = join(root, 'node_modules', '.cache', 'gantry-cli');
    const key = fingerprint(root, join(root, 'src'), esbuildVersion);
    dir = join(cache, key);
    if (!existsSync(join(dir, 'main.mjs'))) {
      mkdirSync(cache, { recursive: true });
      await build(await import('esbuild'), root, dir);
      pruneOthers(cache, key);
    }
  } catch {
    return null;
  }
  try {
    // Marks the bundle as in use, so that pruneOthers keeps it.
    const now = new Date();
    utimesSync(dir, now, now);
  } catch {
    // A read-only checkout: the bundle is used all the same.
  }
  // Stacks of internal errors name the lines in src/, as under tsx.
  process.setSourceMapsEnabled(true);
  return (await import(pathToFileURL(join(dir, 'main.mjs')).href)).main;
}
