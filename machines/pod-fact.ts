/**
 * PodFact is what was observed about a server's pod at one resourceVersion: a level, never an edge.
 * The reflector, a read and an effect's answer all produce the same shape, so the machine has one
 * rule for all of them (controller-runtime: assert the state of the world, not which call was made).
 */
export type PodFact = PresentPod | AbsentPod;

export interface PresentPod {
  readonly exists: true;
  readonly uid: string;
  readonly resourceVersion: string;
  /** Kubernetes pod phase: Pending, Running, Succeeded, Failed or Unknown. */
  readonly phase: string;
  /** All containers ready and the pod not terminating. */
  readonly ready: boolean;
  /** deletionTimestamp is set: the pod is terminating. */
  readonly deleting: boolean;
  /** A waiting or terminated container reason (ErrImagePull, OOMKilled, Evicted …), if any. */
  readonly reason?: string | undefined;
  readonly exitCode?: number | undefined;
}

export interface AbsentPod {
  readonly exists: false;
  /**
   * resourceVersion is the list's resourceVersion when the absence came from a list; an absence from
   * a direct read (404) carries none and is fresh by construction.
   */
  readonly resourceVersion?: string | undefined;
}

/** FATAL_WAITING_REASONS are container waiting reasons after which a start will not succeed by itself. */
export const FATAL_WAITING_REASONS: readonly string[] = [
  'ErrImagePull',
  'ImagePullBackOff',
  'InvalidImageName',
  'CrashLoopBackOff',
  'CreateContainerConfigError',
  'CreateContainerError',
  'Unschedulable',
];

/** rvNumber parses a resourceVersion; etcd-backed API servers use integers, anything else is opaque. */
function rvNumber(rv: string | undefined): bigint | undefined {
  if (rv === undefined || !/^[0-9]{1,30}$/.test(rv)) return undefined;
  return BigInt(rv);
}

/**
 * isNewer tells whether `next` may replace `known`: an observation at an older or equal
 * resourceVersion is a duplicate or stale (reordered, replayed, or an old pod of the same name).
 * Versions that are not integers are compared for equality only, as the API conventions ask.
 */
export function isNewer(known: PodFact | null, next: PodFact): boolean {
  if (known === null) return true;
  if (!known.exists && !next.exists) return false; // gone is gone: a later list saying so again adds nothing
  const a = rvNumber(known.resourceVersion);
  const b = rvNumber(next.resourceVersion);
  if (!next.exists && next.resourceVersion === undefined) return true; // a fresh read's 404 of a known pod
  if (a !== undefined && b !== undefined) return b > a;
  if (next.exists !== known.exists) return true;
  return next.resourceVersion !== known.resourceVersion;
}

/** isRunning: the pod serves; JupyterHub's is_pod_running (phase Running, ready, not terminating). */
export function isRunning(pod: PodFact | null): boolean {
  return pod !== null && pod.exists && pod.phase === 'Running' && pod.ready && !pod.deleting;
}

/** failureOf returns why a pod will not (or no longer) serve by itself, or undefined while it may. */
export function failureOf(pod: PodFact | null): string | undefined {
  if (pod === null || !pod.exists) return undefined;
  if (pod.phase === 'Failed') {
    const code = pod.exitCode === undefined ? '' : ` (exit code ${pod.exitCode})`;
    return `pod failed${pod.reason ? `: ${pod.reason}` : ''}${code}`;
  }
  if (pod.reason !== undefined && FATAL_WAITING_REASONS.includes(pod.reason)) return `pod ${pod.reason}`;
  if (pod.reason === 'OOMKilled' || pod.reason === 'Error') return `container ${pod.reason}`;
  return undefined;
}

/** hasExited: the server's container ended by itself without failing (phase Succeeded). */
export function hasExited(pod: PodFact | null): boolean {
  return pod !== null && pod.exists && pod.phase === 'Succeeded';
}

/** isGone: no pod of this server exists (a terminating pod still exists). */
export function isGone(pod: PodFact | null): boolean {
  return pod === null || !pod.exists;
}
