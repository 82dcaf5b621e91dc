import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { CONTROL_ACTIONS } from './control-actions.js';
import { ParamError, Params } from './control-params.js';
import { readBody } from '../api/http-util.js';
import { Listener, LOOPBACK } from '../api/listener.js';
import { isRecord } from '../cluster/object-meta.js';
import type { Simulator } from '../simulator.js';
import { ApiError } from '../api/status.js';

/** ControlServer is the fault control API of one simulator, on a port of its own. */
export interface ControlServer {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

const MAX_BODY = 64 * 1024;

function reply(res: ServerResponse, code: number, body: unknown): void {
  if (res.headersSent || res.destroyed) return;
  const text = `${JSON.stringify(body ?? {}, null, 2)}\n`;
  res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), 'Cache-Control': 'no-store' });
  res.end(text);
}

function index(sim: Simulator): object {
  return {
    simulator: sim.url,
    read: ['GET /log', 'GET /state'],
    actions: CONTROL_ACTIONS.map((a) => ({ call: `POST /${a.name}`, args: a.args, does: a.summary })),
  };
}

function state(sim: Simulator): object {
  return {
    simulator: sim.url,
    seed: sim.seed,
    resourceVersion: sim.cluster.resourceVersion(),
    oldestResourceVersion: sim.cluster.oldestResourceVersion(),
    openWatches: sim.cluster.openWatches(),
    refusing: sim.faults.isRefusing(),
    nodes: sim.kubelet.nodes(),
    delays: sim.kubelet.delays(),
  };
}

async function handle(sim: Simulator, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = new URL(req.url ?? '/', 'http://control.invalid').pathname.replace(/\/+$/, '');
  const method = req.method ?? 'GET';
  const reads: Record<string, () => object> = {
    '': () => index(sim),
    '/log': () => ({ log: sim.faults.log() }),
    '/state': () => state(sim),
  };
  const read = reads[path];
  if (read !== undefined) {
    if (method !== 'GET' && method !== 'HEAD') return reply(res, 405, { error: `${path || '/'} answers GET only` });
    return reply(res, 200, read());
  }
  const action = CONTROL_ACTIONS.find((a) => `/${a.name}` === path);
  if (action === undefined) return reply(res, 404, { error: `no control call ${path}; GET / lists them` });
  if (method !== 'POST') return reply(res, 405, { error: `${path} answers POST only` });
  const text = (await readBody(req, MAX_BODY)).toString('utf8');
  let body: unknown = {};
  if (text.trim() !== '') {
    try {
      body = JSON.parse(text);
    } catch (err) {
      return reply(res, 400, { error: `the body is not JSON: ${err instanceof Error ? err.message : String(err)}` });
    }
  }
  if (!isRecord(body)) return reply(res, 400, { error: 'the body must be a JSON object of arguments' });
  const params = new Params(body);
  const effect = action.parse(params);
  params.done();
  const result = await effect(sim);
  reply(res, 200, { ok: true, ...(isRecord(result) ? result : {}) });
}

/**
 * startControlServer serves the fault control API of a running simulator on 127.0.0.1: each call
 * of CONTROL_ACTIONS as `POST /<name>` with JSON arguments, plus `GET /log` (the injection log)
 * and `GET /state`. It is a separate port so refusing the API's connections leaves it reachable.
 */
export async function startControlServer(sim: Simulator, options: { port?: number } = {}): Promise<ControlServer> {
  const server = createServer((req, res) => {
    handle(sim, req, res).catch((err: unknown) => {
      if (err instanceof ParamError) reply(res, 400, { error: err.message });
      else if (err instanceof ApiError) reply(res, err.code, { error: err.message, status: err.status });
      else reply(res, 500, { error: err instanceof Error ? err.message : String(err) });
    });
  });
  const listener = new Listener(server);
  const port = await listener.listen(options.port ?? 0);
  return { url: `http://${LOOPBACK}:${port}`, port, close: () => listener.close() };
}
