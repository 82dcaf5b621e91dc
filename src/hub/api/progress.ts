import { onAbort } from '../../core/abort.js';
import type { ServerStatus } from '../../spawnkeeper.js';
import type { HubContext } from '../context.js';
import { findUser, serverName, spawnFailure, userName } from '../context.js';
import { HttpError } from './http.js';
import { isActive, logName, serverUrl } from './models.js';
import type { KubeEventObject } from './pod-events.js';
import { eventTime } from './pod-events.js';
import type { Handler, RequestContext } from './router.js';
import { guardStream } from './stream-guard.js';

type Frame = Record<string, unknown>;

function readyFrame(user: string, server: string): Frame {
  const url = serverUrl(user, server);
  return {
    progress: 100,
    ready: true,
    message: `Server ready at ${url}`,
    html_message: `Server ready at <a href="${url}">${url}</a>`,
    url,
  };
}

/** finalFrame is the frame that ends a stream for this status, or undefined while the spawn goes on. */
function finalFrame(hub: HubContext, s: ServerStatus): Frame | undefined {
  if (s.ready) return readyFrame(s.user, s.name);
  if (s.state === 'spawn_pending' || (s.state === 'stop_pending' && s.startQueued)) return undefined;
  const failure = spawnFailure(hub, s.user, s.name);
  return { progress: 100, failed: true, message: failure === null ? 'Spawn cancelled' : `Spawn failed: ${failure}` };
}

function eventFrame(e: KubeEventObject, progress: number): Frame {
  const at = e.lastTimestamp ?? e.eventTime ?? e.firstTimestamp ?? '';
  return { progress, message: `${at} [${e.type ?? 'Normal'}] ${e.message ?? e.reason ?? ''}`.trim(), raw_event: e };
}

/**
 * progress is `GET .../server/progress` and `.../servers/{server}/progress`: JupyterHub's event
 * stream. First `Server requested`, then the pod's Kubernetes Events as they come (KubeSpawner's
 * frames, progress closing in on 90), then the ready or failed frame, after which the stream ends;
 * a keepalive goes out meanwhile. Ready already: one ready frame; failed: one failed frame; neither
 * pending nor failed: 400.
 */
export function progress(hub: HubContext): Handler {
  return (ctx) => {
    const user = userName(ctx.params['name']);
    const server = ctx.params['server'] === undefined ? '' : serverName(ctx.params['server']);
    hub.auth.require(ctx.req, 'read:servers', { user, server });
    const record = findUser(hub, user);
    const s = hub.sk.get(user, server);
    if (server !== '' && !isActive(s) && hub.users.server(record.id, server) === undefined)
      throw new HttpError(404, `${user} has no server named ${server}`);
    const key = `${user}/${server}`;
    if (
      s === undefined ||
      (!s.ready && s.state !== 'failed' && s.state !== 'spawn_pending' && !(s.state === 'stop_pending' && s.startQueued))
    ) {
      throw new HttpError(400, `${logName(user, server)} is not starting...`);
    }
    const res = ctx.res;
    res.writeHead(200, {
      'Content-Type': 'text/event-stream',
      'Cache-Control': 'no-cache',
      'X-Accel-Buffering': 'no',
      Connection: 'keep-alive',
    });
    if (ctx.req.method === 'HEAD') return void res.end(); // the headers say it all; a HEAD must not wait for the spawn
    const send = (frame: Frame) => res.write(`data: ${JSON.stringify(frame)}\n\n`);
    const early = s.ready ? readyFrame(user, server) : s.state === 'failed' ? finalFrame(hub, s) : undefined;
    if (early !== undefined) {
      send(early);
      res.end();
      return;
    }
    stream(hub, ctx, key, s, send);
  };
}

/**
 * stream follows one pending spawn until its final frame, the client leaving, the hub closing, or
 * the token that opened it no longer standing; the pod's Events come from the hub's shared feed.
 */
function stream(hub: HubContext, ctx: RequestContext, key: string, s: ServerStatus, send: (f: Frame) => void): void {
  const { res } = ctx;
  const abort = new AbortController();
  const seen = new Set<string>();
  const oldPods = new Set<string>();
  const held: KubeEventObject[] = [];
  let pct = 0;
  if (s.state === 'stop_pending' && s.podUid !== null) oldPods.add(s.podUid);
  send({ progress: 0, message: 'Server requested' });

  const emit = (e: KubeEventObject) => {
    const uid = e.metadata?.uid ?? '';
    if (seen.has(uid) || oldPods.has(e.involvedObject?.uid ?? '')) return;
    const began = hub.index.spawnStartedAt(key);
    if (began === undefined) return void held.push(e); // a queued start: wait until its spawn begins
    const at = eventTime(e);
    if (Number.isFinite(at) && at < Math.floor(began / 1000) * 1000) return;
    seen.add(uid);
    pct = Math.round(pct + (90 - pct) / 3);
    send(eventFrame(e, pct));
  };
  const finish = (frame: Frame | undefined) => {
    if (abort.signal.aborted) return;
    abort.abort();
    off();
    unsubscribe();
    unguard();
    clearInterval(keepalive);
    unshut();
    if (frame !== undefined && !res.destroyed) send(frame);
    res.end();
  };
  const off = hub.index.watch(key, (now) => {
    if (now.state === 'spawn_pending') for (const e of held.splice(0)) emit(e);
    const frame = finalFrame(hub, now);
    if (frame !== undefined) finish(frame);
  });
  const keepalive = setInterval(() => res.write('\n\n'), Math.max(10, hub.config.progressKeepalive * 1000));
  keepalive.unref();
  const unshut = onAbort(hub.shutdown, () => finish(undefined));
  res.once('close', () => finish(undefined));
  const target = { user: s.user, server: s.name };
  const unguard = guardStream(
    hub,
    ctx.req,
    (c) => c.grants.has('read:servers', target),
    () => finish(undefined),
  );
  const unsubscribe = hub.podEvents.subscribe(s.podName, emit);
}
