import { readFileSync } from 'node:fs';
import type { AnyStateNode } from 'xstate';
import { DEFAULT_DELAYS, serverMachine } from '../../../machines/server.machine.js';
import { onAbort } from '../../core/abort.js';
import type { ServerStatus } from '../../spawnkeeper.js';
import type { HubContext } from '../context.js';
import { serverName, userName } from '../context.js';
import { HttpError, sendJson } from '../api/http.js';
import type { Handler, Router } from '../api/router.js';
import { guardStream } from '../api/stream-guard.js';
import type { Caller } from '../auth/tokens.js';

/**
 * The operators' dashboard at /hub/dashboard: a page served by the hub itself (no CDN, works
 * offline), and the small JSON and server-sent-event API it reads with the admin's token sent as a
 * header, never in a URL.
 */

const ASSETS = new URL('./', import.meta.url);
const FILES: Record<string, { file: string; type: string }> = {
  '': { file: 'page.html', type: 'text/html; charset=utf-8' },
  'app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  'format.js': { file: 'format.js', type: 'text/javascript; charset=utf-8' },
  'app.css': { file: 'app.css', type: 'text/css; charset=utf-8' },
  'icon.svg': { file: 'icon.svg', type: 'image/svg+xml' },
};
const READ = ['admin:servers', 'read:servers'] as const;

export interface StateTree {
  readonly id: string;
  readonly key: string;
  readonly stable: boolean;
  readonly timeouts: readonly string[];
  /** after: each timeout with the state it leads to (a state id, or null when it stays). */
  readonly after: ReadonlyArray<{ readonly delay: string; readonly target: string | null }>;
  readonly children: readonly StateTree[];
}

/** stateTree is the server machine as nested states with their timeouts by name, for the diagram. */
export function stateTree(node: AnyStateNode = serverMachine.root): StateTree {
  return {
    id: node.id,
    key: node.key,
    stable: node.tags.includes('stable'),
    timeouts: node.after.map((t) => String(t.delay)),
    after: node.after.map((t) => ({ delay: String(t.delay), target: t.target?.[0]?.id ?? null })),
    children: Object.values(node.states).map((child) => stateTree(child)),
  };
}

/**
 * view is a server for the page. Its `deadline` is the pending state's own timeout (startTimeout,
 * stopTimeout), not the next poll, so the countdown means "gives up at".
 */
function view(hub: HubContext, s: ServerStatus) {
  const timers = hub.sk.timers(s.user, s.name);
  const own = timers.find((t) => t.state === `${serverMachine.root.id}.${s.state}`);
  return {
    key: s.key,
    user: s.user,
    name: s.name,
    state: s.state,
    detail: s.detail,
    since: s.since,
    deadline: own?.dueAt ?? null,
    timeout: own?.delay ?? null,
    timers,
    reason: s.reason,
    startQueued: s.startQueued,
    podName: s.podName,
    seq: s.seq,
  };
}

/** visible tells whether the caller may read this server: a user's own token sees only that user's servers. */
function visible(caller: Caller, s: ServerStatus): boolean {
  return READ.some((scope) => caller.grants.has(scope, { user: s.user, server: s.name }));
}

function unfiltered(caller: Caller): boolean {
  return READ.some((scope) => caller.grants.unfiltered(scope));
}

/** reflectorHealth is the reflector's health for this caller: the cluster's error text only for `read:hub`, as on /hub/health. */
function reflectorHealth(hub: HubContext, caller: Caller) {
  const r = hub.sk.health().reflector;
  return caller.grants.has('read:hub') ? r : { ...r, lastError: r.lastError === null ? null : 'hidden: needs read:hub' };
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
      'Content-Security-Policy':
        "default-src 'self'; style-src 'self'; script-src 'self'; connect-src 'self'; img-src 'self'; frame-ancestors 'none'",
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'no-referrer',
    });
    ctx.res.end(ctx.req.method === 'HEAD' ? undefined : body);
  };
}

/** stream sends the caller's servers, then each change as it is committed, until the client or the hub goes. */
function stream(hub: HubContext): Handler {
  return (ctx) => {
    const caller = hub.auth.require(ctx.req, [...READ]);
    const { res } = ctx;
    res.writeHead(200, {
      'Content-Type': 'text/event-stream',
      'Cache-Control': 'no-store',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    });
    if (ctx.req.method === 'HEAD') return void res.end();
    const send = (event: string, data: unknown) => res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    // clock lets the page count time in state and deadlines on the hub's clock, not the browser's.
    const tick = () => {
      send('clock', { now: hub.clock.now() });
      send('health', reflectorHealth(hub, caller));
    };
    tick();
    send(
      'servers',
      hub.sk
        .list()
        .filter((s) => visible(caller, s))
        .map((s) => view(hub, s)),
    );
    const off = hub.sk.subscribe((status) => {
      if (visible(caller, status)) send('server', view(hub, status));
    });
    const beat = setInterval(() => {
      res.write(': keepalive\n\n');
      tick();
    }, 5_000);
    let ended = false;
    const end = () => {
      if (ended) return;
      ended = true;
      off();
      unguard();
      clearInterval(beat);
      unshut();
      res.end();
    };
    const unguard = guardStream(hub, ctx.req, (c) => READ.some((scope) => c.grants.has(scope)), end);
    const unshut = onAbort(hub.shutdown, end);
    res.once('close', end);
  };
}

/** registerDashboard adds the page and its API to the hub's router. */
export function registerDashboard(router: Router, hub: HubContext): void {
  router.add('GET', '/hub/dashboard', asset(''));
  for (const name of ['app.js', 'format.js', 'app.css', 'icon.svg']) router.add('GET', `/hub/dashboard/${name}`, asset(name));
  router.add('GET', '/hub/api/spawnkeeper/machine', (ctx) => {
    hub.auth.require(ctx.req, [...READ]);
    sendJson(ctx.req, ctx.res, 200, { ...stateTree(), delays: { ...DEFAULT_DELAYS, ...hub.config.spawnkeeper.delays } });
  });
  router.add('GET', '/hub/api/spawnkeeper/servers', (ctx) => {
    const caller = hub.auth.require(ctx.req, [...READ]);
    const health = hub.sk.health();
    sendJson(ctx.req, ctx.res, 200, {
      servers: hub.sk
        .list()
        .filter((s) => visible(caller, s))
        .map((s) => view(hub, s)),
      health: unfiltered(caller) && caller.grants.has('read:hub') ? health : { reflector: reflectorHealth(hub, caller) },
      now: hub.clock.now(),
    });
  });
  router.add('GET', '/hub/api/spawnkeeper/stream', stream(hub));
  const history: Handler = (ctx) => {
    const user = userName(ctx.params['user']);
    const name = serverName(ctx.params['server'] ?? '');
    hub.auth.require(ctx.req, [...READ], { user, server: name });
    if (hub.sk.get(user, name) === undefined) throw new HttpError(404, `${user} has no server ${JSON.stringify(name)}`);
    sendJson(ctx.req, ctx.res, 200, { key: `${user}/${name}`, history: hub.sk.history(user, name) });
  };
  router.add('GET', '/hub/api/spawnkeeper/history/:user', history);
  router.add('GET', '/hub/api/spawnkeeper/history/:user/:server', history);
}
