import { existsSync } from 'node:fs';
import type { Database } from 'better-sqlite3';
import { MACHINE_VERSION, configureServerMachine } from '../../../machines/server.machine.js';
import { MachineVersionError, upgrade } from '../../../machines/upgrades.js';
import { serverKey, validateUserName } from '../../kube/names.js';
import { CHECKPOINT, checkReplay, describeStart, history } from '../../runtime/replay.js';
import { openDatabase } from '../../store/database.js';
import { SqliteEventStore } from '../../store/event-store.js';
import type { CliIo } from './io.js';
import type { HubCommandSpec } from '../config.js';
import { ConfigError, commandSpec, parseArgs, resolveConfig } from '../config.js';
import { helpText } from '../../core/cli.js';
import { normalizeUserName } from '../context.js';
import { ADMIN_SCOPES, Grants, UnknownScopeError, allowedToGrant, parseScopes } from '../auth/scopes.js';
import { ServiceRegistry, parseServices } from '../auth/services.js';
import type { HubConfig } from '../settings.js';
import { childExpiry, expiresInProblem } from '../auth/token-expiry.js';
import { TokenStore, parseTokenId } from '../auth/tokens.js';
import { UserStore } from '../users.js';

const HISTORY: HubCommandSpec = {
  usage: 'spawnkeeper history USER[/SERVER] [options]',
  summary: `Prints a server's event timeline from the database: time, event, state before → after, summary.
USER alone is the default server; USER/SERVER a named one. The first line says where the retained history
begins: at the server's first event, or at the checkpoint retention folded older ones into. Opens the
database read-only: works beside a running hub.`,
  options: { json: { type: 'boolean', doc: 'print the timeline as JSON' } },
  positionals: true,
  settings: 'db',
};
/** HISTORY_USAGE explains the timeline an operator reads when a server misbehaved. */
export const HISTORY_USAGE = helpText(commandSpec(HISTORY));

const REPLAY: HubCommandSpec = {
  usage: 'spawnkeeper replay --check [USER[/SERVER]] [options]',
  summary: `Folds every server's event log (or one server's) from its last checkpoint, or from the start when it
has none, and compares the result with its stored snapshot, byte for byte. Says how many started from a
checkpoint; for one server, where its replay started. Exits 1 if any server differs.`,
  options: { check: { type: 'boolean', doc: 'compare every replayed log with its snapshot (required)' } },
  positionals: true,
  settings: 'db',
};
/** REPLAY_USAGE explains the determinism check CI and operators run on a database. */
export const REPLAY_USAGE = helpText(commandSpec(REPLAY));

const EXPORT_DB: HubCommandSpec = {
  usage: 'spawnkeeper export [USER[/SERVER]] [options]',
  summary: `Prints every server (or one) as a line of JSON: its state, sequence number and whole event log.
Like history and replay --check it opens the database read-only, so it works while a hub runs.`,
  options: {},
  positionals: true,
  settings: 'db',
};
/** EXPORT_DB_USAGE explains the dump of a database's servers and their logs, for audits and support. */
export const EXPORT_DB_USAGE = helpText(commandSpec(EXPORT_DB));

const TOKEN: HubCommandSpec = {
  usage: `spawnkeeper token [mint] (USER | --service NAME | --admin | --scopes S1,S2) [options]
       spawnkeeper token list [--json] [options]
       spawnkeeper token revoke ID [options]`,
  summary: `mint (the default) writes an API token straight into the database and prints it once. It holds
exactly what is asked. list shows every token, the hub's admin tokens first, never a secret;
revoke deletes one by its id (a12 or 12), whoever owns it. Stop the hub before minting or revoking: they write.`,
  options: {
    admin: { type: 'boolean', doc: 'a token of the hub with every admin scope (not with --scopes)' },
    service: {
      type: 'string',
      value: 'NAME',
      doc: `a token of a service from the config file's services; its roles' scopes
("inherit") unless --scopes, which must lie within them`,
    },
    scopes: { type: 'string', value: 'S1,S2', doc: 'these scopes; alone: a token of the hub with exactly these (USER alone: "self")' },
    note: { type: 'string', value: 'TEXT', doc: 'a note shown by token list' },
    'expires-in': { type: 'string', value: 'SECONDS', doc: 'the token expires after this many whole seconds' },
    json: { type: 'boolean', doc: 'token list: print JSON' },
  },
  positionals: true,
  settings: 'db',
};
/** TOKEN_USAGE explains the offline way to tokens: mint one (for a lost admin token, a service, a user, or exact scopes), list them, revoke one. */
export const TOKEN_USAGE = helpText(commandSpec(TOKEN));

