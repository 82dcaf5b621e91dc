import type { FaultEpisode, FaultSchedule, FaultScheduleOptions } from './fault-schedule.js';
import { planFaults } from './fault-schedule.js';
import type { Abandoned, FaultInjector, FaultRecord, Verb } from './faults.js';
import type { FailureMode, FailureRule, FailureRules } from './failure-modes.js';
import type { KubeletDelays } from '../cluster/kubelet-core.js';
import type { Kubelet } from '../cluster/kubelet.js';
import type { NodePool } from '../cluster/node-pool.js';
import type { PodRegistry } from '../cluster/pod-registry.js';
import { notFound } from '../api/status.js';
import type { ClusterStore, StoreSnapshot } from '../cluster/store.js';
import type { WatchRegistry } from '../api/watch-stream.js';
import type { Pod } from '../cluster/types.js';

/**
 * The controls are the one way to break the simulated cluster on purpose and mend it: tests call
 * them in-process, `spawnkeeper sim --faults` serves the same functions over HTTP, and every call
 * is written to the injection log with its time.
 */

/** FaultControl is how a test or chaos run breaks the API server on purpose, and mends it. */
export interface FaultControl {
  dropWatchEvents(fraction: number): void;
  delayWatchEvents(ms: number): void;
  failCalls(options: { fraction: number; status?: number; verbs?: readonly Verb[] }): void;
  failNext(count: number, options?: { status?: number; verbs?: readonly Verb[] }): void;
  slowCalls(options: { fraction: number; delayMs: number; verbs?: readonly Verb[]; abandoned?: Abandoned }): void;
  cutWatches(options?: { clean?: boolean }): number;
  stallWatches(options?: { forMs?: number; includeNew?: boolean }): number;
  expireWatches(): number;
  /** injectWatchLines writes raw lines into every open watch (for fuzzing the client side). */
  injectWatchLines(lines: readonly string[]): number;
  refuseConnections(forMs?: number): Promise<void>;
  acceptConnections(): Promise<void>;
  isRefusing(): boolean;
  /** runSchedule plans faults from the seed (the simulator's unless given) and runs them; it returns the plan. */
  runSchedule(options: Omit<FaultScheduleOptions, 'seed'> & { seed?: number }): FaultEpisode[];
  stopSchedule(): void;
  /** clear stops the schedule and lifts every fault, reopening the listener if it was closed. */
  clear(): Promise<void>;
  /** log is the injection log: what was injected, and when, oldest first. */
  log(): readonly FaultRecord[];
}

/** KubeletControl sets stage delays, failure rules for future pods, and disrupts existing ones. */
export interface KubeletControl {
  delays(): KubeletDelays;
  setDelays(delays: Partial<KubeletDelays>): void;
  /** failPod gives every future pod of this name the mode; returns a function that removes the rule. */
  failPod(name: string, mode: FailureMode): () => void;
  addRule(rule: FailureRule): () => void;
  clearRules(): void;
  exitContainer(name: string, options?: { exitCode?: number; reason?: string; namespace?: string }): Pod;
  oomKill(name: string, options?: { namespace?: string }): Pod;
  evict(name: string, options?: { message?: string; namespace?: string }): Pod;
  disconnect(name: string, options?: { evictAfterMs?: number; namespace?: string }): void;
  /** setReady makes a running pod's readiness probe fail (false) or pass again (true); it stays Running. */
  setReady(name: string, ready: boolean, options?: { namespace?: string }): Pod;
  nodes(): readonly string[];
  loseNode(node: string, options?: { evictAfterMs?: number }): void;
  restoreNode(node: string): void;
  releaseFinalizers(name: string, options?: { namespace?: string; all?: boolean }): Pod | undefined;
}

/** ClusterControl reaches the cluster's state behind the API: versions, history, namespaces, backups. */
export interface ClusterControl {
  resourceVersion(): number;
  oldestResourceVersion(): number;
  /** compact forgets the change history, so every watch or Exact list from an older version gets 410. */
  compact(): void;
  setHistoryLimit(limit: number): void;
  addNamespace(namespace: string): void;
  /** forceDelete removes a pod now, finalizers and kubelet notwithstanding (an operator's last resort). */
  forceDelete(name: string, namespace?: string): Pod | undefined;
  /** replacePod deletes a pod at once and creates it again under the same name with a new uid (someone else's controller). */
  replacePod(name: string, namespace?: string): Pod;
  /** snapshot backs the cluster up (an etcd snapshot) and returns the backup's number. */
  snapshot(): number;
  /**
   * restore puts a backup back (an etcd restore): objects and the resourceVersion counter go back,
   * so versions go backwards and will be reused; every watch is cut, as the API server restarts.
   */
  restore(snapshot: number): void;
  openWatches(): number;
}

