// The addon's sgemm, convolutions and tanh built as a plain program (test/native/kernel-check.cc) with binding.gyp's
// flags, for this machine and, cross-compiled, for AArch64 (Apple silicon, Graviton), run there under qemu:
// every case against float64 loops, and the AArch64 NEON kernels' output bit for bit against the AVX2
// kernels' (the same multiply-adds in the same order). Needs g++; the AArch64 half needs
// aarch64-linux-gnu-g++ and qemu-aarch64 (Debian: g++-aarch64-linux-gnu qemu-user; .ci/run installs them).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { arch } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir } from '../helpers.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const sources = ['test/native/kernel-check.cc', 'src/native/gemm.cc', 'src/native/conv.cc', 'src/native/valid_conv.cc', 'src/native/thread_pool.cc'];

interface Gyp {
  targets: [{ cflags_cc: string[]; conditions: [string, { cflags_cc?: string[] }][] }];
}
const gyp = JSON.parse(readFileSync(join(root, 'binding.gyp'), 'utf8')) as Gyp;
/** The flags node-gyp compiles the addon with on Linux, for x86-64 or arm64. */
function flags(target: 'x64' | 'arm64'): string[] {
  const { cflags_cc, conditions } = gyp.targets[0];
  const extra = conditions.filter(([when]) => when === `target_arch=='${target}'`).flatMap(([, c]) => c.cflags_cc ?? []);
  return [...cflags_cc, ...extra];
}

const has = (tool: string) => spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;
const dir = tempDir('gantry-kernel-check-');

function build(compiler: string, target: 'x64' | 'arm64', out: string, extra: string[] = []): void {
  const r = spawnSync(compiler, [...flags(target), ...extra, '-o', out, ...sources], { cwd: root, encoding: 'utf8' });
  assert.equal(r.status, 0, `${compiler} failed:\n${r.stderr}`);
}

interface Case {
  path: string;
  bits: string;
  line: string;
}
/** Runs the program (on 2 threads, so every build splits the work alike); its cases by name and path. */
function run(command: string[]): Map<string, Case> {
  const r = spawnSync(command[0], command.slice(1), { encoding: 'utf8', env: { ...process.env, GANTRY_THREADS: '2' }, timeout: 300_000 });
  assert.equal(r.status, 0, `${command.join(' ')} failed (${r.status}):\n${r.stdout}${r.stderr}`);
  const lines = r.stdout.trim().split('\n');
  assert.match(lines.at(-1)!, /^\d+ passed, 0 failed$/);
  const cases = new Map<string, Case>();
  for (const line of lines.slice(0, -1)) {
    const [name, path, bits, , verdict] = line.split(' ');
    assert.equal(verdict, 'ok', line);
    cases.set(`${name} ${path}`, { path, bits, line });
  }
  return cases;
}

const x86 = arch() === 'x64';
let native: Map<string, Case> | undefined;

test('the kernels built for this machine agree with float64 loops, on their SIMD and portable paths', { skip: !has('g++') && 'needs g++' }, () => {
  build('g++', x86 ? 'x64' : 'arm64', join(dir, 'native'));
  native = run([join(dir, 'native')]);
  // Both paths ran: the SIMD one wherever there are SIMD kernels (AVX2/FMA on x86-64, NEON on every AArch64).
  const simd = arch() === 'arm64' || (x86 && / avx2 /.test(readFileSync('/proc/cpuinfo', 'utf8')) && / fma /.test(readFileSync('/proc/cpuinfo', 'utf8')));
  const paths = new Set([...native.values()].map((c) => c.path));
  assert.deepEqual([...paths].sort(), simd ? ['portable', 'simd'] : ['portable']);
  if (x86) {
    // The AVX-512 tiles, where this CPU has them, give the AVX2 tiles' bits: the reference for AArch64 below.
    const avx2 = run([join(dir, 'native'), 'avx2']);
    for (const [key, c] of native) assert.equal(avx2.get(key)?.bits, c.bits, `${key}: AVX-512 and AVX2 differ`);
  }
});

const crossTools = ['aarch64-linux-gnu-g++', 'qemu-aarch64'].filter((t) => !has(t));
test('on AArch64 (under qemu) the NEON kernels give the AVX2 kernels\' results bit for bit', {
  skip: !x86 ? 'cross-checks from an x86-64 machine' : crossTools.length > 0 && `needs ${crossTools.join(' and ')} (apt-get install g++-aarch64-linux-gnu qemu-user)`,
}, () => {
  assert.ok(native, 'the native build ran first');
  build('aarch64-linux-gnu-g++', 'arm64', join(dir, 'arm64'), ['-static']);
  const neon = run(['qemu-aarch64', join(dir, 'arm64')]);
  assert.equal(neon.size, native.size);
  for (const [key, c] of native) {
    const other = neon.get(key);
    assert.ok(other, `${key} missing on AArch64`);
    assert.equal(other.bits, c.bits, `${key}: AArch64 ${other.line} / x86-64 ${c.line}`);
  }
});
