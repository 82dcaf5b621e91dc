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
  /** ip: the pod's address (status.podIP) once it has one; where the server is reached, never decided on. */
  readonly ip?: string | undefined;
}

export interface AbsentPod {
  readonly exists: false;
  /**
   * resourceVersion is the list's resourceVersion when the absence came from a list, or the deletion's
   * revision when it came from a watch's DELETED event; an absence from a direct read (404) has none.
   */
  readonly resourceVersion?: string | undefined;
  /** uid is the pod whose deletion this absence reports, when known: a uid once deleted never returns. */
  readonly uid?: string | undefined;
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

/**
 * rvNumber reads a resourceVersion as etcd-backed API servers write it: a positive integer without
 * leading zeros. Anything else is opaque and never ordered.
 */
export function rvNumber(rv: string | undefined): bigint | undefined {
  if (rv === undefined || !/^[1-9][0-9]{0,29}$/.test(rv)) return undefined;
  return BigInt(rv);
}

/**
 * Relation is how a new fact stands to the known one. `newer` may replace it and be decided on;
 * `stale` says nothing new; `unordered` cannot be placed (another pod of the same name, an absence
 * that cannot be ordered with a presence, versions that are opaque or from another cluster epoch):
 * it is noted, but anything final decided on it must first be verified by reading the pod.
 */
export type Relation = 'newer' | 'stale' | 'unordered';

/**
 * progress ranks what only moves forward in one pod's life: Pending before Running (or Unknown,
 * which may return to Running), then Succeeded or Failed; and a pod once terminating never stops
 * terminating. It orders facts about one pod whose versions are opaque.
 */
function progress(pod: PresentPod): number {
  const phase = pod.phase === 'Pending' ? 0 : pod.phase === 'Succeeded' || pod.phase === 'Failed' ? 2 : 1;
  return (pod.deleting ? 3 : 0) + phase;
}

/**
 * relation orders an observation against the known fact by pod identity first. Facts about one
 * uid are ordered by resourceVersion as integers (a pod's versions only grow; a deletion's event
 * carries the deletion's revision, so an absence of that uid at the same version is newer); opaque
 * versions of one uid are ordered by the pod's progress, else left unordered. A fact from a list is
 * newer only when the list's own version is at or after the known fact's (a list absence carries
 * the list's version). Facts about different uids are never compared by resourceVersion.
 */
export function relation(known: PodFact | null, next: PodFact, listedAt?: string): Relation {
  if (known === null) return 'newer';
  if (listedAt !== undefined && next.exists) {
    // A list is a consistent read at its own version: at or after the known fact's, what it shows is
    // the pod now, whatever that pod's own version says (in a cluster that went back, it may be lower).
    const k = rvNumber(known.resourceVersion);
    const l = rvNumber(listedAt);
    if (sameFact(known, next)) return 'stale';
    if (k !== undefined && l !== undefined) return l >= k ? 'newer' : 'unordered';
  }
  if (!next.exists) {
    if (!known.exists) return 'stale'; // gone is gone: a later list saying so again adds nothing
    if (next.uid !== undefined && next.uid !== known.uid) return 'stale'; // another pod's deletion says nothing of ours
    const a = rvNumber(known.resourceVersion);
    const b = rvNumber(next.resourceVersion);
    if (a !== undefined && b !== undefined) return b >= a ? 'newer' : next.uid === undefined ? 'unordered' : 'stale';
    return next.uid !== undefined ? 'newer' : 'unordered'; // a deletion is final for its uid
  }
  if (!known.exists) return known.uid !== undefined && known.uid === next.uid ? 'stale' : 'unordered';
  if (next.uid !== known.uid) return 'unordered';
  const a = rvNumber(known.resourceVersion);
  const b = rvNumber(next.resourceVersion);
  if (a !== undefined && b !== undefined) return b > a ? 'newer' : 'stale';
  const ahead = progress(next) - progress(known);
  if (ahead !== 0) return ahead > 0 ? 'newer' : 'stale';
  return next.resourceVersion === known.resourceVersion ? 'stale' : 'unordered';
}

/** sameFact: two facts say the same about the same pod (a repeated read, a duplicated event). */
export function sameFact(a: PodFact, b: PodFact): boolean {
  if (!a.exists || !b.exists) return a.exists === b.exists;
  return (
    a.uid === b.uid &&
    a.resourceVersion === b.resourceVersion &&
    a.phase === b.phase &&
    a.ready === b.ready &&
    a.deleting === b.deleting &&
    a.reason === b.reason &&
    a.ip === b.ip
  );
}

/**
 * remember is what the machine keeps of a new fact: an absence without a uid that follows a known
 * pod keeps that pod's uid, since it is that pod that is gone for good.
 */
export function remember(known: PodFact | null, next: PodFact): PodFact {
  if (next.exists || next.uid !== undefined || known === null || !known.exists) return next;
  return { ...next, uid: known.uid };
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

/** isUnready: the pod exists and is not terminal, but does not serve (NotReady, Pending, phase Unknown). */
export function isUnready(pod: PodFact | null): boolean {
  return pod !== null && pod.exists && !pod.deleting && !isRunning(pod) && failureOf(pod) === undefined && !hasExited(pod);
}
