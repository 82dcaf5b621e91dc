import type { IncomingMessage, ServerResponse } from 'node:http';
import type { BodyErrors } from '../../core/http.js';
import { readBody as readCoreBody, writeJson } from '../../core/http.js';
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
  writeJson(res, status, body, {
    contentType: 'application/json; charset=utf-8',
    headers: { 'Cache-Control': 'no-store', ...headers },
    headOnly: req.method === 'HEAD',
  });
}

/** sendError writes JupyterHub's error body `{"status": N, "message": "…"}`. */
export function sendError(req: IncomingMessage, res: ServerResponse, err: HttpError): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  sendJson(req, res, err.status, { status: err.status, message: err.message }, { ...err.headers });
}

/** HUB_BODY_ERRORS: an oversized body is 413 and closes the connection; one that cannot be read is 400. */
const HUB_BODY_ERRORS: BodyErrors = {
  tooLarge: (limit) => tooLarge(limit),
  unreadable: (message) => new HttpError(400, message),
};

/**
 * readBody reads the request body up to `limit` bytes; a larger one is refused with 413 as soon as
 * its size is known, without reading the rest.
 */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return readCoreBody(req, limit, HUB_BODY_ERRORS);
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
