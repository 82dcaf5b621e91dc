import type { FaultEpisode, FaultSchedule, FaultScheduleOptions } from './fault-schedule.js';
import { planFaults } from './fault-schedule.js';
import type { Abandoned, FaultInjector, FaultRecord, Verb } from './faults.js';
import type { FailureMode, FailureRule, FailureRules } from './failure-modes.js';
import type { KubeletDelays } from './kubelet.js';
import type { Kubelet } from './kubelet-disruptions.js';
import type { NodePool } from './node-pool.js';
import type { PodRegistry } from './pod-registry.js';
import type { ClusterStore } from './store.js';
import type { WatchRegistry } from './watch-stream.js';
import type { Pod } from './types.js';

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
  nodes(): readonly string[];
  loseNode(node: string, options?: { evictAfterMs?: number }): void;
  restoreNode(node: string): void;
  releaseFinalizers(name: string, options?: { namespace?: string; all?: boolean }): Pod | undefined;
}

/** ClusterControl reaches the cluster's state behind the API: versions, history, namespaces. */
export interface ClusterControl {
  resourceVersion(): number;
  oldestResourceVersion(): number;
  /** compact forgets the change history, so every watch from an older version gets 410. */
  compact(): void;
  setHistoryLimit(limit: number): void;
  addNamespace(namespace: string): void;
  /** forceDelete removes a pod now, finalizers and kubelet notwithstanding (an operator's last resort). */
  forceDelete(name: string, namespace?: string): Pod | undefined;
  openWatches(): number;
}

export function faultControl(faults: FaultInjector, schedule: FaultSchedule, seed: number): FaultControl {
  return {
    dropWatchEvents: (f) => faults.dropWatchEvents(f),
    delayWatchEvents: (ms) => faults.delayWatchEvents(ms),
    failCalls: (o) => faults.failCalls(o),
    failNext: (n, o) => faults.failNext(n, o),
    slowCalls: (o) => faults.slowCalls(o),
    cutWatches: (o) => faults.cutWatches(o),
    stallWatches: (o) => faults.stallWatches(o),
    expireWatches: () => faults.expireWatches(),
    injectWatchLines: (lines) => faults.injectWatchLines(lines),
    refuseConnections: (ms) => faults.refuseConnections(ms),
    acceptConnections: () => faults.acceptConnections(),
    isRefusing: () => faults.isRefusing(),
    runSchedule: (options) => {
      const plan = planFaults({ ...options, seed: options.seed ?? seed });
      schedule.start(plan);
      return plan;
    },
    stopSchedule: () => schedule.stop(),
    clear: async () => {
      schedule.stop();
      await faults.clear();
    },
    log: () => faults.log(),
  };
}

export function kubeletControl(kubelet: Kubelet, rules: FailureRules, nodes: NodePool, delays: KubeletDelays, namespace: string): KubeletControl {
  return {
    delays: () => ({ ...delays }),
    setDelays: (d) => kubelet.setDelays(d),
    failPod: (name, mode) => rules.add({ match: name, mode }),
    addRule: (rule) => rules.add(rule),
    clearRules: () => rules.clear(),
    exitContainer: (name, o = {}) => kubelet.exitContainer(o.namespace ?? namespace, name, o.exitCode ?? 1, o.reason),
    oomKill: (name, o = {}) => kubelet.exitContainer(o.namespace ?? namespace, name, 137, 'OOMKilled'),
    evict: (name, o = {}) => kubelet.evict(o.namespace ?? namespace, name, o.message),
    disconnect: (name, o = {}) => kubelet.disconnect(o.namespace ?? namespace, name, o.evictAfterMs),
    nodes: () => nodes.names(),
    loseNode: (node, o = {}) => kubelet.loseNode(node, o.evictAfterMs),
    restoreNode: (node) => kubelet.restoreNode(node),
    releaseFinalizers: (name, o = {}) => kubelet.releaseFinalizers(o.namespace ?? namespace, name, o.all ?? false),
  };
}

export function clusterControl(store: ClusterStore, registry: PodRegistry, watches: WatchRegistry, namespaces: Set<string>, namespace: string): ClusterControl {
  return {
    resourceVersion: () => store.resourceVersion(),
    oldestResourceVersion: () => store.oldestResourceVersion(),
    compact: () => store.compact(),
    setHistoryLimit: (limit) => store.setHistoryLimit(limit),
    addNamespace: (ns) => {
      namespaces.add(ns);
    },
    forceDelete: (name, ns = namespace) => {
      if (registry.find(ns, name) === undefined) return undefined;
      const released = registry.removeFinalizers(ns, name);
      if (registry.find(ns, name) === undefined) return released;
      return registry.finishDeletion(ns, name);
    },
    openWatches: () => watches.count(),
  };
}
