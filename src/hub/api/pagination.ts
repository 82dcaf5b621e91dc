import type { IncomingMessage } from 'node:http';
import { HttpError } from './http.js';
import type { RequestContext } from './router.js';
import type { HubConfig } from '../settings.js';

/** PAGINATION_MEDIA_TYPE is the Accept value with which a client asks for JupyterHub's paginated form. */
export const PAGINATION_MEDIA_TYPE = 'application/jupyterhub-pagination+json';

/** acceptsPagination is JupyterHub's test: the media type is one of the Accept header's comma-separated entries. */
export function acceptsPagination(req: IncomingMessage): boolean {
  const accept = req.headers.accept ?? '';
  return accept.split(',').some((s) => s.trim().toLowerCase() === PAGINATION_MEDIA_TYPE);
}

/** pythonInt reads a query value as Python's int() does for the plain cases: optional sign, digits, underscores between them. */
function pythonInt(raw: string): number {
  const t = raw.trim();
  if (!/^[+-]?\d+(_\d+)*$/.test(t)) throw new HttpError(400, 'Invalid argument type, offset and limit must be integers');
  return Math.min(Math.abs(Number(t.replace(/_/g, ''))), Number.MAX_SAFE_INTEGER);
}

/**
 * pageOf is JupyterHub's get_api_pagination: `offset` and `limit` as absolute integers, limit cut
 * to 1…api_page_max_limit; without a limit, api_page_default_limit for a client that accepts pages,
 * else the max (so an old client misses fewer items).
 */
export function pageOf(
  ctx: RequestContext,
  config: Pick<HubConfig, 'apiPageDefaultLimit' | 'apiPageMaxLimit'>,
): { offset: number; limit: number } {
  const max = config.apiPageMaxLimit;
  const rawOffset = ctx.query.get('offset');
  const rawLimit = ctx.query.get('limit');
  const offset = rawOffset === null ? 0 : pythonInt(rawOffset);
  const wanted = rawLimit === null ? (acceptsPagination(ctx.req) ? config.apiPageDefaultLimit : max) : pythonInt(rawLimit);
  return { offset, limit: Math.max(1, Math.min(wanted, max)) };
}

/**
 * requestUrl is the full URL of a request as the client sent it (tornado's full_url with
 * xheaders): the scheme from X-Scheme or X-Forwarded-Proto (last entry) behind a proxy, else http.
 */
export function requestUrl(req: IncomingMessage): URL {
  const forwarded = req.headers['x-scheme'] ?? req.headers['x-forwarded-proto'];
  const last = (Array.isArray(forwarded) ? forwarded.join(',') : (forwarded ?? '')).split(',').at(-1)?.trim();
  const scheme = last === 'https' || last === 'http' ? last : 'http';
  const host = req.headers.host ?? '127.0.0.1';
  try {
    return new URL(`${scheme}://${host}${req.url ?? '/'}`);
  } catch {
    return new URL(`${scheme}://127.0.0.1${req.url ?? '/'}`);
  }
}

/**
 * paginated is JupyterHub's paginated_model: `{items, _pagination: {offset, limit, total, next}}`,
 * `next` with the URL of the next page (this request's, offset and limit replaced) or null.
 */
export function paginated(ctx: RequestContext, items: unknown[], offset: number, limit: number, total: number): Record<string, unknown> {
  const nextOffset = offset + limit;
  let next: Record<string, unknown> | null = null;
  if (nextOffset < total) {
    const url = requestUrl(ctx.req);
    url.searchParams.set('offset', String(nextOffset));
    url.searchParams.set('limit', String(limit));
    next = { offset: nextOffset, limit, url: url.toString() };
  }
  return { items, _pagination: { offset, limit, total, next } };
}
