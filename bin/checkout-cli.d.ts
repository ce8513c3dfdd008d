/** The CLI's main() from the bundle of `root`/src, or null where it cannot be had (then tsx runs src/). */
export function bundledMain(root: string): Promise<((argv: string[]) => Promise<unknown>) | null>;