/**
 * openExisting opens the configured database, refusing to create one where none is. Reading
 * commands open it read-only, beside a running hub; writing ones take its lock like a hub.
 */
function openExisting(config: HubConfig, mode: 'read' | 'write'): Database {
  if (config.db !== ':memory:' && !existsSync(config.db)) throw new ConfigError(`no database at ${config.db} (give --db PATH)`);
  return openDatabase(config.db, { readonly: mode === 'read' });
}

/** targetKey reads USER or USER/SERVER as a server key. */
function targetKey(target: string): string {
  const slash = target.indexOf('/');
  try {
    return slash === -1 ? serverKey(target, '') : serverKey(target.slice(0, slash), target.slice(slash + 1));
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }
}

/** configFrom reads a command's arguments and settings; with --help it prints the command's usage and returns undefined. */
export function configFrom(argv: readonly string[], io: CliIo, command: HubCommandSpec) {
  const args = parseArgs(argv, command);
  const config = resolveConfig({ args, env: io.env });
  if (!args.help) return { args, config };
  io.out(helpText(commandSpec(command)));
  return undefined;
}

/** withDatabase runs `work` on the configured database, opened as openExisting opens it, and closes it whatever happens. */
export function withDatabase<T>(config: HubConfig, mode: 'read' | 'write', work: (db: Database) => T): T {
  const db = openExisting(config, mode);
  try {
    return work(db);
  } finally {
    db.close();
  }
}

/** historyCommand prints one server's timeline; exit 1 when it has none. */
export function historyCommand(argv: readonly string[], io: CliIo): number {
  const parsed = configFrom(argv, io, HISTORY);
  if (parsed === undefined) return 0;
  const { args, config } = parsed;
  const [target, ...rest] = args.positionals;
  if (target === undefined || rest.length > 0) throw new ConfigError(`give one USER or USER/SERVER\n${HISTORY_USAGE}`);
  const key = targetKey(target);
  return withDatabase(config, 'read', (db) => {
    const entries = history(new SqliteEventStore(db, { machineVersion: MACHINE_VERSION }), key);
    const first = entries[0];
    if (first !== undefined && !args.options.has('--json'))
      io.out(
        first.type === CHECKPOINT
          ? `history of ${key} begins at seq ${first.seq} (${new Date(first.at).toISOString()}), a checkpoint: ${first.summary}`
          : `history of ${key} begins at seq ${first.seq} (${new Date(first.at).toISOString()}): the whole history is kept`,
      );
    if (args.options.has('--json')) io.out(JSON.stringify(entries.map((e) => ({ ...e, at: new Date(e.at).toISOString() }))));
    else
      for (const e of entries)
        io.out(
          `${new Date(e.at).toISOString()}  ${e.type.padEnd(14)}  ${e.from} → ${e.to}${e.summary === e.type ? '' : `  (${e.summary})`}`,
        );
    if (entries.length === 0) {
      io.err(`no history for ${key}`);
      return 1;
    }
    return 0;
  });
}

