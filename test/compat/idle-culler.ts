/**
 * A client that behaves as jupyterhub-idle-culler's `cull_idle` does on the wire, rewritten here
 * (the culler itself is Python and cannot be installed on these machines): the same requests in the
 * same order, with the same paths, query parameters, headers and bodies, the same decisions from
 * the same fields, and the same failures: a non-2xx answer is an error (tornado's fetch raises), and
 * a field the culler reads that is missing is an error (Python's KeyError). An error while handling
 * one user is recorded and the run goes on, as the culler logs it and goes on.
 */

/** Sent is one request as it went out, for tests to compare with what the culler sends. */
export interface Sent {
  readonly method: string;
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string | undefined;
  readonly status: number;
}

/** CullOptions are the culler's arguments (its command-line flags), plus the clock the tests move. */
export interface CullOptions {
  /** url: the hub's API, `http://host:port/hub/api`. */
  readonly url: string;
  readonly apiToken: string;
  readonly inactiveLimit: number;
  readonly cullUsers?: boolean;
  readonly removeNamedServers?: boolean;
  readonly maxAge?: number;
  readonly concurrency?: number;
  readonly cullAdminUsers?: boolean;
  readonly apiPageSize?: number;
  /** now: the culler's utcnow(), which its own test suite moves into the future. */
  readonly now?: () => Date;
  /** cullArbiter: the culler's hook that decides instead of the inactivity limit. */
  readonly cullArbiter?: (inactive: number | null, inactiveLimit: number, server: Record<string, unknown>) => boolean | Promise<boolean>;
}

/** CullRun is what a run did: every request, and the users whose handling failed (the culler's "Error processing"). */
export interface CullRun {
  readonly sent: Sent[];
  readonly errors: Array<{ user: string; error: string }>;
}

/** HTTPClientError is tornado's error for a non-2xx answer. */
export class HTTPClientError extends Error {
  constructor(
    readonly code: number,
    readonly body: string,
  ) {
    super(`HTTP ${code}: ${body.slice(0, 200)}`);
  }
}

/** key reads a field as Python's `d[k]` does: missing is an error, as the culler's KeyError. */
function key(obj: unknown, name: string): unknown {
  if (typeof obj !== 'object' || obj === null || !(name in obj)) throw new Error(`KeyError: '${name}'`);
  return (obj as Record<string, unknown>)[name];
}

/** parseDate is the culler's parse_date: ISO 8601, a time without a zone is UTC. */
function parseDate(s: unknown): number {
  if (typeof s !== 'string') throw new Error(`parse_date: not a string: ${String(s)}`);
  const zoned = /(Z|[+-]\d\d:?\d\d)$/i.test(s) ? s : `${s}Z`;
  const ms = Date.parse(zoned);
  if (!Number.isFinite(ms)) throw new Error(`parse_date: cannot parse ${s}`);
  return ms;
}

/** versionAtLeast compares dotted versions as the culler's Version does for plain releases. */
function versionAtLeast(version: string, min: string): boolean {
  const a = version.split(/[.+-]/).map((p) => Number.parseInt(p, 10) || 0);
  const b = min.split('.').map(Number);
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d > 0;
  }
  return true;
}

/** semaphore runs at most `n` tasks at once, as the culler's asyncio.Semaphore around fetch. */
function semaphore(n: number): <T>(task: () => Promise<T>) => Promise<T> {
  let running = 0;
  const waiting: Array<() => void> = [];
  return async (task) => {
    if (running >= n) await new Promise<void>((resolve) => waiting.push(resolve));
    running++;
    try {
      return await task();
    } finally {
      running--;
      waiting.shift()?.();
    }
  };
}

