import type { Params } from './control-params.js';
import { ParamError } from './control-params.js';
import type { ScheduledFaultKind } from './fault-schedule.js';
import { ALL_SCHEDULED_FAULTS } from './fault-schedule.js';
import type { Simulator } from '../simulator.js';

/**
 * ControlAction is one call of the fault control API: `POST /<name>` with a JSON object of
 * arguments. Each runs the very function a test calls in-process (sim.faults, sim.kubelet,
 * sim.cluster), so the two ways in cannot drift apart.
 */
export interface ControlAction {
  readonly name: string;
  readonly summary: string;
  /** The arguments, in words, for the index page and docs/simulator.md. */
  readonly args: string;
  /** parse reads every argument first and returns the effect, so a bad argument changes nothing. */
  parse(p: Params): (sim: Simulator) => unknown;
}

function action(name: string, summary: string, args: string, parse: (p: Params) => (sim: Simulator) => unknown): ControlAction {
  return { name, summary, args, parse };
}

function kinds(p: Params): ScheduledFaultKind[] | undefined {
  const v = p.optionalStrings('kinds');
  if (v === undefined) return undefined;
  const bad = v.filter((k) => !(ALL_SCHEDULED_FAULTS as readonly string[]).includes(k));
  if (bad.length > 0 || v.length === 0)
    throw new ParamError(`kinds must be a non-empty list of ${ALL_SCHEDULED_FAULTS.join(', ')}, got ${JSON.stringify(v)}`);
  return v as ScheduledFaultKind[];
}

const defined = <T extends Record<string, unknown>>(o: T): T =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;

