import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { InvalidNameError, serverKey, validateServerName, validateUserName } from '../kube/names.js';
import type { Clock } from '../core/clock.js';
import { waitUntil as waitFor } from '../core/wait.js';
import type { ServerStatus, Spawnkeeper } from '../spawnkeeper.js';
import type { Authenticator } from './auth/auth.js';
import type { GroupStore } from './groups.js';
import type { HealthMonitor } from './api/health.js';
import { HttpError } from './api/http.js';
import type { SpawnLimiter } from './api/limits.js';
import type { HubMetrics } from './api/metrics.js';
import type { PodEventFeed } from './api/pod-event-feed.js';
import type { RecordKeeper } from './records.js';
import type { Target } from './auth/scopes.js';
import type { ServerIndex } from './server-index.js';
import type { ServiceRegistry } from './auth/services.js';
import type { Profile } from './spawn-options.js';
import type { HubConfig } from './settings.js';
import type { TokenStore } from './auth/tokens.js';
import type { KeyedLock } from './user-locks.js';
import type { UserRecord, UserStore } from './users.js';

/** HubContext is everything a handler may use; hub.ts builds it once, the handlers only read it. */
export interface HubContext {
  readonly sk: Spawnkeeper;
  readonly users: UserStore;
  readonly groups: GroupStore;
  readonly services: ServiceRegistry;
  /** profiles: the configured profile list a start chooses from by user_options.profile. */
  readonly profiles: readonly Profile[];
  readonly tokens: TokenStore;
  readonly auth: Authenticator;
  readonly index: ServerIndex;
  readonly records: RecordKeeper;
  /** userLocks: a user's starts and deletion take turns, each from its checks to its committed commands. */
  readonly userLocks: KeyedLock;
  readonly limiter: SpawnLimiter;
  readonly metrics: HubMetrics;
  readonly health: HealthMonitor;
  readonly config: HubConfig;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly cluster: KubeConfig;
  /** podEvents: the one shared watch of pod Events that every progress stream reads. */
  readonly podEvents: PodEventFeed;
  /** shutdown aborts when the hub closes: waits end early and progress streams end. */
  readonly shutdown: AbortSignal;
  readonly version: string;
}

/**
 * normalizeUserName is JupyterHub's default Authenticator.normalize_username: lower case, so
 * `Alice` and `alice` are one user.
 */
export function normalizeUserName(raw: string): string {
  return raw.toLowerCase();
}

/** userName normalizes and validates a user name from the path or a body: 400 for a bad one. */
export function userName(raw: string | undefined): string {
  try {
    return validateUserName(normalizeUserName(raw ?? ''));
  } catch (err) {
    if (err instanceof InvalidNameError) throw new HttpError(400, err.message);
    throw err;
  }
}

/** serverName validates a server name from the path: 400 for a bad one. */
export function serverName(raw: string | undefined): string {
  try {
    return validateServerName(raw ?? '');
  } catch (err) {
    if (err instanceof InvalidNameError) throw new HttpError(400, err.message);
    throw err;
  }
}

/** userTarget is a user (or one of its servers) as scope checks see it: with its groups, for `!group=` filters. */
export function userTarget(hub: HubContext, user: string | UserRecord, server?: string): Target {
  const record = typeof user === 'string' ? hub.users.get(user) : user;
  const name = typeof user === 'string' ? user : user.name;
  const groups = record === undefined ? [] : hub.groups.groupsOf(record.id);
  return server === undefined ? { user: name, groups } : { user: name, server, groups };
}

/** findUser is the user of a path, or 404 as JupyterHub answers for an unknown one. */
export function findUser(hub: HubContext, name: string): UserRecord {
  const user = hub.users.get(name);
  if (user === undefined) throw new HttpError(404, `No such user: ${name.slice(0, 255)}`);
  return user;
}

/**
 * waitUntil waits at most `ms` for a server's status to satisfy `until`, ending early at shutdown;
 * it tells whether it did. Its timer is the injected clock's, so it never holds the process open.
 */
export async function waitUntil(
  hub: HubContext,
  user: string,
  name: string,
  until: (s: ServerStatus) => boolean,
  ms: number,
): Promise<boolean> {
  const reached = await waitFor({
    clock: hub.clock,
    read: () => hub.sk.get(user, name),
    subscribe: (changed) => hub.index.watch(serverKey(user, name), changed),
    until,
    ms,
    signal: hub.shutdown,
  });
  return reached !== undefined;
}

/** spawnFailure is why a spawn failed, while its pod is being cleaned up or after; null if it did not fail. */
export function spawnFailure(hub: HubContext, user: string, name: string): string | null {
  const s = hub.sk.get(user, name);
  if (s === undefined) return null;
  if (s.state === 'stop_pending') return s.failure;
  if (s.state === 'failed') return s.reason ?? 'unknown reason';
  return null;
}
