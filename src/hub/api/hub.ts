import type { HubContext } from '../context.js';
import { sendJson } from './http.js';
import type { Handler } from './router.js';

/** JUPYTERHUB_API_VERSION is the JupyterHub REST API this hub speaks, so clients that check the version accept it. */
export const JUPYTERHUB_API_VERSION = '5.2.1';

/** version is `GET /hub/api/`: no token needed, as in JupyterHub. */
export function version(hub: HubContext): Handler {
  return (ctx) => sendJson(ctx.req, ctx.res, 200, { version: JUPYTERHUB_API_VERSION, spawnkeeper: hub.version });
}

/** info is `GET /hub/api/info` (scope `read:hub`): JupyterHub's versions, executable, authenticator and spawner, then limits and the engine's health. */
export function info(hub: HubContext): Handler {
  return (ctx) => {
    hub.auth.require(ctx.req, 'read:hub');
    const c = hub.config;
    sendJson(ctx.req, ctx.res, 200, {
      version: JUPYTERHUB_API_VERSION,
      spawnkeeper: hub.version,
      node: process.version,
      sys_executable: process.execPath,
      authenticator: { class: 'spawnkeeper.tokens', version: hub.version },
      spawner: { class: 'spawnkeeper', version: hub.version, namespace: hub.sk.config.namespace, instance: hub.sk.config.instance },
      cluster: c.inCluster ? 'in-cluster' : c.kubeconfig !== '' ? 'kubeconfig' : 'simulated',
      limits: {
        concurrent_spawn_limit: c.concurrentSpawnLimit,
        active_server_limit: c.activeServerLimit,
        named_server_limit_per_user: c.namedServerLimitPerUser,
      },
      timeouts: { slow_spawn_timeout: c.slowSpawnTimeout, slow_stop_timeout: c.slowStopTimeout },
      health: hub.health.check(),
    });
  };
}

/**
 * health is `GET /hub/health` and `/hub/api/health`: 200 when healthy, 503 otherwise; no token
 * needed. Without a token that holds `read:hub` the body says only whether the hub is healthy: the
 * reason and the numbers behind it (which carry the cluster's error texts) are for the hub's operators.
 */
export function health(hub: HubContext): Handler {
  return (ctx) => {
    const report = hub.health.check();
    const detailed = hub.auth.optional(ctx.req)?.grants.has('read:hub') === true;
    sendJson(ctx.req, ctx.res, report.healthy ? 200 : 503, detailed ? report : { status: report.status, healthy: report.healthy });
  };
}

/** metrics is `GET /hub/metrics` in Prometheus' text format; it needs `read:metrics` unless authenticate_prometheus is off. */
export function metrics(hub: HubContext): Handler {
  return async (ctx) => {
    if (hub.config.authenticatePrometheus) hub.auth.require(ctx.req, 'read:metrics');
    const text = await hub.metrics.registry.metrics();
    ctx.res.writeHead(200, { 'Content-Type': hub.metrics.registry.contentType, 'Cache-Control': 'no-store' });
    ctx.res.end(ctx.req.method === 'HEAD' ? undefined : text);
  };
}
