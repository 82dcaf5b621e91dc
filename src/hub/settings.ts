import type { SpawnkeeperConfig } from '../spawnkeeper.js';
import type { KubeletDelays } from '../sim/index.js';

/** SimSettings configure the embedded simulated cluster that `npm start` runs when no real cluster is named. */
export interface SimSettings {
  seed?: number;
  kubelet?: Partial<KubeletDelays>;
}

/** HubConfig is every setting of the hub; durations are in seconds, as JupyterHub's are. */
export interface HubConfig {
  host: string;
  port: number;
  db: string;
  kubeconfig: string;
  inCluster: boolean;
  namespace: string;
  instance: string;
  adminToken: string;
  slowSpawnTimeout: number;
  slowStopTimeout: number;
  concurrentSpawnLimit: number;
  activeServerLimit: number;
  namedServerLimitPerUser: number;
  allowNamedServers: boolean;
  maxBodyBytes: number;
  requestTimeout: number;
  apiPageDefaultLimit: number;
  apiPageMaxLimit: number;
  authenticatePrometheus: boolean;
  unhealthyAfter: number;
  exitOnUnhealthy: number;
  leaseDuration: number;
  leaseRenewDeadline: number;
  leaseRetryPeriod: number;
  progressKeepalive: number;
  historyMaxAge: number;
  historyLifecycles: number;
  historyRetentionInterval: number;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  logFormat: 'auto' | 'json' | 'pretty';
  spawnkeeper: Partial<SpawnkeeperConfig>;
  sim: SimSettings;
  /** services: JupyterHub's `c.JupyterHub.services` entries (checked by parseServices). */
  services: unknown[];
  /** loadRoles: JupyterHub's `c.JupyterHub.load_roles` entries, giving services their scopes. */
  loadRoles: unknown[];
}

/** SettingType says how a value from the environment or a flag is parsed and checked. */
export type SettingType = 'string' | 'port' | 'count' | 'seconds' | 'boolean' | 'object' | 'list' | { oneOf: readonly string[] };

/** Setting documents one key; its file key, environment variable and flag are derived from the name. */
export interface Setting {
  readonly key: keyof HubConfig;
  readonly type: SettingType;
  readonly doc: string;
  /** where: `all` (file, env, flag), `secret` (file and env, never a flag: flags show in `ps`), `file` (objects and lists). */
  readonly where: 'all' | 'secret' | 'file';
}

/** DEFAULT_HUB_CONFIG is what a fresh `npm start` runs with: loopback, port 8081, the embedded simulator. */
export const DEFAULT_HUB_CONFIG: Readonly<HubConfig> = {
  host: '127.0.0.1',
  port: 8081,
  db: './data/spawnkeeper.db',
  kubeconfig: '',
  inCluster: false,
  namespace: 'default',
  instance: 'hub',
  adminToken: '',
  slowSpawnTimeout: 10,
  slowStopTimeout: 10,
  concurrentSpawnLimit: 100,
  activeServerLimit: 0,
  namedServerLimitPerUser: 0,
  allowNamedServers: true,
  maxBodyBytes: 256 * 1024,
  requestTimeout: 60,
  apiPageDefaultLimit: 50,
  apiPageMaxLimit: 200,
  authenticatePrometheus: true,
  unhealthyAfter: 60,
  exitOnUnhealthy: 0,
  leaseDuration: 15,
  leaseRenewDeadline: 10,
  leaseRetryPeriod: 2,
  progressKeepalive: 8,
  historyMaxAge: 30 * 86_400,
  historyLifecycles: 10,
  historyRetentionInterval: 3_600,
  logLevel: 'info',
  logFormat: 'auto',
  spawnkeeper: {},
  sim: {},
  services: [],
  loadRoles: [],
};