/** CONTROL_ACTIONS are every call of the fault control API, in the order docs/simulator.md lists them. */
export const CONTROL_ACTIONS: readonly ControlAction[] = [
  action(
    'refuse-connections',
    'close the API port: clients get ECONNREFUSED (for forMs, or until accept-connections)',
    '{ "forMs"?: int }',
    (p) => {
      const forMs = p.integer('forMs');
      return async (sim) => {
        await sim.faults.refuseConnections(forMs);
        return { refusing: true };
      };
    },
  ),
  action('accept-connections', 'open the API port again', '{}', () => async (sim) => {
    await sim.faults.acceptConnections();
    return { refusing: false };
  }),
  action('cut-watches', 'end every open watch: a reset, or a clean end of the response', '{ "clean"?: bool }', (p) => {
    const o = defined({ clean: p.boolean('clean') });
    return (sim) => ({ watches: sim.faults.cutWatches(o) });
  }),
  action(
    'stall-watches',
    'silence every open watch for good, and new ones for forMs (all, unless includeNew is false)',
    '{ "forMs"?: int, "includeNew"?: bool }',
    (p) => {
      const o = defined({ forMs: p.integer('forMs'), includeNew: p.boolean('includeNew') });
      return (sim) => ({ watches: sim.faults.stallWatches(o) });
    },
  ),
  action('drop-watch-events', 'lose this share of watch events, silently (0 stops it)', '{ "fraction": 0..1 }', (p) => {
    const fraction = p.fraction('fraction');
    return (sim) => sim.faults.dropWatchEvents(fraction);
  }),
  action('delay-watch-events', 'hold every watch event back by ms, in order (0 stops it)', '{ "ms": int }', (p) => {
    const ms = p.requiredInteger('ms');
    return (sim) => sim.faults.delayWatchEvents(ms);
  }),
  action('expire-watches', 'send every open watch the in-stream 410 Expired ERROR and end it', '{}', () => (sim) => ({
    watches: sim.faults.expireWatches(),
  })),
  action('compact', 'forget the change history: every watch or Exact list from an older resourceVersion gets 410', '{}', () => (sim) => {
    sim.cluster.compact();
    return { oldestResourceVersion: sim.cluster.oldestResourceVersion() };
  }),
  action('history-limit', 'keep only this many changes for watches to resume from (the watch window)', '{ "limit": int }', (p) => {
    const limit = p.requiredInteger('limit', { min: 1 });
    return (sim) => {
      sim.cluster.setHistoryLimit(limit);
      return { oldestResourceVersion: sim.cluster.oldestResourceVersion() };
    };
  }),
  action(
    'fail-next',
    'fail exactly the next count calls of these verbs with this status (500 unless given)',
    '{ "count": int, "status"?: 400..599, "verbs"?: [verb] }',
    (p) => {
      const count = p.requiredInteger('count', { min: 1 });
      const o = defined({ status: p.status(), verbs: p.verbs() });
      return (sim) => sim.faults.failNext(count, o);
    },
  ),
  action(
    'fail-calls',
    'fail this share of calls of these verbs with this status (fraction 0 stops it)',
    '{ "fraction": 0..1, "status"?: 400..599, "verbs"?: [verb] }',
    (p) => {
      const o = defined({ fraction: p.fraction('fraction'), status: p.status(), verbs: p.verbs() });
      return (sim) => sim.faults.failCalls(o);
    },
  ),
  action(
    'slow-calls',
    'delay this share of calls of these verbs by delayMs (fraction 0 stops it)',
    '{ "fraction": 0..1, "delayMs": int, "verbs"?: [verb] }',
    (p) => {
      const o = defined({ fraction: p.fraction('fraction'), delayMs: p.requiredInteger('delayMs'), verbs: p.verbs() });
      return (sim) => sim.faults.slowCalls(o);
    },
  ),
  action('inject-watch-lines', 'write raw lines into every open watch (for fuzzing a client)', '{ "lines": [string] }', (p) => {
    const lines = p.strings('lines');
    return (sim) => ({ watches: sim.faults.injectWatchLines(lines) });
  }),
  action(
    'schedule',
    'run a seeded random schedule of faults for durationMs; returns the plan',
    '{ "durationMs": int, "seed"?: int, "meanGapMs"?: int, "meanEpisodeMs"?: int, "fraction"?: 0..1, "slowDelayMs"?: int, "kinds"?: [kind] }',
    (p) => {
      const o = defined({
        durationMs: p.requiredInteger('durationMs', { min: 1 }),
        seed: p.integer('seed', { max: 2 ** 32 - 1 }),
        meanGapMs: p.integer('meanGapMs', { min: 1 }),
        meanEpisodeMs: p.integer('meanEpisodeMs', { min: 1 }),
        fraction: p.optionalFraction('fraction'),
        slowDelayMs: p.integer('slowDelayMs'),
        kinds: kinds(p),
      });
      return (sim) => ({ plan: sim.faults.runSchedule(o) });
    },
  ),
  action('stop-schedule', 'stop the schedule and end the episode in progress', '{}', () => (sim) => sim.faults.stopSchedule()),
  action('clear', 'stop the schedule and lift every API fault (stalled watches stay dead)', '{}', () => (sim) => sim.faults.clear()),
  action(
    'kubelet/fail-pods',
    'give future pods (by exact name, name pattern, or all) a failure mode',
    '{ "mode": { "kind": kind, …fields }, "name"?: string, "pattern"?: regex, "fraction"?: 0..1, "times"?: int }',
    (p) => {
      const mode = p.mode();
      const name = p.string('name');
      const pattern = p.string('pattern');
      if (name !== undefined && pattern !== undefined) throw new ParamError('give name or pattern, not both');
      let match: string | RegExp | undefined = name;
      if (pattern !== undefined) {
        try {
          match = new RegExp(pattern);
        } catch (err) {
          throw new ParamError(`pattern is not a regular expression: ${err instanceof Error ? err.message : String(err)}`);
        }
      }
      const rule = defined({ mode, match, fraction: p.optionalFraction('fraction'), times: p.integer('times', { min: 1 }) });
      return (sim) => void sim.kubelet.addRule(rule);
    },
  ),
  action(
    'kubelet/clear-rules',
    'remove every failure rule (pods already created keep their fate)',
    '{}',
    () => (sim) => sim.kubelet.clearRules(),
  ),
  action(
    'kubelet/delays',
    'set the kubelet stage delays in ms',
    '{ "scheduleMs"?, "createMs"?, "readyMs"?, "stopMs"?, "backoffMs"?, "crashRunMs"?, "nodeLostEvictionMs"?: int }',
    (p) => {
      const names = ['scheduleMs', 'createMs', 'readyMs', 'stopMs', 'backoffMs', 'crashRunMs', 'nodeLostEvictionMs'] as const;
      const delays = defined(Object.fromEntries(names.map((n) => [n, p.integer(n)])));
      return (sim) => {
        sim.kubelet.setDelays(delays);
        return { delays: sim.kubelet.delays() };
      };
    },
  ),
  action(
    'kubelet/exit-container',
    "make a running pod's containers exit now with exitCode (1 unless given)",
    '{ "pod": name, "exitCode"?: int, "reason"?: string, "namespace"?: string }',
    (p) => {
      const name = p.requiredString('pod');
      const o = defined({ namespace: p.string('namespace'), exitCode: p.integer('exitCode', { max: 255 }), reason: p.string('reason') });
      return (sim) => sim.kubelet.exitContainer(name, o);
    },
  ),
  action('kubelet/oom-kill', 'OOM-kill a running pod (exit code 137, phase Failed)', '{ "pod": name, "namespace"?: string }', (p) => {
    const name = p.requiredString('pod');
    const o = defined({ namespace: p.string('namespace') });
    return (sim) => sim.kubelet.oomKill(name, o);
  }),
  action(
    'kubelet/evict',
    'evict a pod as node pressure does (phase Failed, reason Evicted)',
    '{ "pod": name, "message"?: string, "namespace"?: string }',
    (p) => {
      const name = p.requiredString('pod');
      const o = defined({ namespace: p.string('namespace'), message: p.string('message') });
      return (sim) => sim.kubelet.evict(name, o);
    },
  ),
  action(
    'kubelet/set-ready',
    "make a running pod's readiness probe fail (false) or pass again (true); it stays Running",
    '{ "pod": name, "ready": bool, "namespace"?: string }',
    (p) => {
      const name = p.requiredString('pod');
      const ready = p.boolean('ready');
      if (ready === undefined) throw new ParamError('ready is required');
      const o = defined({ namespace: p.string('namespace') });
      return (sim) => sim.kubelet.setReady(name, ready, o);
    },
  ),
  action(
    'kubelet/disconnect',
    "lose one pod's kubelet: not ready, evicted after evictAfterMs",
    '{ "pod": name, "evictAfterMs"?: int, "namespace"?: string }',
    (p) => {
      const name = p.requiredString('pod');
      const o = defined({ namespace: p.string('namespace'), evictAfterMs: p.integer('evictAfterMs') });
      return (sim) => sim.kubelet.disconnect(name, o);
    },
  ),
  action(
    'kubelet/lose-node',
    'lose a node: its pods turn not ready (reason NodeLost) and are evicted after evictAfterMs',
    '{ "node": name, "evictAfterMs"?: int }',
    (p) => {
      const node = p.requiredString('node');
      const o = defined({ evictAfterMs: p.integer('evictAfterMs') });
      return (sim) => sim.kubelet.loseNode(node, o);
    },
  ),
  action('kubelet/restore-node', 'bring a lost node back', '{ "node": name }', (p) => {
    const node = p.requiredString('node');
    return (sim) => sim.kubelet.restoreNode(node);
  }),
  action(
    'kubelet/release-finalizers',
    "remove the simulator's stuck finalizer (or all finalizers) from a pod",
    '{ "pod": name, "all"?: bool, "namespace"?: string }',
    (p) => {
      const name = p.requiredString('pod');
      const o = defined({ namespace: p.string('namespace'), all: p.boolean('all') });
      return (sim) => sim.kubelet.releaseFinalizers(name, o);
    },
  ),
  action(
    'cluster/force-delete',
    'remove a pod now, finalizers and kubelet notwithstanding',
    '{ "pod": name, "namespace"?: string }',
    (p) => {
      const name = p.requiredString('pod');
      const namespace = p.string('namespace');
      return (sim) => sim.cluster.forceDelete(name, namespace);
    },
  ),
  action(
    'cluster/replace-pod',
    'delete a pod at once and create it again under the same name with a new uid',
    '{ "pod": name, "namespace"?: string }',
    (p) => {
      const name = p.requiredString('pod');
      const namespace = p.string('namespace');
      return (sim) => sim.cluster.replacePod(name, namespace);
    },
  ),
  action('cluster/snapshot', 'back the cluster up, as an etcd snapshot; returns its number', '{}', () => (sim) => ({
    snapshot: sim.cluster.snapshot(),
    resourceVersion: sim.cluster.resourceVersion(),
  })),
  action(
    'cluster/restore',
    'restore a backup, as an etcd restore: objects and resourceVersions go back, every watch is cut',
    '{ "snapshot": int }',
    (p) => {
      const snapshot = p.requiredInteger('snapshot', { min: 1 });
      return (sim) => {
        sim.cluster.restore(snapshot);
        return { resourceVersion: sim.cluster.resourceVersion() };
      };
    },
  ),
];
