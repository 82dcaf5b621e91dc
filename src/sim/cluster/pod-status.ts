import { hashString } from './prng.js';
import type { ContainerState, ContainerStatus, Pod, PodCondition } from './types.js';
import { rfc3339 } from './types.js';

/**
 * The pod-status editors write the status shapes a real scheduler and kubelet write at each stage;
 * they mutate a draft inside a store write, so every stage is one MODIFIED event.
 */

function fakeDigest(seed: string): string {
  let out = '';
  for (let i = 0; out.length < 64; i++) out += hashString(`${seed}/${i}`).toString(16).padStart(8, '0');
  return out.slice(0, 64);
}

function containerId(pod: Pod, name: string, restarts: number): string {
  return `containerd://${fakeDigest(`${pod.metadata.uid}/${name}/${restarts}`)}`;
}

/** setCondition keeps lastTransitionTime when the status did not change, as the kubelet does. */
export function setCondition(pod: Pod, type: string, status: PodCondition['status'], now: number, reason?: string, message?: string): void {
  const conditions = (pod.status.conditions ??= []);
  const existing = conditions.find((c) => c.type === type);
  const next: PodCondition = {
    type,
    status,
    lastProbeTime: null,
    lastTransitionTime: existing !== undefined && existing.status === status ? existing.lastTransitionTime : rfc3339(now),
  };
  if (reason !== undefined) next.reason = reason;
  if (message !== undefined) next.message = message;
  if (existing === undefined) conditions.push(next);
  else conditions.splice(conditions.indexOf(existing), 1, next);
}

function statuses(pod: Pod, state: (c: ContainerStatus | undefined) => Partial<ContainerStatus>): void {
  const old = pod.status.containerStatuses ?? [];
  pod.status.containerStatuses = pod.spec.containers.map((c) => {
    const prev = old.find((s) => s.name === c.name);
    const base: ContainerStatus = prev ?? {
      name: c.name,
      image: c.image,
      imageID: '',
      ready: false,
      started: false,
      restartCount: 0,
      state: {},
      lastState: {},
    };
    return { ...base, ...state(prev) };
  });
}

function notReady(pod: Pod, now: number, reason = 'ContainersNotReady'): void {
  const names = pod.spec.containers.map((c) => c.name).join(' ');
  const message = reason === 'ContainersNotReady' ? `containers with unready status: [${names}]` : undefined;
  setCondition(pod, 'Ready', 'False', now, reason, message);
  setCondition(pod, 'ContainersReady', 'False', now, reason, message);
}

export function markScheduled(pod: Pod, nodeName: string, now: number): void {
  pod.spec.nodeName = nodeName;
  setCondition(pod, 'PodScheduled', 'True', now);
}

export function markUnschedulable(pod: Pod, now: number, message: string): void {
  setCondition(pod, 'PodScheduled', 'False', now, 'Unschedulable', message);
}

/** markCreating is the kubelet's first write: the pod is accepted and its containers are being created. */
export function markCreating(pod: Pod, now: number, hostIP: string): void {
  pod.status.phase = 'Pending';
  pod.status.hostIP = hostIP;
  pod.status.startTime ??= rfc3339(now);
  setCondition(pod, 'Initialized', 'True', now);
  notReady(pod, now);
  setCondition(pod, 'PodScheduled', 'True', now);
  markWaiting(pod, 'ContainerCreating');
}

/** markWaiting puts every container in the waiting state with a reason (ContainerCreating, ErrImagePull …). */
export function markWaiting(pod: Pod, reason: string, message?: string): void {
  const waiting: ContainerState['waiting'] = message === undefined ? { reason } : { reason, message };
  statuses(pod, () => ({ ready: false, started: false, state: { waiting } }));
}

/** markRunning starts every container; `ready` says whether readiness is reached too. */
export function markRunning(pod: Pod, now: number, podIP: string, ready: boolean): void {
  pod.status.phase = 'Running';
  pod.status.podIP = podIP;
  pod.status.podIPs = [{ ip: podIP }];
  statuses(pod, (prev) => ({
    ready,
    started: true,
    imageID: `docker.io/library/${prev?.image ?? 'image'}@sha256:${fakeDigest(prev?.image ?? '')}`,
    containerID: containerId(pod, prev?.name ?? '', prev?.restartCount ?? 0),
    state: { running: { startedAt: rfc3339(now) } },
  }));
  readiness(pod, now, ready);
}

/** markReadiness flips a running pod's readiness (a readiness probe that starts or stops passing); the phase stays Running. */
export function markReadiness(pod: Pod, now: number, ready: boolean): void {
  statuses(pod, () => ({ ready }));
  readiness(pod, now, ready);
}

/** readiness sets the pod's Ready and ContainersReady conditions. */
function readiness(pod: Pod, now: number, ready: boolean): void {
  if (ready) {
    setCondition(pod, 'Ready', 'True', now);
    setCondition(pod, 'ContainersReady', 'True', now);
  } else {
    notReady(pod, now);
  }
}

/** markCrashed records a container exit and the back-off that follows; the pod stays Running. */
export function markCrashed(pod: Pod, now: number, exitCode: number): void {
  statuses(pod, (prev) => ({
    ready: false,
    started: false,
    restartCount: (prev?.restartCount ?? 0) + 1,
    lastState: {
      terminated: {
        exitCode,
        reason: 'Error',
        startedAt: prev?.state.running?.startedAt ?? rfc3339(now),
        finishedAt: rfc3339(now),
        containerID: prev?.containerID ?? containerId(pod, prev?.name ?? '', 0),
      },
    },
    state: {
      waiting: {
        reason: 'CrashLoopBackOff',
        message: `back-off restarting failed container ${prev?.name ?? ''} in pod ${pod.metadata.name}`,
      },
    },
  }));
  notReady(pod, now);
}

/** markTerminated stops every container with an exit code and moves the pod to a terminal phase. */
export function markTerminated(pod: Pod, now: number, exitCode: number, reason: string, phase?: 'Succeeded' | 'Failed'): void {
  statuses(pod, (prev) => ({
    ready: false,
    started: false,
    state: {
      terminated: {
        exitCode,
        reason,
        startedAt: prev?.state.running?.startedAt ?? rfc3339(now),
        finishedAt: rfc3339(now),
        containerID: prev?.containerID ?? containerId(pod, prev?.name ?? '', 0),
      },
    },
  }));
  pod.status.phase = phase ?? (exitCode === 0 ? 'Succeeded' : 'Failed');
  notReady(pod, now, 'PodCompleted');
}

/** markEvicted is what the kubelet writes when it evicts a pod under node pressure. */
export function markEvicted(pod: Pod, now: number, message: string): void {
  markTerminated(pod, now, 137, 'ContainerStatusUnknown', 'Failed');
  pod.status.reason = 'Evicted';
  pod.status.message = message;
  setCondition(pod, 'DisruptionTarget', 'True', now, 'TerminationByKubelet', message);
}

/** markNodeLost is the node controller's write when the pod's node stops reporting: not ready, still Running. */
export function markNodeLost(pod: Pod, now: number): void {
  setCondition(
    pod,
    'Ready',
    'False',
    now,
    'NodeLost',
    `Node ${pod.spec.nodeName ?? ''} which was running pod ${pod.metadata.name} is unresponsive`,
  );
}
