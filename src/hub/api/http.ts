import type { IncomingMessage, ServerResponse } from 'node:http';
import { MAX_JSON_DEPTH, nestingExceeds } from './json-limits.js';

/** HttpError is an answer other than success; its message is shown to the client as JupyterHub does. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

/** sendJson writes a JSON answer; a HEAD request gets the headers only. */
export function sendJson(
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, {
    ...(status === 204 ? {} : { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': String(Buffer.byteLength(text)) }),
    'Cache-Control': 'no-store',
    ...headers,
  });
  res.end(req.method === 'HEAD' || status === 204 ? undefined : text);
}

/** sendError writes JupyterHub's error body `{"status": N, "message": "…"}`. */
export function sendError(req: IncomingMessage, res: ServerResponse, err: HttpError): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  sendJson(req, res, err.status, { status: err.status, message: err.message }, { ...err.headers });
}

/**
 * readBody reads the request body up to `limit` bytes; a larger one is refused with 413 as soon as
 * its size is known, without reading the rest.
 */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? '0');
  if (Number.isFinite(declared) && declared > limit) return Promise.reject(tooLarge(limit));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (err?: Error) => {
      if (done) return;
      done = true;
      req.off('data', onData);
      if (err === undefined) resolve(Buffer.concat(chunks));
      else reject(err);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) finish(tooLarge(limit));
      else chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('end', () => finish());
    req.once('error', (err) => finish(new HttpError(400, `the request body could not be read: ${err.message}`)));
    req.once('close', () => finish(new HttpError(400, 'the request was closed before its body was read')));
  });
}

function tooLarge(limit: number): HttpError {
  return new HttpError(413, `Request body too large: the limit is ${limit} bytes`, { Connection: 'close' });
}

/** readJson reads an optional JSON object body: empty is `{}`, anything not an object, or nested deeper than MAX_JSON_DEPTH, is 400. */
export async function readJson(req: IncomingMessage, limit: number): Promise<Record<string, unknown>> {
  return (await readJsonOrNothing(req, limit)) ?? {};
}

/** readJsonOrNothing reads a JSON object body, or undefined for an empty one; anything not an object is 400. */
export async function readJsonOrNothing(req: IncomingMessage, limit: number): Promise<Record<string, unknown> | undefined> {
  const body = await readBody(req, limit);
  const text = body.toString('utf8').trim();
  if (text === '') return undefined;
  if (nestingExceeds(text, MAX_JSON_DEPTH)) throw new HttpError(400, `The request body is nested more than ${MAX_JSON_DEPTH} levels deep`);
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw new HttpError(400, 'Invalid JSON in body');
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) throw new HttpError(400, 'The request body must be a JSON object');
  return data as Record<string, unknown>;
}

/** isoTime is JupyterHub's timestamp format (ISO 8601 with Z), or null. */
export function isoTime(ms: number | null | undefined): string | null {
  return ms === null || ms === undefined ? null : new Date(ms).toISOString().replace(/Z$/, '000Z');
}
