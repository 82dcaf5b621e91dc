import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import type { BodyErrors } from '../../core/http.js';
import { readBody as readCoreBody, writeJson } from '../../core/http.js';
import { ApiError, badRequest, statusObject, tooLarge, unsupportedMediaType } from './status.js';

/**
 * The HTTP helpers give every answer the API server's framing: JSON with
 * `Content-Type: application/json`, errors as Status objects, bodies read with a size limit.
 */

export function sendJson(res: ServerResponse, code: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) return;
  writeJson(res, code, body, { contentType: 'application/json', headers: { 'Cache-Control': 'no-cache, private', ...headers } });
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

/** SIM_BODY_ERRORS: an oversized body gets a 413 Status and the connection is closed; a failed read is passed on (a 500). */
const SIM_BODY_ERRORS: BodyErrors = {
  tooLarge: (limit) => tooLarge(limit),
  unreadable: (message, cause) => cause ?? new Error(message),
};

/**
 * readBody collects the request body up to `limit` bytes; a larger body gets 413 at once and the
 * connection is closed, so a client cannot make the simulator buffer without bound.
 */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return readCoreBody(req, limit, SIM_BODY_ERRORS);
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

/** isJsonType: a body sent as JSON, or with no type (which the API server takes as JSON). */
export function isJsonType(type: string): type is '' | 'application/json' {
  return type === '' || type === 'application/json';
}

/** readTypedJson reads a JSON body sent with a media type `accepts` takes (else 415), and tells the type. */
export async function readTypedJson<T extends string>(
  req: IncomingMessage,
  limit: number,
  accepts: (type: string) => type is T,
): Promise<{ type: T; body: unknown }> {
  const type = mediaType(req);
  if (!accepts(type)) throw unsupportedMediaType(type);
  return { type, body: parseJson(await readBody(req, limit)) };
}

/** mediaType returns the request's Content-Type without parameters, lower-cased. */
export function mediaType(req: IncomingMessage): string {
  return (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
}
