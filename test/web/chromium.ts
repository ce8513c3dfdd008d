import type { Browser } from 'playwright-core';

/** Debian's Chromium, the one browser the tests and the latency bench drive (never a downloaded one). */
export const CHROMIUM = '/usr/bin/chromium';

/**
 * Chromium headless with nothing of its own on the network; webgpu: its software WebGPU adapter too
 * (--enable-unsafe-webgpu), so pages take their WebGPU path.
 */
export async function launchChromium(o: { webgpu?: boolean } = {}): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync',
      ...(o.webgpu ? ['--enable-unsafe-webgpu'] : [])],
  });
}
