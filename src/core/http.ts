import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * The HTTP helpers both of spawnkeeper's servers use (the hub's REST API and the simulated API
 * server): each frames its answers and errors its own way, through the options here.
 */

export interface JsonAnswer {
  /** contentType of a JSON answer, e.g. `application/json`. */
  readonly contentType: string;
  /** headers go after the framing headers, so they may replace them. */
  readonly headers: Readonly<Record<string, string>>;
  /** headOnly: the headers alone, as the answer to a HEAD request. */
  readonly headOnly?: boolean;
}

/** writeJson answers `status` with `body` as JSON, its length stated; a 204 carries neither a body nor its headers. */
export function writeJson(res: ServerResponse, status: number, body: unknown, answer: JsonAnswer): void {
  const text = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, {
    ...(status === 204 ? {} : { 'Content-Type': answer.contentType, 'Content-Length': String(Buffer.byteLength(text)) }),
    ...answer.headers,
  });
  res.end(answer.headOnly === true || status === 204 ? undefined : text);
}

/** BodyErrors are how a server refuses a body: each server answers in its own format. */
export interface BodyErrors {
  /** tooLarge: the body is over `limit` bytes (declared or as read); the connection should close. */
  tooLarge(limit: number): Error;
  /** unreadable: the request failed (`cause`) or closed before its body was read. */
  unreadable(message: string, cause?: Error): Error;
}

/**
 * readBody reads a request body up to `limit` bytes; a larger one is refused as soon as its size is
 * known, without buffering the rest, so a client cannot make a server hold an unbounded body.
 */
export function readBody(req: IncomingMessage, limit: number, errors: BodyErrors): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? '0');
  if (Number.isFinite(declared) && declared > limit) return Promise.reject(errors.tooLarge(limit));
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
      if (size > limit) finish(errors.tooLarge(limit));
      else chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('end', () => finish());
    req.once('error', (err) => finish(errors.unreadable(`the request body could not be read: ${err.message}`, err)));
    req.once('close', () => finish(errors.unreadable('the request was closed before its body was read')));
  });
}
