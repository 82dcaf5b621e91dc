import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpError } from './http.js';

/** RequestContext is what a handler gets: the request, the response, path parameters and the query. */
export interface RequestContext {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly params: Readonly<Record<string, string>>;
  readonly query: URLSearchParams;
}

/** Handler answers one request; a thrown HttpError becomes the JSON error answer. */
export type Handler = (ctx: RequestContext) => Promise<void> | void;

interface Route {
  readonly method: string;
  readonly pattern: readonly string[];
  /** name is the route's template, the `handler` label of the request metric. */
  readonly name: string;
  readonly handler: Handler;
}

/** Match is a resolved request: the handler and its template name. */
export interface Match {
  readonly name: string;
  readonly handler: Handler;
  readonly params: Record<string, string>;
}

/**
 * Router maps a method and a path template (`/hub/api/users/:name`) to a handler: an unknown path
 * is 404, a known path with another method 405 with `Allow`, OPTIONS on a known path 200 with
 * `Allow` and no body (as JupyterHub's API answers it), and a segment that does not decode 400.
 */
export class Router {
  private readonly routes: Route[] = [];

  add(method: string, template: string, handler: Handler): this {
    this.routes.push({ method, pattern: template.split('/').slice(1), name: template, handler });
    return this;
  }

  match(method: string, pathname: string): Match {
    const segments = split(pathname);
    const allowed = new Set<string>();
    let known: { name: string; params: Record<string, string> } | undefined;
    for (const route of this.routes) {
      const params = bind(route.pattern, segments);
      if (params === undefined) continue;
      if (route.method === method || (method === 'HEAD' && route.method === 'GET'))
        return { name: route.name, handler: route.handler, params };
      allowed.add(route.method);
      known ??= { name: route.name, params };
    }
    if (known === undefined) throw new HttpError(404, `Not found: ${pathname.slice(0, 200)}`);
    if (allowed.has('GET')) allowed.add('HEAD');
    if (method === 'OPTIONS') {
      const allow = [...allowed, 'OPTIONS'].sort().join(', ');
      return {
        ...known,
        handler: (ctx) => void ctx.res.writeHead(200, { Allow: allow, 'Content-Length': '0', 'Cache-Control': 'no-store' }).end(),
      };
    }
    throw new HttpError(405, `Method ${method.slice(0, 20)} is not allowed here`, { Allow: [...allowed].sort().join(', ') });
  }
}

function split(pathname: string): string[] {
  const trimmed = pathname.length > 1 && pathname.endsWith('/') ? pathname.slice(0, -1) : pathname;
  return trimmed
    .split('/')
    .slice(1)
    .map((s) => {
      try {
        return decodeURIComponent(s);
      } catch {
        throw new HttpError(400, `The path segment ${JSON.stringify(s.slice(0, 80))} is not valid percent-encoding`);
      }
    });
}

function bind(pattern: readonly string[], segments: readonly string[]): Record<string, string> | undefined {
  if (pattern.length !== segments.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i] ?? '';
    const s = segments[i] ?? '';
    if (p.startsWith(':')) params[p.slice(1)] = s;
    else if (p !== s) return undefined;
  }
  return params;
}
