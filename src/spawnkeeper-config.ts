import * as v from 'valibot';
import type { ServerDelays } from '../machines/server.machine.js';
import { DEFAULT_DELAYS } from '../machines/server.machine.js';
import type { FieldSchema } from './core/schema.js';
import {
  anyList,
  anyObject,
  group,
  groupCheck,
  integer,
  milliseconds,
  oneOf,
  port,
  refine,
  text,
  textList,
  textMap,
  validate,
} from './core/schema.js';
import { DEFAULT_LEASE_TIMINGS, leaseTimingsProblem } from './kube/lease.js';
import { DEFAULT_TEMPLATE } from './kube/manifest.js';
import { InvalidNameError, validatePodNamePrefix } from './kube/names.js';
import { DEFAULT_REFLECTOR_TIMINGS } from './kube/reflector.js';
import { DEFAULT_RETENTION } from './runtime/retention.js';
import type { TemplateOverrides } from './kube/spec.js';
import { SpecError, checkOverrides } from './kube/spec.js';
import { DEFAULT_SWEEPER_TIMINGS } from './kube/sweeper.js';

/**
 * SPAWNKEEPER_SCHEMA is the engine's configuration: every field typed, ranged and documented, with
 * its default, and no key it does not name. `createSpawnkeeper` parses its options with it; the hub's
 * `spawnkeeper` section is the same schema; docs/hub.md's engine table is generated from it.
 */

const DELAY_DOCS: Record<keyof ServerDelays, string> = {
  startTimeout: 'a whole spawn is verified and settled after this long',
  stopTimeout: 'a whole stop; then the pod is handed to the orphan sweeper',
  stopRetryInterval: 'a delete not done by then is verified and retried with grace 0',
  pollInterval: 'how often a pending state reads its pod, so a dead watch never blocks it',
  requestTimeout: 'an answer of the API not back by then is treated as unknown and verified',
  failFastGrace: 'a starting pod that reports ErrImagePull, CrashLoopBackOff … this long is given up on',
  retryBackoff: 'first wait before re-creating after an API error, doubled per attempt',
  retryBackoffMax: 'cap of retryBackoff',
  unreadyTimeout: 'a running server whose pod is not ready this long is stopped and ends failed',
};

const delays = group(
  Object.fromEntries(
    (Object.keys(DELAY_DOCS) as Array<keyof ServerDelays>).map((k) => [k, v.optional(milliseconds(DELAY_DOCS[k]), DEFAULT_DELAYS[k])]),
  ) as { [K in keyof ServerDelays]: v.OptionalSchema<FieldSchema<number>, number> },
  "the server machine's timeouts (ms)",
);

function podNamePrefixProblem(prefix: string): string | undefined {
  try {
    validatePodNamePrefix(prefix);
    return undefined;
  } catch (err) {
    if (err instanceof InvalidNameError) return err.message;
    throw err;
  }
}

/**
 * overrideProblem checks a Kubernetes-shaped template field with the one check profiles use too
 * (kube/spec.ts), and says what it expected in the schema's words, with the place inside the field.
 */
function overrideProblem(key: keyof TemplateOverrides) {
  return (value: unknown): string | undefined => {
    try {
      checkOverrides({ [key]: value }, '');
      return undefined;
    } catch (err) {
      if (!(err instanceof SpecError)) throw err;
      const inside = err.where.slice(`.${key}`.length);
      return `expected ${err.what}${inside === '' ? '' : ` at ${inside}`}`;
    }
  };
}

const STORAGE_DOC = 'a per-user claim created if missing: { capacity, claimName, storageClass, accessModes, mountPath }; null for none';

const template = group(
  {
    image: v.optional(text('container image of every server'), DEFAULT_TEMPLATE.image),
    command: v.optional(textList("container command (default: the image's)")),
    args: v.optional(textList("container arguments (default: the image's)")),
    port: v.optional(port('port the server listens on in its pod'), DEFAULT_TEMPLATE.port),
    env: v.optional(textMap('environment variables of the server container')),
    resources: v.optional(
      group(
        {
          requests: v.optional(textMap("Kubernetes quantities requested, e.g. { cpu: '100m', memory: '256Mi' }")),
          limits: v.optional(textMap('Kubernetes quantities the container may not exceed')),
        },
        'resources of the server container',
      ),
    ),
    labels: v.optional(textMap("extra pod labels (spawnkeeper's own cannot be overridden)")),
    annotations: v.optional(textMap("extra pod annotations (spawnkeeper's own cannot be overridden)")),
    serviceAccountName: v.optional(text('service account of the server pods')),
    nodeSelector: v.optional(textMap('node labels a server pod must be scheduled on')),
    tolerations: v.optional(refine(anyList('Kubernetes tolerations of the server pods'), overrideProblem('tolerations'))),
    volumes: v.optional(refine(anyList('Kubernetes volumes of the server pods'), overrideProblem('volumes'))),
    volumeMounts: v.optional(refine(anyList('volume mounts of the server container'), overrideProblem('volumeMounts'))),
    storage: v.optional(
      Object.assign(v.nullable(refine(anyObject(STORAGE_DOC), overrideProblem('storage'))), {
        meta: { doc: STORAGE_DOC, values: 'object or null' },
      }),
    ),
    podNamePrefix: v.optional(refine(text('pod names are PREFIX-user[-server]'), podNamePrefixProblem), DEFAULT_TEMPLATE.podNamePrefix),
    terminationGraceSeconds: v.optional(
      integer(0, 86_400, "the pod's own terminationGracePeriodSeconds"),
      DEFAULT_TEMPLATE.terminationGraceSeconds,
    ),
  },
  'the server pod',
);

