import type { CliIo } from './io.js';
import type { HubCommandSpec } from '../config.js';
import { commandSpec, parseArgs } from '../config.js';
import { helpText } from '../../core/cli.js';

const STATUS: HubCommandSpec = {
  usage: 'spawnkeeper status [options]',
  summary: `Asks a running hub for its health and every user's servers.
Exits 0 when the hub is healthy, 1 when it is unhealthy or cannot be reached.`,
  options: {
    url: { type: 'string', value: 'URL', doc: 'the hub (default $SPAWNKEEPER_URL, else http://127.0.0.1:8081)' },
    token: {
      type: 'string',
      value: 'TOKEN',
      doc: 'a token with list:users and read:servers (default $SPAWNKEEPER_TOKEN, else $SPAWNKEEPER_ADMIN_TOKEN)',
    },
  },
  settings: 'none',
};
/** STATUS_USAGE explains the one-look summary of a running hub. */
export const STATUS_USAGE = helpText(commandSpec(STATUS));

interface ServerJson {
  pending: string | null;
  ready: boolean;
  last_activity: string | null;
  spawnkeeper?: { detail?: string; reason?: string | null };
}
interface UserJson {
  name: string;
  servers?: Record<string, ServerJson>;
}
interface Page {
  items: UserJson[];
  _pagination: { next: { offset: number; limit: number } | null };
}

async function getJson(url: string, token: string | undefined, accept = 'application/json'): Promise<{ status: number; body: unknown }> {
  const res = await fetch(url, {
    headers: { Accept: accept, ...(token === undefined ? {} : { Authorization: `token ${token}` }) },
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: shown as text
  }
  return { status: res.status, body };
}

/** statusCommand prints a running hub's health and a table of servers, through its API with a token. */
export async function statusCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const args = parseArgs(argv, STATUS);
  if (args.help) {
    io.out(STATUS_USAGE);
    return 0;
  }
  const base = (args.options.get('--url') ?? io.env['SPAWNKEEPER_URL'] ?? 'http://127.0.0.1:8081').replace(/\/+$/, '');
  const token = args.options.get('--token') ?? io.env['SPAWNKEEPER_TOKEN'] ?? io.env['SPAWNKEEPER_ADMIN_TOKEN'];
  let health: { status: number; body: unknown };
  try {
    health = await getJson(`${base}/hub/api/health`, token === '' ? undefined : token);
  } catch (err) {
    io.err(`cannot reach the hub at ${base}: ${(err as Error).message}`);
    return 1;
  }
  const h = health.body as {
    status?: string;
    reason?: string | null;
    servers?: number;
    overdueTimers?: number;
    reflector?: { activity?: string };
  };
  io.out(
    `hub ${base}: ${h.status ?? health.status}${h.reason ? ` (${h.reason})` : ''}; reflector ${h.reflector?.activity ?? '?'}, ${h.servers ?? '?'} server(s), ${h.overdueTimers ?? '?'} overdue timer(s)`,
  );
  if (token === undefined || token === '') {
    io.err('no token: give --token or set SPAWNKEEPER_TOKEN to list servers');
    return health.status === 200 ? 0 : 1;
  }
  const rows: string[][] = [['USER', 'SERVER', 'STATE', 'READY', 'LAST ACTIVITY', 'REASON']];
  let offset = 0;
  for (;;) {
    const page = await getJson(
      `${base}/hub/api/users?include_stopped_servers=1&offset=${offset}`,
      token,
      'application/jupyterhub-pagination+json',
    );
    if (page.status !== 200) {
      io.err(`listing users failed: ${page.status} ${JSON.stringify(page.body).slice(0, 200)}`);
      return 1;
    }
    const { items, _pagination } = page.body as Page;
    for (const u of items) {
      for (const [name, s] of Object.entries(u.servers ?? {})) {
        rows.push([
          u.name,
          name === '' ? '(default)' : name,
          s.spawnkeeper?.detail ?? s.pending ?? '',
          s.ready ? 'yes' : 'no',
          s.last_activity ?? '-',
          s.spawnkeeper?.reason ?? '',
        ]);
      }
    }
    if (_pagination.next === null) break;
    offset = _pagination.next.offset;
  }
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  for (const r of rows)
    io.out(
      r
        .map((c, i) => c.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd(),
    );
  return health.status === 200 ? 0 : 1;
}
