import { randomBytes } from 'node:crypto';
import type { HubConfig } from '../../src/hub/settings.js';
import type { TestHub } from '../integration/hub-helpers.js';
import { startTestHub } from '../integration/hub-helpers.js';

/** CullerHub is the culler test suite's hub: spawnkeeper, set up as the suite's jupyterhub_config.py sets up JupyterHub. */
export interface CullerHub {
  readonly hub: TestHub;
  /** apiUrl: what the suite passes the culler, `http://127.0.0.1:PORT/hub/api`. */
  readonly apiUrl: string;
  /** adminToken: the `pytest` service's token, with which the suite's own requests are made. */
  readonly adminToken: string;
  /** cullToken: the `idle-culler` service's token. */
  readonly cullToken: string;
  /** adminRequest is the suite's admin_request: a request with the pytest token, JSON back (or undefined for an empty body); non-2xx throws. */
  adminRequest(
    path: string,
    options?: { method?: string; body?: string; headers?: Record<string, string>; parseJson?: boolean },
  ): Promise<unknown>;
  close(): Promise<void>;
}

/** USERS are the suite's `allowed_users`, which JupyterHub adds at start-up. */
export const USERS = [0, 1, 2, 3, 4].map((i) => `test-${i}`);

/**
 * startCullerHub launches spawnkeeper with the suite's services and roles: `pytest` (servers,
 * admin:users, read:hub) and `idle-culler` (list:users, read:users:activity, read:servers,
 * delete:servers, and admin:users when the culler is to cull users), each with a random
 * 16-byte hex token as the suite's fixtures make, and the suite's five users.
 */
export async function startCullerHub(options: { cullUsers?: boolean; config?: Partial<HubConfig> } = {}): Promise<CullerHub> {
  const adminToken = randomBytes(16).toString('hex');
  const cullToken = randomBytes(16).toString('hex');
  const hub = await startTestHub({
    services: [
      { name: 'pytest', api_token: adminToken, admin: false },
      { name: 'idle-culler', api_token: cullToken, admin: false },
    ],
    loadRoles: [
      { name: 'pytest', scopes: ['servers', 'admin:users', 'read:hub'], services: ['pytest'] },
      {
        name: 'idle-culler',
        scopes: [
          'list:users',
          'read:users:activity',
          'read:servers',
          'delete:servers',
          ...(options.cullUsers === true ? ['admin:users'] : []),
        ],
        services: ['idle-culler'],
      },
    ],
    slowSpawnTimeout: 10,
    slowStopTimeout: 10,
    ...options.config,
  });
  const apiUrl = `${hub.url}/hub/api`;
  const adminRequest: CullerHub['adminRequest'] = async (path, opts = {}) => {
    const res = await fetch(`${apiUrl}/${path.replace(/^\//, '')}`, {
      method: opts.method ?? 'GET',
      headers: { ...opts.headers, Authorization: `token ${adminToken}` },
      ...(opts.body === undefined ? {} : { body: opts.body }),
    });
    const text = await res.text();
    if (res.status < 200 || res.status >= 300) throw new Error(`HTTP ${res.status}: ${text.slice(0, 200)}`);
    if (opts.parseJson === false) return text;
    return text === '' ? undefined : (JSON.parse(text) as unknown);
  };
  const created = await adminRequest('/users', { method: 'POST', body: JSON.stringify({ usernames: USERS }) });
  if (!Array.isArray(created) || created.length !== USERS.length) throw new Error('the suite users were not created');
  return { hub, apiUrl, adminToken, cullToken, adminRequest, close: () => hub.close() };
}
