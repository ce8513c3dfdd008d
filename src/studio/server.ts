import * as tf from '@tensorflow/tfjs-core';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import { GantryError, describeError } from '../errors.ts';
import { arithmeticVectors, latentForSeed, parseLatentExpression, slerp } from '../explore/latent.ts';
import { renderGrid } from '../explore/render.ts';
import { classLabels, conditionRows, encodeCaptions, sampleCaptions, unknownWords } from '../explore/conditions.ts';
import { encodePng } from '../io/png.ts';
import { formatZodError } from '../train/run-config.ts';
import type { OpenedRun } from '../train/run.ts';
import { STUDIO_PAGE } from './page.ts';

/**
 * The studio's HTTP side: the page, and a small JSON API over one opened run. The generator runs here,
 * in Node on gantry's kernels; the page only asks for vectors and images:
 *
 *   GET  /api/info                      the run: family, latent size, classes or sample captions
 *   GET  /api/latent?seed=N             seed:N's latent vector (the CLI's seeds)
 *   POST /api/slerp   {a, b, frames}    spherical interpolation between two latent vectors
 *   POST /api/arith   {expr}            latent arithmetic: each term's vector, then the result
 *   POST /api/text    {captions}        sentence vectors of typed captions (text runs)
 *   POST /api/images  {z, conditions?, cols?}  a PNG grid of the images of latent vectors
 */

const MAX_IMAGES = 256;
const MAX_BODY = 4 << 20;

const vector = z.array(z.number().finite());
const schemas = {
  slerp: z.object({ a: vector, b: vector, frames: z.number().int().min(2).max(64) }).strict(),
  arith: z.object({ expr: z.string().min(1).max(1000) }).strict(),
  text: z.object({ captions: z.array(z.string().max(500)).min(1).max(MAX_IMAGES) }).strict(),
  images: z.object({
    z: z.array(vector).min(1).max(MAX_IMAGES),
    conditions: z.array(vector).optional(),
    cols: z.number().int().min(1).max(MAX_IMAGES).optional(),
  }).strict(),
};

class RequestError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

function parseBody<T>(schema: z.ZodType<T>, raw: string): T {
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    throw new RequestError(400, 'the request body is not JSON');
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) throw new RequestError(400, formatZodError(parsed.error));
  return parsed.data;
}

/** How long a client may take to send a request's body (a body that never ends must not hold the studio). */
const BODY_TIMEOUT_MS = 10_000;

/**
 * Reads a request's body, before the request joins the queue. Over MAX_BODY: 413 (the rest is read and
 * dropped so the client sees the answer, not a reset); a body that stalls: 408.
 */
function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => reject(new RequestError(408, `the request body did not arrive within ${BODY_TIMEOUT_MS / 1000} s`)), BODY_TIMEOUT_MS);
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= MAX_BODY) chunks.push(c);
    });
    req.on('end', () => {
      clearTimeout(timer);
      if (size > MAX_BODY) reject(new RequestError(413, `request body of ${size} bytes is over the ${MAX_BODY}-byte limit`));
      else resolve(Buffer.concat(chunks).toString('utf8'));
    });
    req.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/** What the page needs to know about the run to draw its controls. */
export function runInfo(run: OpenedRun, runDir: string): Record<string, unknown> {
  const { info } = run;
  return {
    run: runDir,
    family: info.family,
    step: run.state.step,
    latentDim: info.latentDim,
    height: info.height,
    width: info.width,
    channels: info.channels,
    generates: Boolean(run.model.generate),
    classes: classLabels(info),
    captions: sampleCaptions(info),
  };
}

