import * as v from 'valibot';
import type { FieldSchema } from '../core/schema.js';
import {
  anyList,
  anyObject,
  flag,
  group,
  integer,
  milliseconds,
  oneOf,
  port,
  refine,
  seconds,
  text,
  textList,
  withoutDefaults,
} from '../core/schema.js';
// From the kubelet's own module, not the simulator's index: a hub that talks to a cluster loads no more of the simulator.
import type { KubeletDelays } from '../sim/cluster/kubelet-core.js';
import { DEFAULT_KUBELET_DELAYS } from '../sim/cluster/kubelet-core.js';
import type { SpawnkeeperConfigInput } from '../spawnkeeper-config.js';
import { SPAWNKEEPER_SCHEMA } from '../spawnkeeper-config.js';

const KUBELET_DOCS: Record<keyof KubeletDelays, string> = {
  scheduleMs: 'created → bound to a node',
  createMs: 'bound → containers being created',
  readyMs: 'containers being created → running and ready (the image pull and start)',
  stopMs: 'SIGTERM → containers stopped, capped by the grace period',
  backoffMs: 'first back-off of image pulls and crash loops',
  crashRunMs: 'how long a crash-looping container runs before it exits again',
  nodeLostEvictionMs: 'node lost → pod marked for deletion',
};

/** SIM_SCHEMA: the embedded simulated cluster that `npm start` runs when no real cluster is named. */
export const SIM_SCHEMA = group(
  {
    seed: v.optional(integer(0, 2 ** 32 - 1, 'seeds uids and every fault decision'), 1),
    kubelet: v.optional(
      group(
        {
          ...(Object.fromEntries(
            (Object.keys(KUBELET_DOCS) as Array<keyof KubeletDelays>).map((k) => [
              k,
              v.optional(milliseconds(KUBELET_DOCS[k], 0), DEFAULT_KUBELET_DELAYS[k]),
            ]),
          ) as { [K in keyof KubeletDelays]: v.OptionalSchema<FieldSchema<number>, number> }),
          command: v.optional(
            refine(
              textList(
                "with sim_kubelet process: the command run for every pod instead of its image's (default: a built-in single-user server)",
              ),
              (c) => (c.length === 0 || c.some((part) => part === '') ? 'expected a non-empty list of non-empty strings' : undefined),
            ),
          ),
        },
        'simulated kubelet: stage delays (ms) and the process command',
      ),
      {},
    ),
  },
  'embedded simulator',
);

/** SimSettings configure the embedded simulated cluster; what is not given takes the simulator's defaults. */
export type SimSettings = v.InferInput<typeof SIM_SCHEMA>;
/** SimKubeletSettings: the simulated kubelet's delays and, for the process kubelet, its command. */
export type SimKubeletSettings = NonNullable<SimSettings['kubelet']>;

/**
 * HUB_ENGINE_SCHEMA is the engine's schema as the hub's `spawnkeeper` section: without `namespace`
 * and `instance` (the hub's own settings of those names give them), and without defaults, so what
 * the section sets wins over the hub settings it overlaps (`unhealthy_after`, `lease_*`).
 */
const { namespace: _namespace, instance: _instance, ...ENGINE_ENTRIES } = SPAWNKEEPER_SCHEMA.entries;
export const HUB_ENGINE_SCHEMA = group(ENGINE_ENTRIES, SPAWNKEEPER_SCHEMA.meta.doc);

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
  spawnkeeper: Omit<SpawnkeeperConfigInput, 'namespace' | 'instance'>;
  sim: SimSettings;
  /** simKubelet: the embedded simulator's containers are pretend (`simulated`) or real local processes (`process`). */
  simKubelet: 'simulated' | 'process';
  /** services: JupyterHub's `c.JupyterHub.services` entries (checked by parseServices). */
  services: unknown[];
  /** loadRoles: JupyterHub's `c.JupyterHub.load_roles` entries, giving services their scopes. */
  loadRoles: unknown[];
  /** profiles: KubeSpawner's profile_list, each {slug, display_name, description, default, overrides} (checked by parseProfiles). */
  profiles: unknown[];
}

/**
 * SettingType says how a value is checked (and, from the environment or a flag, parsed): a word for
 * the common kinds, `{ oneOf }` for a choice, or `{ schema }` for a nested section (a group of fields).
 */
export type SettingType =
  | 'string'
  | 'port'
  | 'count'
  | 'seconds'
  | 'boolean'
  | 'object'
  | 'list'
  | { oneOf: readonly [string, ...string[]] }
  | { schema: v.GenericSchema & { meta: { doc: string; values: string } } };