/** cullIdle is one run of the culler: it stops idle servers and, with cullUsers, deletes idle users. */
export async function cullIdle(options: CullOptions): Promise<CullRun> {
  const { url, inactiveLimit, cullUsers = false, removeNamedServers = false, maxAge = 0, cullAdminUsers = true, apiPageSize = 0 } = options;
  const sent: Sent[] = [];
  const errors: CullRun['errors'] = [];
  const limit = semaphore(options.concurrency ?? 10);
  const auth = { Authorization: `token ${options.apiToken}` };
  // What tornado's simple HTTP client adds to every request.
  const tornado = { 'Accept-Encoding': 'gzip', 'User-Agent': 'Tornado/6.4' };

  const fetchOne = (method: string, target: string, headers: Record<string, string>, body?: string) =>
    limit(async () => {
      const all = { ...tornado, ...headers };
      const res = await fetch(target, { method, headers: all, ...(body === undefined ? {} : { body }) });
      const text = await res.text();
      sent.push({ method, url: target, headers: headers, body, status: res.status });
      if (res.status < 200 || res.status >= 300) throw new HTTPClientError(res.status, text);
      return { code: res.status, body: text };
    });

  async function* fetchPaginated(first: string): AsyncGenerator<Record<string, unknown>> {
    const headers = { ...auth, Accept: 'application/jupyterhub-pagination+json' };
    let next: Promise<{ body: string }> | undefined = fetchOne('GET', first, headers);
    while (next !== undefined) {
      const response = await next;
      next = undefined;
      const model = JSON.parse(response.body) as unknown;
      let items: unknown[];
      if (Array.isArray(model)) items = model;
      else {
        items = key(model, 'items') as unknown[];
        const info = key(key(model, '_pagination'), 'next');
        if (info !== null && info !== undefined) next = fetchOne('GET', String(key(info, 'url')), headers);
      }
      for (const item of items) yield item as Record<string, unknown>;
    }
  }

  const version = JSON.parse((await fetchOne('GET', `${url}/`, auth)).body) as unknown;
  const stateFilter = versionAtLeast(String(key(version, 'version')), '1.3.0');
  const now = (options.now?.() ?? new Date()).getTime();

  async function handleServer(user: Record<string, unknown>, serverName: string, server: Record<string, unknown>): Promise<boolean> {
    if (server['pending']) return false;
    const readyByUrl = Boolean(key(server, 'url')); // Python evaluates get()'s default first: `url` must be there
    if (!('ready' in server ? server['ready'] : readyByUrl)) return false;
    const age = server['started'] ? (now - parseDate(server['started'])) / 1000 : null;
    const lastActivity = key(server, 'last_activity');
    const inactive = lastActivity ? (now - parseDate(lastActivity)) / 1000 : age;
    let shouldCull =
      options.cullArbiter !== undefined
        ? await options.cullArbiter(inactive, inactiveLimit, server)
        : inactive !== null && inactive >= inactiveLimit;
    if (maxAge && !shouldCull && age !== null && age >= maxAge) shouldCull = true;
    if (!shouldCull) return false;
    const name = String(key(user, 'name'));
    let target: string;
    let body: string | undefined;
    if (serverName) {
      target = `${url}/users/${encodeURIComponent(name)}/servers/${encodeURIComponent(String(key(server, 'name')))}`;
      if (removeNamedServers) body = '{"remove": true}'; // Python's json.dumps
    } else target = `${url}/users/${encodeURIComponent(name)}/server`;
    const resp = await fetchOne('DELETE', target, auth, body);
    return resp.code !== 202; // 202: slow to stop, so the user is not culled this time
  }

  async function handleUser(user: Record<string, unknown>): Promise<boolean | undefined> {
    let servers: Record<string, Record<string, unknown>>;
    if ('servers' in user) servers = user['servers'] as Record<string, Record<string, unknown>>;
    else {
      servers = {};
      if (key(user, 'server'))
        servers[''] = { last_activity: key(user, 'last_activity'), pending: key(user, 'pending'), url: key(user, 'server') };
    }
    const results = await Promise.all(Object.entries(servers).map(([n, s]) => handleServer(user, n, s)));
    if (!cullUsers) return undefined;
    if (results.length - results.filter(Boolean).length > 0) return false;
    const age = user['created'] ? (now - parseDate(user['created'])) / 1000 : null;
    const lastActivity = key(user, 'last_activity');
    const inactive = lastActivity ? (now - parseDate(lastActivity)) / 1000 : age;
    let shouldCull = inactive !== null && inactive >= inactiveLimit && (cullAdminUsers || !key(user, 'admin'));
    if (maxAge && !shouldCull && age !== null && age >= maxAge) shouldCull = true;
    if (!shouldCull) return false;
    await fetchOne('DELETE', `${url}/users/${String(key(user, 'name'))}`, auth);
    return true;
  }

  // Python's handle_user(user) makes a coroutine that runs only when awaited: every page is fetched
  // first, then the users are handled one after another (each user's servers at once).
  const futures: Array<[string, () => Promise<boolean | undefined>]> = [];
  const params = new URLSearchParams(apiPageSize ? { limit: String(apiPageSize) } : {});
  const usersUrl = `${url}/users`;
  const withQuery = (p: URLSearchParams) => (p.size === 0 ? usersUrl : `${usersUrl}?${p.toString()}`);
  if (stateFilter && cullUsers) {
    const inactiveParams = new URLSearchParams({ state: 'inactive' });
    for (const [k, v] of params) inactiveParams.set(k, v);
    for await (const user of fetchPaginated(withQuery(inactiveParams))) futures.push([String(key(user, 'name')), () => handleUser(user)]);
  }
  if (stateFilter) params.set('state', 'ready');
  for await (const user of fetchPaginated(withQuery(params))) futures.push([String(key(user, 'name')), () => handleUser(user)]);
  for (const [name, f] of futures) {
    try {
      await f();
    } catch (err) {
      errors.push({ user: name, error: err instanceof Error ? err.message : String(err) });
    }
  }
  return { sent, errors };
}