const reflector = group(
  {
    resyncMs: v.optional(
      milliseconds('a full relist this often, reporting every server, absent pods included'),
      DEFAULT_REFLECTOR_TIMINGS.resyncMs,
    ),
    watchTimeoutSeconds: v.optional(
      integer(1, 3_600, 'the API server ends each watch after this long (s)'),
      DEFAULT_REFLECTOR_TIMINGS.watchTimeoutSeconds,
    ),
    silenceMs: v.optional(
      milliseconds('a watch that sends nothing, not even a bookmark, this long is cut'),
      DEFAULT_REFLECTOR_TIMINGS.silenceMs,
    ),
    unhealthyAfterMs: v.optional(
      milliseconds('unhealthy after this long without a successful list or watch'),
      DEFAULT_REFLECTOR_TIMINGS.unhealthyAfterMs,
    ),
    backoffMaxMs: v.optional(milliseconds('cap of the backoff between failed lists and watches'), DEFAULT_REFLECTOR_TIMINGS.backoffMaxMs),
  },
  'the pod reflector (list and watch)',
);

const sweeper = group(
  {
    intervalMs: v.optional(milliseconds('between sweeps for orphaned pods'), DEFAULT_SWEEPER_TIMINGS.intervalMs),
    graceMs: v.optional(
      milliseconds('a pod of ours with no server is left alone this long after it was first seen'),
      DEFAULT_SWEEPER_TIMINGS.graceMs,
    ),
  },
  'the orphan sweeper',
);

const lease = groupCheck(
  group(
    {
      durationMs: v.optional(
        milliseconds('another hub may take the Lease this long after it last changed (whole seconds)'),
        DEFAULT_LEASE_TIMINGS.durationMs,
      ),
      renewDeadlineMs: v.optional(
        milliseconds('the holder stops acting when it has not renewed this long'),
        DEFAULT_LEASE_TIMINGS.renewDeadlineMs,
      ),
      retryPeriodMs: v.optional(milliseconds('between attempts to acquire or renew'), DEFAULT_LEASE_TIMINGS.retryPeriodMs),
      name: v.optional(text('name of the Lease (default spawnkeeper-INSTANCE)')),
      identity: v.optional(text('holder identity (default: host and database)')),
    },
    'the Kubernetes Lease that makes this hub the only one acting',
  ),
  (l) => leaseTimingsProblem({ ...DEFAULT_LEASE_TIMINGS, ...l }),
);

const retention = group(
  {
    maxAgeMs: v.optional(
      integer(
        0,
        10 * 365 * 86_400_000,
        "events younger than this are kept (ms; default 30 days); a deleted user's server goes once all its history is older",
      ),
      DEFAULT_RETENTION.maxAgeMs,
    ),
    lifecycles: v.optional(
      integer(1, 1_000_000, 'each server keeps at least its last this many lifecycles, whatever their age'),
      DEFAULT_RETENTION.lifecycles,
    ),
    intervalMs: v.optional(milliseconds('between retention passes (0: no retention)', 0), DEFAULT_RETENTION.intervalMs),
  },
  'bounded history: what is folded into checkpoints (docs/retention.md)',
);

export const SPAWNKEEPER_SCHEMA = group(
  {
    namespace: v.optional(text('namespace the server pods live in'), 'default'),
    instance: v.optional(text("labels this hub's pods, so two hubs in one namespace never touch each other's"), 'hub'),
    delays: v.optional(delays, {}),
    template: v.optional(template, {}),
    retention: v.optional(retention, {}),
    deleteGraceSeconds: v.optional(integer(0, 3_600, 'grace period of a first, graceful delete (s)'), 1),
    durability: v.optional(
      oneOf(['full', 'normal'], 'full: fsync every commit; normal: may lose the last commits on power loss, never on a crash'),
      'full',
    ),
    effectConcurrency: v.optional(integer(1, 10_000, 'calls to the API in flight at once'), 32),
    reflector: v.optional(reflector, {}),
    sweeper: v.optional(sweeper, {}),
    lease: v.optional(lease, {}),
  },
  'engine settings',
);

/** SpawnkeeperConfig is the engine's whole configuration, every default filled in. */
export type SpawnkeeperConfig = v.InferOutput<typeof SPAWNKEEPER_SCHEMA>;

/** SpawnkeeperConfigInput is what a caller gives: any part of SpawnkeeperConfig, nested parts too. */
export type SpawnkeeperConfigInput = v.InferInput<typeof SPAWNKEEPER_SCHEMA>;

/** parseSpawnkeeperConfig checks and completes a configuration, or throws a ConfigError naming each bad path. */
export function parseSpawnkeeperConfig(input: unknown, options: { prefix?: string; source?: string } = {}): SpawnkeeperConfig {
  return validate(SPAWNKEEPER_SCHEMA, input ?? {}, options);
}

/** DEFAULT_CONFIG is the engine's configuration when nothing is set. */
export const DEFAULT_CONFIG: Readonly<SpawnkeeperConfig> = parseSpawnkeeperConfig({});
