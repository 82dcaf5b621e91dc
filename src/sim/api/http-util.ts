import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { ApiError, badRequest, statusObject, tooLarge } from './status.js';

/**
 * The HTTP helpers give every answer the API server's framing: JSON with
 * `Content-Type: application/json`, errors as Status objects, bodies read with a size limit.
 */

export function sendJson(res: ServerResponse, code: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) return;
  const text = JSON.stringify(body);
  res.writeHead(code, {
    'Content-Type': 'application/json',
    'Cache-Control': 'no-cache, private',
    'Content-Length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

/** sendError answers with the error's Status; anything that is not an ApiError is a 500 InternalError. */
export function sendError(res: ServerResponse, err: unknown): void {
  if (err instanceof ApiError) {
    sendJson(res, err.code, err.status, err.headers);
    return;
  }
  const message = err instanceof Error ? err.message : String(err);
  sendJson(res, 500, statusObject(500, 'InternalError', `Internal error occurred: ${message}`));
}

/**
 * readBody collects the request body up to `limit` bytes; a larger body gets 413 at once and the
 * connection is closed, so a client cannot make the simulator buffer without bound.
 */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? '0');
    if (Number.isFinite(declared) && declared > limit) {
      reject(tooLarge(limit));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    req.on('data', (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > limit) {
        done = true;
        reject(tooLarge(limit));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (done) return;
      done = true;
      resolve(Buffer.concat(chunks));
    });
    req.on('error', (err) => {
      if (done) return;
      done = true;
      reject(err);
    });
  });
}

/**
 * replayable reads a request's body now and returns a stand-in request that yields it again, with
 * the same method, URL and headers: a call that is to be handled later, when its client may have
 * gone and its socket with it, keeps what it was sent.
 */
export async function replayable(req: IncomingMessage, limit: number): Promise<IncomingMessage> {
  const body = await readBody(req, limit);
  const copy = Readable.from(body.length > 0 ? [body] : []);
  return Object.assign(copy, { method: req.method, url: req.url, headers: req.headers }) as unknown as IncomingMessage;
}

/** parseJson turns a body into a value, or a 400 Status naming the JSON error. */
export function parseJson(body: Buffer): unknown {
  const text = body.toString('utf8');
  if (text.trim() === '') throw badRequest('the request body is empty; a JSON object was expected');
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw badRequest(`the request body is not valid JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** mediaType returns the request's Content-Type without parameters, lower-cased. */
export function mediaType(req: IncomingMessage): string {
  return (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
}
