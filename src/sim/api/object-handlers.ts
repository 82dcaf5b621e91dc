import type { IncomingMessage, ServerResponse } from 'node:http';
import type { HandlerContext } from './handlers.js';
import { readDeleteOptions } from './handlers.js';
import { isJsonType, readTypedJson, sendJson } from './http-util.js';
import type { KindSpec } from '../cluster/kinds.js';
import { isPatchType } from './merge-patch.js';

/**
 * The object handlers serve the kinds of the kinds table; like the pod handlers they only turn
 * HTTP into calls of the object registry, where the rules live.
 */

export async function createObject(
  ctx: HandlerContext,
  kind: KindSpec,
  namespace: string,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const { body } = await readTypedJson(req, ctx.maxBodyBytes, isJsonType);
  sendJson(res, 201, ctx.objects.create(kind, namespace, body));
}

export async function replaceObject(
  ctx: HandlerContext,
  kind: KindSpec,
  namespace: string,
  name: string,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const { body } = await readTypedJson(req, ctx.maxBodyBytes, isJsonType);
  sendJson(res, 200, ctx.objects.replace(kind, namespace, name, body));
}

/** patchObject takes JSON patches and merge patches; a strategic merge patch is applied as a merge patch (lists are replaced whole). */
export async function patchObject(
  ctx: HandlerContext,
  kind: KindSpec,
  namespace: string,
  name: string,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const { type, body } = await readTypedJson(req, ctx.maxBodyBytes, isPatchType);
  sendJson(res, 200, ctx.objects.patch(kind, namespace, name, body, type));
}

export async function deleteObject(
  ctx: HandlerContext,
  kind: KindSpec,
  namespace: string,
  name: string,
  req: IncomingMessage,
  res: ServerResponse,
  query: URLSearchParams,
): Promise<void> {
  const options = await readDeleteOptions(req, query, ctx.maxBodyBytes);
  sendJson(res, 200, ctx.objects.delete(kind, namespace, name, options));
}