/** Setting documents one key; its file key, environment variable and flag are derived from the name. */
export interface Setting {
  readonly key: keyof HubConfig;
  readonly type: SettingType;
  readonly doc: string;
  /** where: `all` (file, env, flag), `secret` (file and env, never a flag: flags show in `ps`), `file` (objects and lists). */
  readonly where: 'all' | 'secret' | 'file';
  /** min: the least value of a `seconds` or `count` setting (default 0). */
  readonly min?: number;
  /** max: the largest value of a `seconds` setting, when it is not a timer's (a timer holds at most about 24.8 days). */
  readonly max?: number;
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
  simKubelet: 'simulated',
  services: [],
  loadRoles: [],
  profiles: [],
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
  { key: 'requestTimeout', type: 'seconds', min: 1, where: 'all', doc: 'a request not fully received within this gets 408' },
  {
    key: 'apiPageDefaultLimit',
    type: 'count',
    min: 1,
    where: 'all',
    doc: 'users per page when no limit is given and the client accepts pages',
  },
  { key: 'apiPageMaxLimit', type: 'count', min: 1, where: 'all', doc: 'largest page of users' },
  { key: 'authenticatePrometheus', type: 'boolean', where: 'all', doc: '/hub/metrics needs a token with read:metrics' },
  {
    key: 'unhealthyAfter',
    type: 'seconds',
    min: 0.001,
    where: 'all',
    doc: 'the reflector is unhealthy (503) after this long without a successful list or watch',
  },
  { key: 'exitOnUnhealthy', type: 'seconds', where: 'all', doc: 'exit (code 1) after this long unhealthy (0: never)' },
  {
    key: 'leaseDuration',
    type: 'seconds',
    min: 1,
    where: 'all',
    doc: 'another hub may take the Lease this long after it last changed (whole seconds)',
  },
  {
    key: 'leaseRenewDeadline',
    type: 'seconds',
    min: 0.001,
    where: 'all',
    doc: 'the hub stops acting when it could not renew its Lease for this long',
  },
  { key: 'leaseRetryPeriod', type: 'seconds', min: 0.001, where: 'all', doc: 'between attempts to acquire or renew the Lease' },
  { key: 'progressKeepalive', type: 'seconds', where: 'all', doc: 'keepalive interval of progress streams' },
  {
    key: 'historyMaxAge',
    type: 'seconds',
    max: 10 * 365 * 86_400,
    where: 'all',
    doc: "events younger than this are kept; older ones beyond a server's last lifecycles are folded into a checkpoint, and a deleted user's servers go",
  },
  { key: 'historyLifecycles', type: 'count', min: 1, where: 'all', doc: 'lifecycles of each server kept whatever their age' },
  { key: 'historyRetentionInterval', type: 'seconds', where: 'all', doc: 'between retention passes over the event log (0: never)' },
  { key: 'logLevel', type: { oneOf: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] }, where: 'all', doc: 'log level' },
  { key: 'logFormat', type: { oneOf: ['auto', 'json', 'pretty'] }, where: 'all', doc: 'auto: pretty on a terminal, JSON otherwise' },
  { key: 'spawnkeeper', type: { schema: HUB_ENGINE_SCHEMA }, where: 'file', doc: 'engine settings (the `spawnkeeper.*` table below)' },
  { key: 'sim', type: { schema: SIM_SCHEMA }, where: 'file', doc: 'embedded simulator (the `sim.*` table below)' },
  {
    key: 'simKubelet',
    type: { oneOf: ['simulated', 'process'] },
    where: 'all',
    doc: "the embedded simulator's containers: simulated, or real local processes (`npm start` uses process)",
  },
  { key: 'services', type: 'list', where: 'file', doc: "JupyterHub's services: name, api_token, admin, url, info, display" },
  { key: 'loadRoles', type: 'list', where: 'file', doc: "JupyterHub's load_roles: name, scopes, services" },
  {
    key: 'profiles',
    type: 'list',
    where: 'file',
    doc: "KubeSpawner's profile_list: slug, display_name, description, default, overrides (of spawnkeeper.template's fields); chosen by user_options.profile",
  },
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

/** settingSchema is the check of one setting's value, whatever its source. */
export function settingSchema(s: Setting): FieldSchema<unknown> {
  const t = s.type;
  if (t === 'string') return text(s.doc);
  if (t === 'port') return port(s.doc, true);
  if (t === 'count')
    return integer(
      s.min ?? 0,
      Number.MAX_SAFE_INTEGER,
      s.doc,
      s.min === undefined ? 'a non-negative integer' : `an integer of at least ${s.min}`,
    );
  if (t === 'seconds') return seconds(s.doc, s.min, s.max);
  if (t === 'boolean') return flag(s.doc);
  if (t === 'list') return anyList(s.doc);
  if (t === 'object') return anyObject(s.doc);
  if ('oneOf' in t) return oneOf(t.oneOf, s.doc);
  return Object.assign(withoutDefaults(t.schema), { meta: t.schema.meta });
}

/**
 * hubSchema is every setting as one strict object, keyed by `keyOf` (the file's snake_case, or the
 * camelCase of HubConfig): an unknown key is refused with its path, each value checked by its type.
 */
export function hubSchema(keyOf: (key: string) => string) {
  return group(Object.fromEntries(SETTINGS.map((s) => [keyOf(s.key), v.optional(settingSchema(s))])), 'hub settings');
}