/** SETTINGS is the one table of configuration: the parser, the help text and docs/hub.md follow it. */
export const SETTINGS: readonly Setting[] = [
  { key: 'host', type: 'string', where: 'all', doc: 'address to listen on (use 0.0.0.0 in a pod)' },
  { key: 'port', type: 'port', where: 'all', doc: 'port to listen on (0: any free port)' },
  { key: 'db', type: 'string', where: 'all', doc: 'SQLite database file; its folder is created' },
  { key: 'kubeconfig', type: 'string', where: 'all', doc: 'kubeconfig file of a real cluster (default: the embedded simulator)' },
  { key: 'inCluster', type: 'boolean', where: 'all', doc: 'use the pod service account (a real cluster)' },
  { key: 'namespace', type: 'string', where: 'all', doc: 'namespace of the server pods' },
  { key: 'instance', type: 'string', where: 'all', doc: "label value that marks this hub's pods" },
  {
    key: 'adminToken',
    type: 'string',
    where: 'secret',
    doc: 'admin API token, at least 32 characters (when unset one is generated and written once to admin-token beside the database, mode 0600)',
  },
  { key: 'slowSpawnTimeout', type: 'seconds', where: 'all', doc: 'a start ready within this answers 201, else 202' },
  { key: 'slowStopTimeout', type: 'seconds', where: 'all', doc: 'a stop done within this answers 204, else 202' },
  { key: 'concurrentSpawnLimit', type: 'count', where: 'all', doc: 'spawns pending at once before 429 (0: no limit)' },
  { key: 'activeServerLimit', type: 'count', where: 'all', doc: 'active servers before 429 (0: no limit)' },
  { key: 'namedServerLimitPerUser', type: 'count', where: 'all', doc: 'named servers per user (0: no limit)' },
  { key: 'allowNamedServers', type: 'boolean', where: 'all', doc: 'allow named servers' },
  { key: 'maxBodyBytes', type: 'count', where: 'all', doc: 'largest request body; larger ones get 413' },
  { key: 'requestTimeout', type: 'seconds', where: 'all', doc: 'a request not fully received within this gets 408' },
  { key: 'apiPageDefaultLimit', type: 'count', where: 'all', doc: 'users per page when no limit is given and the client accepts pages' },
  { key: 'apiPageMaxLimit', type: 'count', where: 'all', doc: 'largest page of users' },
  { key: 'authenticatePrometheus', type: 'boolean', where: 'all', doc: '/hub/metrics needs a token with read:metrics' },
  {
    key: 'unhealthyAfter',
    type: 'seconds',
    where: 'all',
    doc: 'the reflector is unhealthy (503) after this long without a successful list or watch',
  },
  { key: 'exitOnUnhealthy', type: 'seconds', where: 'all', doc: 'exit (code 1) after this long unhealthy (0: never)' },
  {
    key: 'leaseDuration',
    type: 'seconds',
    where: 'all',
    doc: 'another hub may take the Lease this long after it last changed (whole seconds)',
  },
  { key: 'leaseRenewDeadline', type: 'seconds', where: 'all', doc: 'the hub stops acting when it could not renew its Lease for this long' },
  { key: 'leaseRetryPeriod', type: 'seconds', where: 'all', doc: 'between attempts to acquire or renew the Lease' },
  { key: 'progressKeepalive', type: 'seconds', where: 'all', doc: 'keepalive interval of progress streams' },
  {
    key: 'historyMaxAge',
    type: 'seconds',
    where: 'all',
    doc: "events younger than this are kept; older ones beyond a server's last lifecycles are folded into a checkpoint, and a deleted user's servers go",
  },
  { key: 'historyLifecycles', type: 'count', where: 'all', doc: 'lifecycles of each server kept whatever their age' },
  { key: 'historyRetentionInterval', type: 'seconds', where: 'all', doc: 'between retention passes over the event log (0: never)' },
  { key: 'logLevel', type: { oneOf: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] }, where: 'all', doc: 'log level' },
  { key: 'logFormat', type: { oneOf: ['auto', 'json', 'pretty'] }, where: 'all', doc: 'auto: pretty on a terminal, JSON otherwise' },
  { key: 'spawnkeeper', type: 'object', where: 'file', doc: 'engine settings: delays (ms), template, reflector, sweeper, durability …' },
  { key: 'sim', type: 'object', where: 'file', doc: 'embedded simulator: seed, kubelet delays (ms)' },
  { key: 'services', type: 'list', where: 'file', doc: "JupyterHub's services: name, api_token, admin, url, info, display" },
  { key: 'loadRoles', type: 'list', where: 'file', doc: "JupyterHub's load_roles: name, scopes, services" },
];

/** snake turns `slowSpawnTimeout` into `slow_spawn_timeout`, the config file's spelling. */
export function snake(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/** envName is the setting's environment variable, `SPAWNKEEPER_SLOW_SPAWN_TIMEOUT`. */
export function envName(key: string): string {
  return `SPAWNKEEPER_${snake(key).toUpperCase()}`;
}

/** flagName is the setting's flag, `--slow-spawn-timeout`. */
export function flagName(key: string): string {
  return `--${snake(key).replace(/_/g, '-')}`;
}