async function route(run: OpenedRun, runDir: string, req: IncomingMessage, res: ServerResponse, body: string): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://studio');
  const dim = run.info.latentDim;
  const checkLength = (v: number[], what: string) => {
    if (v.length !== dim) throw new RequestError(400, `${what} has ${v.length} numbers; this run's latent vectors have ${dim}`);
  };
  if (req.method === 'GET' && (url.pathname === '/' || url.pathname === '/index.html')) {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(STUDIO_PAGE);
    return;
  }
  if (req.method === 'GET' && url.pathname === '/api/info') return sendJson(res, 200, runInfo(run, runDir));
  if (req.method === 'GET' && url.pathname === '/api/latent') {
    const seed = Number(url.searchParams.get('seed'));
    if (!Number.isInteger(seed) || seed < 0) throw new RequestError(400, 'seed must be a whole number >= 0');
    return sendJson(res, 200, { z: Array.from(latentForSeed(seed, dim)) });
  }
  if (req.method !== 'POST') throw new RequestError(404, `no ${req.method} ${url.pathname}`);
  switch (url.pathname) {
    case '/api/slerp': {
      const { a, b, frames } = parseBody(schemas.slerp, body);
      checkLength(a, 'a');
      checkLength(b, 'b');
      const fa = Float32Array.from(a);
      const fb = Float32Array.from(b);
      return sendJson(res, 200, { vectors: Array.from({ length: frames }, (_, f) => Array.from(slerp(fa, fb, f / (frames - 1)))) });
    }
    case '/api/arith': {
      const terms = parseLatentExpression(parseBody(schemas.arith, body).expr);
      const vectors = arithmeticVectors(terms, dim);
      return sendJson(res, 200, { labels: [...terms.map((t) => `${t.sign < 0 ? '-' : '+'} ${t.text}`), '='], vectors: vectors.map((v) => Array.from(v)) });
    }
    case '/api/text': {
      const { captions } = parseBody(schemas.text, body);
      const encoded = encodeCaptions(run, captions);
      const vectors = encoded.rows.map((v) => Array.from(v));
      return sendJson(res, 200, { vectors, unknown: captions.map((c) => unknownWords(run.info, c)) });
    }
    case '/api/images': {
      const request = parseBody(schemas.images, body);
      request.z.forEach((v, i) => checkLength(v, `z[${i}]`));
      const conditions = conditionRows(run, request.conditions, request.z.length);
      const png = encodePng(await renderGrid(run, request.z.map((v) => Float32Array.from(v)), conditions, request.cols ?? request.z.length));
      res.writeHead(200, { 'content-type': 'image/png', 'content-length': png.length });
      res.end(png);
      return;
    }
    default:
      throw new RequestError(404, `no POST ${url.pathname}`);
  }
}

export interface StudioServer {
  server: Server;
  url: string;
  close(): Promise<void>;
}

/**
 * Serves the studio for an opened run on host:port (port 0: any free port). Requests are answered
 * one at a time (the generator is synchronous anyway); a bad request gets a 4xx with one message.
 */
export async function startStudio(run: OpenedRun, runDir: string, port: number, host = '127.0.0.1'): Promise<StudioServer> {
  let queue = Promise.resolve();
  const fail = (res: ServerResponse, err: unknown) => {
    const status = err instanceof RequestError ? err.status : err instanceof GantryError ? 400 : 500;
    // After a body that was too large or too slow, the connection is closed once the answer is out.
    if (status === 408 || status === 413) res.once('finish', () => res.socket?.destroy());
    if (!res.headersSent) sendJson(res, status, { error: describeError(err) });
    else res.destroy();
  };
  // Headers that never finish are dropped too (Node's own timeouts, checked every second).
  const timeouts = { headersTimeout: BODY_TIMEOUT_MS, requestTimeout: 2 * BODY_TIMEOUT_MS, connectionsCheckingInterval: 1000 };
  const server = createServer(timeouts, (req, res) => {
    // The body is read first, outside the queue: a slow client holds only its own request.
    readBody(req).then((body) => {
      queue = queue.then(async () => {
        const before = tf.memory().numTensors;
        try {
          await route(run, runDir, req, res, body);
        } catch (err) {
          fail(res, err);
        }
        // Every request leaves the tensor count where it found it (a long session must not grow).
        if (tf.memory().numTensors !== before) process.stderr.write(`studio: ${req.url} left ${tf.memory().numTensors - before} tensors\n`);
      });
    }, (err) => fail(res, err));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(new GantryError(`cannot listen on ${host}:${port} (${describeError(err)}); pick another --port`)));
    server.listen(port, host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  return {
    server,
    url: `http://${host}:${address.port}/`,
    close: () => new Promise((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections(); // a browser's keep-alive connections would hold close() open
    }),
  };
}
