import { readFileSync, statSync } from 'node:fs';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { GantryError, describeError } from '../errors.ts';
import { generatorFiles, pretrainedFiles, type PretrainedExport } from '../export/export-run.ts';
import { pageFiles, PAGE_SCRIPT, WORKER_SCRIPT } from '../export/page-bundle.ts';
import { CHECKPOINT_FILE } from '../train/checkpoint.ts';
import { openRun } from '../train/run.ts';
import { MODEL_FILE, WEIGHTS_FILE } from '../web/model-file.ts';
import { RunProgress } from './progress.ts';

/**
 * The studio: the page `gantry export` writes, served for a run while it trains. The images are drawn in
 * the page (gantry/web); this server only hands out static files and the run's generator, taken afresh
 * from its newest checkpoint. The page asks every few seconds whether model.json names a newer step and
 * reloads when it does (the `gantry-live` meta tag turns that on). A generator of NVIDIA's pix2pixHD code
 * (`studio --weights`) is exported once and served as it is.
 *
 *   GET /                    the explorer page
 *   GET /explorer.js, .css   its script and styles
 *   GET /draw-worker.js      the worker its generator draws in
 *   GET /model.json          the generator's description at the newest checkpoint
 *   GET /weights.safetensors the weights of that same description (the snapshot model.json last served)
 * and for a run folder, what the page's training panel shows (read from the folder as the run writes it):
 *   GET /progress.json       step, target, newest losses and scores, rate and time left, who trains it
 *   GET /plots/NAME.svg      the run's plots (losses, each score), drawn from metrics.jsonl as it is now
 *   GET /samples/step-N.png  its sample grids
 */

const LIVE_TAG = '<meta name="gantry-live" content="checkpoint">';

interface Snapshot {
  /** The checkpoint's modification time it was taken at. */
  mtime: number;
  model: string;
  weights: Uint8Array;
}

export interface StudioServer {
  server: Server;
  url: string;
  close(): Promise<void>;
}

/** A file's bytes, or null when it is not there (a sample grid asked for by a stale page). */
function readOptional(path: string): Uint8Array | null {
  try {
    return readFileSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/**
 * Serves the studio on host:port (port 0: any free port) for a run folder, following its checkpoints, or
 * for a generator of NVIDIA's pix2pixHD code, exported once.
 */
export async function startStudio(source: string | PretrainedExport, port: number, host = '127.0.0.1'): Promise<StudioServer> {
  const page = await pageFiles();
  const index = typeof source === 'string' ? page['index.html'].replace('</head>', `${LIVE_TAG}\n</head>`) : page['index.html'];
  const progress = typeof source === 'string' ? new RunProgress(source) : null;
  let snapshot: Snapshot | null = null;
  let pending: Promise<Snapshot> | null = null;

  const exportLatest = async (runDir: string, mtime: number): Promise<Snapshot> => {
    const run = openRun(runDir);
    try {
      const { model, weights } = await generatorFiles(run, runDir);
      snapshot = { mtime, model: JSON.stringify(model), weights };
      return snapshot;
    } finally {
      run.model.dispose();
    }
  };

  /** The generator at the newest checkpoint, exported once per checkpoint written (a pretrained one: once). */
  const latest = async (): Promise<Snapshot> => {
    if (typeof source !== 'string') return snapshot!;
    const mtime = statSync(join(source, CHECKPOINT_FILE), { throwIfNoEntry: false })?.mtimeMs ?? 0;
    if (snapshot && snapshot.mtime === mtime) return snapshot;
    pending ??= exportLatest(source, mtime).finally(() => {
      pending = null;
    });
    return pending;
  };
  // A run that cannot be opened or draws nothing (or a weights file that is not a generator) is one error now, not a broken page.
  if (typeof source === 'string') await latest();
  else {
    const { model, weights } = await pretrainedFiles(source);
    snapshot = { mtime: 0, model: JSON.stringify(model), weights };
  }
  progress?.follow(); // a long run's metrics.jsonl is read on in the background from now, not on the page's first request

  const send = (res: ServerResponse, status: number, type: string, body: string | Uint8Array) => {
    res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
    res.end(body);
  };
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://studio').pathname;
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'text/plain', `the studio only answers GET, not ${req.method}\n`);
    const answer = async () => {
      switch (path) {
        case '/':
        case '/index.html':
          return send(res, 200, 'text/html; charset=utf-8', index);
        case `/${PAGE_SCRIPT}`:
          return send(res, 200, 'text/javascript; charset=utf-8', page[PAGE_SCRIPT]);
        case `/${WORKER_SCRIPT}`:
          return send(res, 200, 'text/javascript; charset=utf-8', page[WORKER_SCRIPT]);
        case '/explorer.css':
          return send(res, 200, 'text/css; charset=utf-8', page['explorer.css']);
        case `/${MODEL_FILE}`:
          return send(res, 200, 'application/json', (await latest()).model);
        case `/${WEIGHTS_FILE}`:
          // The weights of the description the page read last (a checkpoint written between the two requests waits for the next reload).
          return send(res, 200, 'application/octet-stream', (snapshot ?? (await latest())).weights);
        case '/progress.json':
          if (progress) return send(res, 200, 'application/json', JSON.stringify(progress.now()));
          break;
      }
      const plot = progress && /^\/plots\/([\w-]+)\.svg$/.exec(path);
      const svg = plot && progress.plot(plot[1]);
      if (svg) return send(res, 200, 'image/svg+xml', svg);
      if (progress && /^\/samples\/step-\d+\.png$/.test(path)) {
        const grid = readOptional(join(source as string, path));
        if (grid) return send(res, 200, 'image/png', grid);
      }
      return send(res, 404, 'text/plain', `no ${path} here\n`);
    };
    answer().catch((err) => {
      const message = describeError(err);
      if (!res.headersSent) send(res, err instanceof GantryError ? 409 : 500, 'text/plain', `${message}\n`);
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(new GantryError(`cannot listen on ${host}:${port} (${describeError(err)}); pick another --port`)));
    server.listen(port, host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  return {
    server,
    url: `http://${host.includes(':') && !host.startsWith('[') ? `[${host}]` : host}:${address.port}/`,
    close: async () => {
      await progress?.stop();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections(); // a browser's keep-alive connections would hold close() open
      });
    },
  };
}
