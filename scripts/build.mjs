// Compiles src/ to dist/ (JavaScript and .d.ts, for the published package; `npm pack` runs it) and copies
// the explorer page's HTML and CSS beside its compiled script. A checkout runs src/ through tsx instead.
import { spawnSync } from 'node:child_process';
import { copyFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
rmSync('dist', { recursive: true, force: true });
const tsc = spawnSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
if (tsc.status !== 0) process.exit(tsc.status ?? 1);
for (const file of ['index.html', 'explorer.css']) copyFileSync(`src/web/explorer/${file}`, `dist/web/explorer/${file}`);
