import { isHubAdmin } from '../auth/admin.js';
import type { HubContext } from '../context.js';
import { HttpError, sendJson } from './http.js';
import { serviceModel, userModel } from './models.js';
import type { Handler } from './router.js';
import { Grants } from '../auth/scopes.js';
import { OWN_TOKENS_NAME } from '../auth/services.js';

/**
 * whoami is `GET /hub/api/user`, JupyterHub's "who am I" for any valid token: the owner's user
 * model, or the service model for a service's token, cut to the token's scopes plus what every
 * token may read of its own owner (name and groups; a service's name), and `token_id`,
 * `session_id` (always null: there are no sessions here) and the token's expanded `scopes`. A
 * token of neither user nor service, one of the hub's own, answers as the service "spawnkeeper".
 */
export function whoami(hub: HubContext): Handler {
  return (ctx) => {
    const caller = hub.auth.caller(ctx.req);
    const held = caller.grants.expanded();
    let model: Record<string, unknown>;
    if (caller.owner !== null) {
      const user = hub.users.get(caller.owner);
      if (user === undefined) throw new HttpError(403, 'Missing or invalid credentials.');
      const identify = [`read:users:name!user=${user.name}`, `read:users:groups!user=${user.name}`];
      model = userModel(hub, user, new Grants([...held, ...identify], caller.owner));
    } else {
      const name = caller.service ?? OWN_TOKENS_NAME;
      const spec = hub.services.get(name) ?? { name, admin: isHubAdmin(hub.users, caller), roles: [], url: '', info: {}, display: false };
      model = serviceModel(spec, new Grants([...held, `read:services:name!service=${name}`], null, caller.service));
    }
    sendJson(ctx.req, ctx.res, 200, { ...model, token_id: `a${caller.tokenId}`, session_id: null, scopes: held });
  };
}