function words(call: string, args: Record<string, unknown> = {}): string {
  const parts = Object.entries(args)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join(',') : typeof v === 'object' ? JSON.stringify(v) : String(v)}`);
  return [call, ...parts].join(' ');
}

export function faultControl(faults: FaultInjector, schedule: FaultSchedule, seed: number): FaultControl {
  const log = (call: string, args?: Record<string, unknown>): void => faults.note({ kind: 'control', detail: words(call, args) });
  return {
    dropWatchEvents: (fraction) => {
      log('dropWatchEvents', { fraction });
      faults.dropWatchEvents(fraction);
    },
    delayWatchEvents: (ms) => {
      log('delayWatchEvents', { ms });
      faults.delayWatchEvents(ms);
    },
    failCalls: (o) => {
      log('failCalls', o);
      faults.failCalls(o);
    },
    failNext: (count, o = {}) => {
      log('failNext', { count, ...o });
      faults.failNext(count, o);
    },
    slowCalls: (o) => {
      log('slowCalls', o);
      faults.slowCalls(o);
    },
    cutWatches: (o) => faults.cutWatches(o),
    stallWatches: (o) => faults.stallWatches(o),
    expireWatches: () => faults.expireWatches(),
    injectWatchLines: (lines) => faults.injectWatchLines(lines),
    refuseConnections: (ms) => faults.refuseConnections(ms),
    acceptConnections: () => faults.acceptConnections(),
    isRefusing: () => faults.isRefusing(),
    runSchedule: (options) => {
      const plan = planFaults({ ...options, seed: options.seed ?? seed });
      log('runSchedule', { ...options, seed: options.seed ?? seed, episodes: plan.length });
      schedule.start(plan);
      return plan;
    },
    stopSchedule: () => {
      log('stopSchedule');
      schedule.stop();
    },
    clear: async () => {
      log('clear');
      schedule.stop();
      await faults.clear();
    },
    log: () => faults.log(),
  };
}

export interface KubeletControlDeps {
  kubelet: Kubelet;
  rules: FailureRules;
  nodes: NodePool;
  delays: KubeletDelays;
  namespace: string;
  faults: FaultInjector;
}

export function kubeletControl({ kubelet, rules, nodes, delays, namespace, faults }: KubeletControlDeps): KubeletControl {
  const log = (call: string, args?: Record<string, unknown>): void =>
    faults.note({ kind: 'control', detail: words(`kubelet.${call}`, args) });
  return {
    delays: () => ({ ...delays }),
    setDelays: (d) => {
      log('setDelays', d);
      kubelet.setDelays(d);
    },
    failPod: (name, mode) => {
      log('failPod', { name, mode });
      return rules.add({ match: name, mode });
    },
    addRule: (rule) => {
      log('addRule', {
        match: rule.match === undefined ? undefined : String(rule.match),
        fraction: rule.fraction,
        times: rule.times,
        mode: rule.mode,
      });
      return rules.add(rule);
    },
    clearRules: () => {
      log('clearRules');
      rules.clear();
    },
    exitContainer: (name, o = {}) => {
      log('exitContainer', { name, ...o });
      return kubelet.exitContainer(o.namespace ?? namespace, name, o.exitCode ?? 1, o.reason);
    },
    oomKill: (name, o = {}) => {
      log('oomKill', { name, ...o });
      return kubelet.exitContainer(o.namespace ?? namespace, name, 137, 'OOMKilled');
    },
    evict: (name, o = {}) => {
      log('evict', { name, ...o });
      return kubelet.evict(o.namespace ?? namespace, name, o.message);
    },
    disconnect: (name, o = {}) => {
      log('disconnect', { name, ...o });
      kubelet.disconnect(o.namespace ?? namespace, name, o.evictAfterMs);
    },
    setReady: (name, ready, o = {}) => {
      log('setReady', { name, ready, ...o });
      return kubelet.setReady(o.namespace ?? namespace, name, ready);
    },
    nodes: () => nodes.names(),
    loseNode: (node, o = {}) => {
      log('loseNode', { node, ...o });
      kubelet.loseNode(node, o.evictAfterMs);
    },
    restoreNode: (node) => {
      log('restoreNode', { node });
      kubelet.restoreNode(node);
    },
    releaseFinalizers: (name, o = {}) => {
      log('releaseFinalizers', { name, ...o });
      return kubelet.releaseFinalizers(o.namespace ?? namespace, name, o.all ?? false);
    },
  };
}

export interface ClusterControlDeps {
  store: ClusterStore;
  registry: PodRegistry;
  watches: WatchRegistry;
  kubelet: Kubelet;
  namespaces: Set<string>;
  namespace: string;
  faults: FaultInjector;
}

export function clusterControl({ store, registry, watches, kubelet, namespaces, namespace, faults }: ClusterControlDeps): ClusterControl {
  const log = (call: string, args?: Record<string, unknown>): void =>
    faults.note({ kind: 'control', detail: words(`cluster.${call}`, args) });
  const snapshots: StoreSnapshot[] = [];
  return {
    resourceVersion: () => store.resourceVersion(),
    oldestResourceVersion: () => store.oldestResourceVersion(),
    compact: () => {
      log('compact', { resourceVersion: store.resourceVersion() });
      store.compact();
    },
    setHistoryLimit: (limit) => {
      log('setHistoryLimit', { limit });
      store.setHistoryLimit(limit);
    },
    addNamespace: (ns) => {
      namespaces.add(ns);
    },
    forceDelete: (name, ns = namespace) => {
      log('forceDelete', { name, namespace: ns });
      if (registry.find(ns, name) === undefined) return undefined;
      const released = registry.removeFinalizers(ns, name);
      if (registry.find(ns, name) === undefined) return released;
      return registry.finishDeletion(ns, name);
    },
    replacePod: (name, ns = namespace) => {
      const old = registry.get(ns, name);
      log('replacePod', { name, namespace: ns, uid: old.metadata.uid });
      store.remove('pods', ns, name);
      const { nodeName: _n, ...spec } = old.spec;
      const { labels, annotations, ownerReferences } = old.metadata;
      return registry.create(ns, { metadata: { name, labels, annotations, ownerReferences }, spec });
    },
    snapshot: () => {
      snapshots.push(store.snapshot());
      log('snapshot', { number: snapshots.length, resourceVersion: store.resourceVersion() });
      return snapshots.length;
    },
    restore: (number) => {
      const backup = snapshots[number - 1];
      if (backup === undefined) throw notFound('snapshots', String(number));
      log('restore', { number, from: store.resourceVersion(), to: backup.rv });
      watches.each((w) => w.cut(false));
      store.restore(backup);
      kubelet.resync();
    },
    openWatches: () => watches.count(),
  };
}
