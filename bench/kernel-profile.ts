import type * as tf from '@tensorflow/tfjs-core';

type ProfileInfo = Awaited<ReturnType<typeof tf.profile>>;

/**
 * Prints a tf.profile result as a table of kernels by total time (SHAPES=1: one row per kernel and input
 * shapes). The profile scripts' shared report.
 */
export function printKernelProfile(label: string, info: ProfileInfo, wallMs: number, rowsShown = 30): void {
  const byName = new Map<string, { ms: number; calls: number }>();
  for (const k of info.kernels) {
    const key = process.env.SHAPES ? `${k.name} ${JSON.stringify(k.inputShapes)}` : k.name;
    const e = byName.get(key) ?? { ms: 0, calls: 0 };
    e.ms += k.kernelTimeMs as number;
    e.calls += 1;
    byName.set(key, e);
  }
  const rows = [...byName].sort((a, b) => b[1].ms - a[1].ms);
  const total = rows.reduce((s, [, e]) => s + e.ms, 0);
  console.log(`${label}: ${info.kernels.length} kernel calls, kernel time ${total.toFixed(1)} ms, wall ${wallMs.toFixed(1)} ms (profiling adds overhead)`);
  for (const [n, e] of rows.slice(0, rowsShown)) console.log(`${n.padEnd(28)} ${e.ms.toFixed(1).padStart(9)} ms ${String(e.calls).padStart(5)} calls`);
}