/** replayCommand checks every server's log against its snapshot; exit 1 on any difference. */
export function replayCommand(argv: readonly string[], io: CliIo): number {
  const parsed = configFrom(argv, io, REPLAY);
  if (parsed === undefined) return 0;
  const { args, config } = parsed;
  const [target, ...rest] = args.positionals;
  if (!args.options.has('--check') || rest.length > 0) throw new ConfigError(`replay needs --check\n${REPLAY_USAGE}`);
  const only = target === undefined ? undefined : targetKey(target);
  return withDatabase(config, 'read', (db) => {
    const store = new SqliteEventStore(db, { machineVersion: MACHINE_VERSION });
    const machine = configureServerMachine(config.spawnkeeper.delays ?? {});
    let differ = 0;
    let fromCheckpoint = 0;
    let fromFold = 0;
    const rows = store.loadServers().filter((row) => only === undefined || row.key === only);
    if (only !== undefined && rows.length === 0) {
      io.err(`no server ${only}`);
      return 1;
    }
    for (const row of rows) {
      if (row.machineVersion !== MACHINE_VERSION) {
        // Another version's history is never replayed on this machine: it is upgraded at the next start, or refused.
        try {
          upgrade(row.snapshot, row.machineVersion, MACHINE_VERSION, `server ${row.key}`);
          io.out(
            `OLD ${row.key}: written by machine version ${row.machineVersion}; the next start upgrades it to ${MACHINE_VERSION}, and replay then starts from that checkpoint`,
          );
        } catch (err) {
          if (!(err instanceof MachineVersionError)) throw err;
          differ++;
          io.out(`VERSION ${err.message}`);
        }
        continue;
      }
      const check = checkReplay(machine, store, row.key, row.snapshot);
      if (check.startedAt.from !== null) fromCheckpoint++;
      if (check.startedAt.folded !== undefined) fromFold++;
      const start = describeStart(check.startedAt, MACHINE_VERSION);
      if (only !== undefined && check.ok) io.out(`OK ${row.key}: ${check.events} rows replayed ${start}`);
      if (check.ok) continue;
      differ++;
      io.out(
        `DIFF ${row.key} (${check.events} events, replayed ${start})\n  stored:   ${check.stored.slice(0, 400)}\n  replayed: ${check.replayed.slice(0, 400)}`,
      );
    }
    const starts = [
      ...(fromFold === 0 ? [] : [`${fromFold} from a retention checkpoint`]),
      ...(fromCheckpoint === 0 ? [] : [`${fromCheckpoint} from a machine-upgrade checkpoint`]),
    ];
    const checkpoints = starts.length === 0 ? '' : ` (${starts.join(', ')})`;
    io.out(
      `${rows.length} server${rows.length === 1 ? '' : 's'} replayed${checkpoints}, ${differ} differ${differ === 0 ? ': every snapshot matches its log' : ''}`,
    );
    return differ === 0 ? 0 : 1;
  });
}

/** exportCommand prints servers with their logs as JSON lines; exit 1 when the one asked for has none. */
export function exportDbCommand(argv: readonly string[], io: CliIo): number {
  const parsed = configFrom(argv, io, EXPORT_DB);
  if (parsed === undefined) return 0;
  const { args, config } = parsed;
  const [target, ...rest] = args.positionals;
  if (rest.length > 0) throw new ConfigError(`give at most one USER or USER/SERVER\n${EXPORT_DB_USAGE}`);
  const only = target === undefined ? undefined : targetKey(target);
  return withDatabase(config, 'read', (db) => {
    const store = new SqliteEventStore(db, { machineVersion: MACHINE_VERSION });
    const rows = store.loadServers().filter((row) => only === undefined || row.key === only);
    for (const row of rows) {
      const events = store.events(row.key).map((e) => ({
        seq: e.seq,
        at: new Date(e.ts).toISOString(),
        event: JSON.parse(e.payload) as unknown,
        from: e.stateBefore,
        to: e.stateAfter,
      }));
      io.out(JSON.stringify({ key: row.key, state: row.state, seq: row.seq, since: new Date(row.since).toISOString(), events }));
    }
    if (only !== undefined && rows.length === 0) {
      io.err(`no server ${only}`);
      return 1;
    }
    return 0;
  });
}

/** tokenCommand mints a token offline and prints it once, lists the tokens, or revokes one. */
export function tokenCommand(argv: readonly string[], io: CliIo): number {
  const parsed = configFrom(argv, io, TOKEN);
  if (parsed === undefined) return 0;
  const { args, config } = parsed;
  const [verb, ...rest] = args.positionals;
  if (verb === 'list' && rest.length === 0) return listTokensCommand(config, io, args.options.has('--json'));
  if (verb === 'revoke') return revokeTokenCommand(config, io, rest);
  return mintTokenCommand(config, io, args.options, verb === 'mint' ? rest : args.positionals);
}

function listTokensCommand(config: HubConfig, io: CliIo, json: boolean): number {
  return withDatabase(config, 'read', (db) => {
    const tokens = new TokenStore(db).listAll();
    const when = (ms: number | null) => (ms === null ? '-' : new Date(ms).toISOString());
    if (json)
      io.out(
        JSON.stringify(tokens.map((t) => ({ ...t, created: when(t.created), expiresAt: t.expiresAt === null ? null : when(t.expiresAt) }))),
      );
    else {
      io.out(['ID', 'OWNER', 'SOURCE', 'CREATED', 'EXPIRES', 'SCOPES', 'NOTE'].join('\t'));
      for (const t of tokens)
        io.out([t.id, t.user ?? '(admin)', t.source, when(t.created), when(t.expiresAt), t.scopes.join(','), t.note].join('\t'));
    }
    return 0;
  });
}

