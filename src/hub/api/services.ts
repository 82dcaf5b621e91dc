import type { HubContext } from '../context.js';
import { HttpError, sendJson } from './http.js';
import { serviceModel } from './models.js';
import type { Handler } from './router.js';

/**
 * listServices is `GET /services` (`list:services`): the configured services the token may list,
 * as JupyterHub 5 answers it, an object keyed by service name.
 */
export function listServices(hub: HubContext): Handler {
  return (ctx) => {
    const caller = hub.auth.require(ctx.req, 'list:services');
    const shown = hub.services.list().filter((s) => caller.grants.has('list:services', { service: s.name }));
    sendJson(ctx.req, ctx.res, 200, Object.fromEntries(shown.map((s) => [s.name, serviceModel(s, caller.grants)])));
  };
}

/** getService is `GET /services/{name}`: the service model, cut to the token's scopes; 404 for an unknown service. */
export function getService(hub: HubContext): Handler {
  return (ctx) => {
    const name = ctx.params['name'] ?? '';
    const caller = hub.auth.require(ctx.req, ['read:services', 'read:services:name', 'read:roles:services'], { service: name });
    const spec = hub.services.get(name);
    if (spec === undefined) throw new HttpError(404, `No such service: ${name.slice(0, 255)}`);
    sendJson(ctx.req, ctx.res, 200, serviceModel(spec, caller.grants));
  };
}
