import type { Random } from '../cluster/prng.js';
import type { Pod } from '../cluster/types.js';

/**
 * FailureMode is one way a pod goes wrong in the simulated cluster, chosen to cover the failure
 * catalogue a spawner must survive (image pulls, crash loops, scheduling, eviction, exits, stuck
 * termination, lost nodes).
 */
export type FailureMode =
  /** The image never pulls: ErrImagePull, then ImagePullBackOff, alternating with growing back-off. */
  | { kind: 'imagePull'; message?: string }
  /** The container starts, exits after `runMs`, and restarts with back-off: CrashLoopBackOff, never ready. */
  | { kind: 'crashLoop'; exitCode?: number; runMs?: number }
  /** The container starts and runs, but its readiness probe never passes: Running, never ready. */
  | { kind: 'neverReady'; message?: string }
  /** No node fits: PodScheduled=False, reason Unschedulable; the pod stays Pending. */
  | { kind: 'unschedulable'; message?: string }
  /** `afterMs` after ready the kubelet evicts the pod: phase Failed, reason Evicted. */
  | { kind: 'evicted'; afterMs?: number; message?: string }
  /** `afterMs` after ready the container exits: terminated with the code; phase Succeeded (0) or Failed. */
  | { kind: 'exit'; afterMs?: number; exitCode?: number; reason?: string }
  /** `afterMs` after ready the container is OOM-killed: terminated, exit code 137, reason OOMKilled, phase Failed. */
  | { kind: 'oomKilled'; afterMs?: number }
  /** A finalizer holds the pod after its deletion for `forMs`, or forever when `forMs` is absent. */
  | { kind: 'stuckTerminating'; forMs?: number }
  /** `afterMs` after ready the pod's kubelet vanishes: Running but not ready, evicted after `evictAfterMs`, then terminating until the node returns. */
  | { kind: 'nodeLost'; afterMs?: number; evictAfterMs?: number }
  /** The container ignores SIGTERM: deletion takes the whole grace period and ends with exit code 137. */
  | { kind: 'ignoreSigterm' }
  /** Per-pod stage delays, e.g. a long image pull that must not be taken for a failure. */
  | { kind: 'slow'; scheduleMs?: number; createMs?: number; readyMs?: number };

/** PodMatcher picks pods: an exact name, a name pattern, or any predicate. */
export type PodMatcher = string | RegExp | ((pod: Pod) => boolean);

export interface FailureRule {
  /** Which pods; all when absent. */
  match?: PodMatcher;
  /** The share of matching pods that fail, drawn from the seeded stream; 1 when absent. */
  fraction?: number;
  /** How many pods the rule may still hit; unlimited when absent. */
  times?: number;
  mode: FailureMode;
}

/** STUCK_FINALIZER is the finalizer the simulator adds to pods that are to be stuck terminating. */
export const STUCK_FINALIZER = 'simulator.spawnkeeper.io/stuck-terminating';

function matches(matcher: PodMatcher | undefined, pod: Pod): boolean {
  if (matcher === undefined) return true;
  if (typeof matcher === 'string') return pod.metadata.name === matcher;
  if (matcher instanceof RegExp) {
    matcher.lastIndex = 0;
    return matcher.test(pod.metadata.name);
  }
  return matcher(pod);
}

/**
 * FailureRules decides, once per pod at creation, which failure modes it gets; deciding once keeps
 * a pod's fate stable however often the kubelet looks at it.
 */
export class FailureRules {
  private rules: { id: number; rule: FailureRule; left: number }[] = [];
  private readonly admitted = new Map<string, FailureMode[]>();
  private nextId = 1;

  constructor(private readonly random: Random) {}

  /** add registers a rule and returns a function that removes it. */
  add(rule: FailureRule): () => void {
    const id = this.nextId++;
    this.rules.push({ id, rule, left: rule.times ?? Number.POSITIVE_INFINITY });
    return () => {
      this.rules = this.rules.filter((r) => r.id !== id);
    };
  }

  clear(): void {
    this.rules = [];
  }

  count(): number {
    return this.rules.length;
  }

  /**
   * admit is the admission step: it decides a new pod's modes and keeps them for the kubelet; a pod
   * that is to be stuck terminating gets its finalizer here, so it is visible from the create on.
   */
  admit(pod: Pod): void {
    const modes = this.decide(pod);
    this.admitted.set(pod.metadata.uid, modes);
    if (pick(modes, 'stuckTerminating') !== undefined) pod.metadata.finalizers = [...(pod.metadata.finalizers ?? []), STUCK_FINALIZER];
  }

  /** takeModes hands the kubelet the modes decided at admission, once. */
  takeModes(uid: string): FailureMode[] {
    const modes = this.admitted.get(uid) ?? [];
    this.admitted.delete(uid);
    return modes;
  }

  /** decide returns the modes of every rule that hits this pod, in the order the rules were added. */
  decide(pod: Pod): FailureMode[] {
    const modes: FailureMode[] = [];
    for (const entry of this.rules) {
      if (entry.left <= 0 || !matches(entry.rule.match, pod)) continue;
      const fraction = entry.rule.fraction ?? 1;
      if (fraction < 1 && !(this.random() < fraction)) continue;
      entry.left -= 1;
      modes.push(entry.rule.mode);
    }
    return modes;
  }
}

/** pick returns the first mode of the given kind, typed. */
export function pick<K extends FailureMode['kind']>(modes: readonly FailureMode[], kind: K): Extract<FailureMode, { kind: K }> | undefined {
  return modes.find((m): m is Extract<FailureMode, { kind: K }> => m.kind === kind);
}
