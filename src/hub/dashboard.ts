import { readFileSync } from 'node:fs';
import type { AnyStateNode } from 'xstate';
import { serverMachine } from '../../machines/server.machine.js';
import type { ServerStatus } from '../spawnkeeper.js';
import type { HubContext } from './context.js';
import { serverName, userName } from './context.js';
import { HttpError, sendJson } from './http.js';
import type { Handler, Router } from './router.js';

/**
 * The operators' dashboard at /hub/dashboard: a page served by the hub itself (no CDN, works
 * offline), and the small JSON and server-sent-event API it reads with the admin's token sent as a
 * header, never in a URL.
 */

const ASSETS = new URL('./dashboard/', import.meta.url);
const FILES: Record<string, { file: string; type: string }> = {
  '': { file: 'page.html', type: 'text/html; charset=utf-8' },
  'app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  'app.css': { file: 'app.css', type: 'text/css; charset=utf-8' },
};

export interface StateTree {
  readonly id: string;
  readonly key: string;
  readonly stable: boolean;
  readonly timeouts: readonly string[];
  readonly children: readonly StateTree[];
}

/** stateTree is the server machine as nested states with their timeouts by name, for the diagram. */
export function stateTree(node: AnyStateNode = serverMachine.root): StateTree {
  return {
    id: node.id,
    key: node.key,
    stable: node.tags.includes('stable'),
    timeouts: node.after.map((t) => String(t.delay)),
    children: Object.values(node.states).map((child) => stateTree(child)),
  };
}

function view(s: ServerStatus) {
  return { key: s.key, user: s.user, name: s.name, state: s.state, detail: s.detail, since: s.since, deadline: s.deadline, reason: s.reason, startQueued: s.startQueued, seq: s.seq };
}

function asset(name: string): Handler {
  const spec = FILES[name];
  if (spec === undefined) throw new Error(`no dashboard asset ${name}`);
  const body = readFileSync(new URL(spec.file, ASSETS));
  return (ctx) => {
    ctx.res.writeHead(200, {
      'Content-Type': spec.type,
      'Content-Length': String(body.length),
      'Cache-Control': 'no-cache',
      'Content-Security-Policy': "default-src 'self'; style-src 'self'; script-src 'self'; connect-src 'self'",
      'X-Content-Type-Options': 'nosniff',
    });
    ctx.res.end(ctx.req.method === 'HEAD' ? undefined : body);
  };
}

/** stream sends every server's status, then each change as it is committed, until the client or the hub goes. */
function stream(hub: HubContext): Handler {
  return (ctx) => {
    hub.auth.require(ctx.req, ['admin:servers', 'read:servers']);
    const { res } = ctx;
    res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-store', Connection: 'keep-alive', 'X-Accel-Buffering': 'no' });
    const send = (event: string, data: unknown) => res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    send('servers', hub.sk.list().map(view));
    send('health', hub.sk.health().reflector);
    const off = hub.sk.subscribe((status) => send('server', view(status)));
    const beat = setInterval(() => {
      res.write(': keepalive\n\n');
      send('health', hub.sk.health().reflector);
    }, 5_000);
    let ended = false;
    const end = () => {
      if (ended) return;
      ended = true;
      off();
      clearInterval(beat);
      hub.shutdown.removeEventListener('abort', end);
      res.end();
    };
    hub.shutdown.addEventListener('abort', end);
    res.once('close', end);
  };
}

/** registerDashboard adds the page and its API to the hub's router. */
export function registerDashboard(router: Router, hub: HubContext): void {
  router.add('GET', '/hub/dashboard', asset(''));
  router.add('GET', '/hub/dashboard/app.js', asset('app.js'));
  router.add('GET', '/hub/dashboard/app.css', asset('app.css'));
  router.add('GET', '/hub/api/spawnkeeper/machine', (ctx) => {
    hub.auth.require(ctx.req, ['admin:servers', 'read:servers']);
    sendJson(ctx.req, ctx.res, 200, stateTree());
  });
  router.add('GET', '/hub/api/spawnkeeper/servers', (ctx) => {
    hub.auth.require(ctx.req, ['admin:servers', 'read:servers']);
    sendJson(ctx.req, ctx.res, 200, { servers: hub.sk.list().map(view), health: hub.sk.health() });
  });
  router.add('GET', '/hub/api/spawnkeeper/stream', stream(hub));
  const history: Handler = (ctx) => {
    const user = userName(ctx.params['user']);
    const name = serverName(ctx.params['server'] ?? '');
    hub.auth.require(ctx.req, ['admin:servers', 'read:servers'], { user });
    if (hub.sk.get(user, name) === undefined) throw new HttpError(404, `${user} has no server ${JSON.stringify(name)}`);
    sendJson(ctx.req, ctx.res, 200, { key: `${user}/${name}`, history: hub.sk.history(user, name) });
  };
  router.add('GET', '/hub/api/spawnkeeper/history/:user', history);
  router.add('GET', '/hub/api/spawnkeeper/history/:user/:server', history);
}