function revokeTokenCommand(config: HubConfig, io: CliIo, ids: readonly string[]): number {
  const id = ids.length === 1 ? parseTokenId(ids[0] ?? '') : undefined;
  if (id === undefined) throw new ConfigError(`give one token ID (as \`token list\` shows it)\n${TOKEN_USAGE}`);
  return withDatabase(config, 'write', (db) => {
    if (!new TokenStore(db).revokeId(id)) {
      io.err(`no token a${id}`);
      return 1;
    }
    io.out(`revoked a${id}`);
    return 0;
  });
}

/** tokenScopes reads --scopes, or the default for the kind of token; a bad scope is a ConfigError. */
function tokenScopes(raw: string | undefined, fallback: string[]): string[] {
  if (raw === undefined) return fallback;
  try {
    const scopes = parseScopes(raw.split(',').filter((s) => s !== ''));
    if (scopes.length === 0) throw new ConfigError('--scopes needs at least one scope');
    return scopes;
  } catch (err) {
    if (err instanceof UnknownScopeError) throw new ConfigError(err.message);
    throw err;
  }
}

/** mintScopes decides what a minted token holds: exactly what was asked, and never more than a service's roles. */
function mintScopes(config: HubConfig, options: ReadonlyMap<string, string>, user: string | undefined): string[] {
  const admin = options.has('--admin');
  const service = options.get('--service');
  const raw = options.get('--scopes');
  if (admin && raw !== undefined)
    throw new ConfigError('--admin mints every admin scope; for a token with fewer, give --scopes without --admin');
  if (admin) return [...ADMIN_SCOPES];
  if (user !== undefined) return tokenScopes(raw, ['self']);
  if (service !== undefined) {
    const spec = new ServiceRegistry(parseServices(config.services, config.loadRoles, config.adminToken)).get(service);
    if (spec === undefined) throw new ConfigError(`no service ${service} in the configuration's services (give --config FILE)`);
    const scopes = tokenScopes(raw, ['inherit']);
    const roles = new Grants(spec.scopes, null, spec.name);
    const beyond = scopes.filter((s) => s !== 'inherit' && !allowedToGrant(roles, s, null, spec.name));
    if (beyond.length > 0)
      throw new ConfigError(
        `service ${service} does not hold ${beyond.join(', ')} through its roles; give it a role with them in load_roles first`,
      );
    return scopes;
  }
  const scopes = tokenScopes(raw, []);
  if (scopes.includes('inherit') || scopes.includes('self'))
    throw new ConfigError('a token of the hub has no owner to inherit from: name its scopes');
  return scopes;
}

function mintTokenCommand(config: HubConfig, io: CliIo, options: ReadonlyMap<string, string>, positionals: readonly string[]): number {
  const service = options.get('--service');
  const [rawUser, ...rest] = positionals;
  const kinds = [rawUser !== undefined, service !== undefined, options.has('--admin')].filter(Boolean).length;
  if (rest.length > 0 || kinds > 1 || (kinds === 0 && !options.has('--scopes')))
    throw new ConfigError(`give one of USER, --service NAME, --admin or --scopes\n${TOKEN_USAGE}`);
  const owner = rawUser === undefined ? null : validateUserName(normalizeUserName(rawUser));
  const scopes = mintScopes(config, options, owner ?? undefined);
  const rawExpiry = options.get('--expires-in');
  const expiresIn = rawExpiry === undefined ? undefined : /^\d+$/.test(rawExpiry) ? Number(rawExpiry) : Number.NaN;
  const problem = expiresInProblem(expiresIn);
  if (problem !== undefined) throw new ConfigError(`--expires-in: ${problem}`);
  return withDatabase(config, 'write', (db) => {
    if (owner !== null && new UserStore(db).get(owner) === undefined)
      throw new ConfigError(`no user ${owner} (create it with POST /hub/api/users/${owner})`);
    const expiresAt = childExpiry(expiresIn, null, Date.now());
    const { token } = new TokenStore(db).mint({
      owner,
      service: service ?? null,
      scopes,
      note: options.get('--note') ?? 'minted with spawnkeeper token',
      expiresAt,
    });
    io.out(token);
    return 0;
  });
}
