import { backoffDelay } from '../../../machines/backoff.js';
import type { SimClock, TimerSet } from './clock.js';
import type { EventRecorder } from './event-recorder.js';
import type { FailureMode, FailureRules } from '../faults/failure-modes.js';
import { pick } from '../faults/failure-modes.js';
import type { NodePool } from './node-pool.js';
import type { PodRegistry } from './pod-registry.js';
import { missingClaim, missingSecret } from './pod-references.js';
import {
  markCrashed,
  markCreating,
  markReadiness,
  markRunning,
  markScheduled,
  markTerminated,
  markUnschedulable,
  markWaiting,
} from './pod-status.js';
import type { ProcessRunner } from './processes.js';
import { ContainerConfigError, containerPort, resolveEnv } from './processes.js';
import type { Change, ClusterStore } from './store.js';
import type { Pod } from './types.js';

/** KubeletDelays are the simulated durations of each stage; 0 is allowed everywhere. */
export interface KubeletDelays {
  /** Created → bound to a node (the scheduler). */
  scheduleMs: number;
  /** Bound → containers being created (the kubelet picks the pod up). */
  createMs: number;
  /** Containers being created → running and ready (the image pull and start). */
  readyMs: number;
  /** SIGTERM → containers stopped, capped by the grace period. */
  stopMs: number;
  /** First back-off of image pulls and crash loops; it doubles up to 32 times this. */
  backoffMs: number;
  /** How long a crash-looping container runs before it exits again. */
  crashRunMs: number;
  /** Node lost → pod marked for deletion (the default unreachable toleration is 300 s). */
  nodeLostEvictionMs: number;
}

export const DEFAULT_KUBELET_DELAYS: KubeletDelays = {
  scheduleMs: 50,
  createMs: 100,
  readyMs: 200,
  stopMs: 100,
  backoffMs: 200,
  crashRunMs: 100,
  nodeLostEvictionMs: 300_000,
};

export interface KubeletDeps {
  store: ClusterStore;
  registry: PodRegistry;
  recorder: EventRecorder;
  clock: SimClock;
  timers: TimerSet;
  nodes: NodePool;
  rules: FailureRules;
  delays: KubeletDelays;
  /** When set, the kubelet runs each pod's container as a real local process (the process kubelet). */
  processes?: ProcessRunner;
}

/** PodRun is the kubelet's memory of one pod (by uid): its fate, its pending timers, its reachability. */
interface PodRun {
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  readonly modes: FailureMode[];
  readonly cancels: Set<() => void>;
  lost: boolean;
  terminating: boolean;
  /** The containers were stopped for deletion; only finalizers may still hold the pod. */
  stopped: boolean;
  /** The after-ready disruption (exit, eviction, lost node) has happened. */
  disrupted: boolean;
  killGraceMs: number;
  /** backoffs: the back-offs this pod has waited (crash loop, pull, scheduling): the next one doubles. */
  backoffs: number;
  podIP?: string;
}

type Stage = 'scheduleMs' | 'createMs' | 'readyMs';

/**
 * KubeletCore is the simulated scheduler and kubelets on the way up: it watches the store like the
 * real components and moves each pod from Pending to Running and ready with timed writes, bending
 * the path where a failure mode says so; stopping and disruptions live in its subclass Kubelet.
 */
export class KubeletCore {
  protected readonly runs = new Map<string, PodRun>();
  private unsubscribe: (() => void) | undefined;

  constructor(protected readonly deps: KubeletDeps) {}

  start(): void {
    this.unsubscribe ??= this.deps.store.subscribe((change) => this.onChange(change));
  }

  stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    for (const run of this.runs.values()) this.cancelAll(run);
    this.runs.clear();
  }

  setDelays(delays: Partial<KubeletDelays>): void {
    Object.assign(this.deps.delays, delays);
  }

  protected onChange(change: Change): void {
    if (change.resource !== 'pods') return;
    const pod = change.object as Pod;
    const key = `${pod.metadata.namespace}/${pod.metadata.name}`;
    const run = this.runs.get(key);
    if (change.type === 'ADDED') {
      this.adopt(pod, this.deps.rules.takeModes(pod.metadata.uid));
    } else if (run !== undefined && run.uid === pod.metadata.uid) {
      if (change.type === 'DELETED') {
        this.cancelAll(run);
        void this.deps.processes?.stop(run.uid, 0);
        this.runs.delete(key);
      } else if (pod.metadata.deletionTimestamp !== undefined) {
        this.onTerminating(run, pod);
      }
    }
  }

  /**
   * resync forgets every pod the kubelet knew and adopts the pods the store now holds, from wherever
   * their status says they are: after an etcd restore the kubelets act on the restored state.
   */
  resync(): void {
    for (const run of this.runs.values()) this.cancelAll(run);
    this.runs.clear();
    for (const pod of this.deps.store.list('pods') as Pod[]) this.adopt(pod, []);
  }

  /** adopt starts looking after a pod: its way up, or its way down if it is being deleted. */
  private adopt(pod: Pod, modes: FailureMode[]): void {
    const run: PodRun = {
      namespace: pod.metadata.namespace,
      name: pod.metadata.name,
      uid: pod.metadata.uid,
      modes,
      cancels: new Set(),
      lost: false,
      terminating: false,
      stopped: false,
      disrupted: false,
      killGraceMs: 0,
      backoffs: 0,
    };
    this.runs.set(`${run.namespace}/${run.name}`, run);
    const node = pod.spec.nodeName;
    // A pod bound by its creator to a node without a (reachable) kubelet waits, as it would in a cluster.
    if (node !== undefined && (!this.deps.nodes.has(node) || this.deps.nodes.isLost(node))) run.lost = true;
    else if (pod.metadata.deletionTimestamp !== undefined) this.onTerminating(run, pod);
    else this.resume(run, pod);
  }

  /** resume arms the next stage of a pod's way up, from wherever its status says it is. */
  protected resume(run: PodRun, pod: Pod): void {
    if (pod.spec.nodeName === undefined) this.later(run, this.delay(run, 'scheduleMs'), () => this.schedule(run));
    else if (pod.status.phase === 'Pending') this.later(run, this.delay(run, 'createMs'), () => this.create(run));
    else if (pod.status.phase === 'Running' && pick(run.modes, 'crashLoop') !== undefined)
      this.later(run, this.nextBackoff(run), () => this.crashed(run));
    else if (pod.status.phase === 'Running') this.onReady(run);
  }

  /** onTerminating is overridden by the part that knows how pods stop. */
  protected onTerminating(_run: PodRun, _pod: Pod): void {}

  /** onReady is overridden by the part that schedules disruptions after readiness. */
  protected onReady(_run: PodRun): void {}

  protected delay(run: PodRun, stage: Stage): number {
    return pick(run.modes, 'slow')?.[stage] ?? this.deps.delays[stage];
  }

  /** later arms a timer for this run; it does nothing if the pod has since gone or been replaced. */
  protected later(run: PodRun, ms: number, fn: () => void): void {
    const cancel = this.deps.timers.after(ms, () => {
      run.cancels.delete(cancel);
      if (this.current(run)) fn();
    });
    run.cancels.add(cancel);
  }

  /** current says whether this run still looks after the pod of its name (it has not gone or been replaced). */
  protected current(run: PodRun): boolean {
    return (
      this.runs.get(`${run.namespace}/${run.name}`) === run && this.deps.registry.find(run.namespace, run.name)?.metadata.uid === run.uid
    );
  }

  protected cancelAll(run: PodRun): void {
    for (const cancel of run.cancels) cancel();
    run.cancels.clear();
  }

  protected edit(run: PodRun, change: (draft: Pod) => void): Pod {
    return this.deps.registry.edit(run.namespace, run.name, change);
  }

  protected record(
    run: PodRun,
    type: 'Normal' | 'Warning',
    reason: string,
    message: string,
    component: 'default-scheduler' | 'kubelet' | 'node-controller' | 'taint-eviction-controller' = 'kubelet',
  ): void {
    const pod = this.deps.registry.find(run.namespace, run.name);
    if (pod !== undefined) this.deps.recorder.record(pod, type, reason, message, component);
  }

  private now(): number {
    return this.deps.clock.now();
  }

  private schedule(run: PodRun): void {
    const claim = missingClaim(this.deps.store, this.deps.registry.get(run.namespace, run.name));
    if (claim !== undefined) {
      // The scheduler waits for the claim, and tries again.
      const message = `0/${this.deps.nodes.names().length} nodes are available: persistentvolumeclaim "${claim}" not found.`;
      this.edit(run, (pod) => markUnschedulable(pod, this.now(), message));
      this.record(run, 'Warning', 'FailedScheduling', message, 'default-scheduler');
      this.later(run, this.nextBackoff(run), () => this.schedule(run));
      return;
    }
    const node = pick(run.modes, 'unschedulable') === undefined ? this.deps.nodes.place() : undefined;
    if (node === undefined) {
      const message = pick(run.modes, 'unschedulable')?.message ?? this.deps.nodes.unschedulableMessage();
      this.edit(run, (pod) => markUnschedulable(pod, this.now(), message));
      this.record(run, 'Warning', 'FailedScheduling', message, 'default-scheduler');
      return;
    }
    this.edit(run, (pod) => markScheduled(pod, node, this.now()));
    this.record(run, 'Normal', 'Scheduled', `Successfully assigned ${run.namespace}/${run.name} to ${node}`, 'default-scheduler');
    this.later(run, this.delay(run, 'createMs'), () => this.create(run));
  }

  /** reschedule retries pods that found no reachable node, once a node is back. */
  protected reschedule(): void {
    for (const run of this.runs.values()) {
      const pod = this.deps.registry.find(run.namespace, run.name);
      if (pod === undefined || pod.spec.nodeName !== undefined || run.terminating || pick(run.modes, 'unschedulable') !== undefined)
        continue;
      this.later(run, 0, () => this.schedule(run));
    }
  }

  private create(run: PodRun): void {
    const pod = this.edit(run, (draft) => markCreating(draft, this.now(), this.deps.nodes.hostIP(draft.spec.nodeName ?? '')));
    for (const c of pod.spec.containers) this.record(run, 'Normal', 'Pulling', `Pulling image "${c.image}"`);
    if (pick(run.modes, 'imagePull') !== undefined) this.later(run, this.delay(run, 'readyMs'), () => this.pullFailed(run, 'ErrImagePull'));
    else this.later(run, this.delay(run, 'readyMs'), () => this.startContainers(run));
  }

  private pullFailed(run: PodRun, reason: 'ErrImagePull' | 'ImagePullBackOff'): void {
    const image = this.deps.registry.get(run.namespace, run.name).spec.containers[0]?.image ?? '';
    if (reason === 'ErrImagePull') {
      const message =
        pick(run.modes, 'imagePull')?.message ?? `rpc error: code = NotFound desc = failed to pull and unpack image "${image}": not found`;
      this.edit(run, (pod) => markWaiting(pod, reason, message));
      this.record(run, 'Warning', 'Failed', `Failed to pull image "${image}": ${message}`);
      this.record(run, 'Warning', 'Failed', 'Error: ErrImagePull');
      this.later(run, this.backoff(run), () => this.pullFailed(run, 'ImagePullBackOff'));
      return;
    }
    this.edit(run, (pod) => markWaiting(pod, reason, `Back-off pulling image "${image}"`));
    this.record(run, 'Normal', 'BackOff', `Back-off pulling image "${image}"`);
    this.record(run, 'Warning', 'Failed', 'Error: ImagePullBackOff');
    this.later(run, this.nextBackoff(run), () => this.pullFailed(run, 'ErrImagePull'));
  }

  private startContainers(run: PodRun): void {
    const pod = this.deps.registry.get(run.namespace, run.name);
    const secret = missingSecret(this.deps.store, pod);
    if (secret !== undefined) {
      // The kubelet cannot make the container's environment: it waits and tries again.
      this.edit(run, (draft) => markWaiting(draft, 'CreateContainerConfigError', `secret "${secret}" not found`));
      this.record(run, 'Warning', 'Failed', `Error: secret "${secret}" not found`);
      this.later(run, this.nextBackoff(run), () => this.startContainers(run));
      return;
    }
    for (const c of pod.spec.containers) {
      this.record(run, 'Normal', 'Pulled', `Successfully pulled image "${c.image}"`);
      this.record(run, 'Normal', 'Created', `Created container ${c.name}`);
      this.record(run, 'Normal', 'Started', `Started container ${c.name}`);
    }
    if (this.deps.processes !== undefined) {
      this.launch(run, pod, this.deps.processes);
      return;
    }
    const podIP = (run.podIP ??= this.deps.nodes.podIP());
    const crash = pick(run.modes, 'crashLoop');
    const unready = pick(run.modes, 'neverReady');
    this.edit(run, (draft) => markRunning(draft, this.now(), podIP, crash === undefined && unready === undefined));
    if (crash !== undefined) this.later(run, crash.runMs ?? this.deps.delays.crashRunMs, () => this.crashed(run));
    else if (unready !== undefined)
      this.record(run, 'Warning', 'Unhealthy', unready.message ?? 'Readiness probe failed: HTTP probe failed with statuscode: 503');
    else this.onReady(run);
  }

  /**
   * launch runs the pod's container as a local process: Running (not ready) with a loopback podIP of
   * its own, ready when the probe answers, terminated with the process's exit code when it
   * exits on its own (restartPolicy Never). A missing Secret is CreateContainerConfigError, retried.
   */
  private launch(run: PodRun, pod: Pod, processes: ProcessRunner): void {
    const container = pod.spec.containers[0];
    let env: Record<string, string>;
    try {
      if (container === undefined) throw new ContainerConfigError('the pod has no container');
      env = resolveEnv(container, run.namespace, (ns, name) => this.deps.store.get('secrets', ns, name));
    } catch (err) {
      if (!(err instanceof ContainerConfigError)) throw err;
      this.edit(run, (draft) => markWaiting(draft, 'CreateContainerConfigError', err.message));
      this.record(run, 'Warning', 'Failed', `Error: ${err.message}`);
      this.later(run, this.nextBackoff(run), () => this.startContainers(run));
      return;
    }
    void processes.allocateAddress(containerPort(container)).then(
      (ip) => {
        if (!this.current(run) || run.terminating) return processes.release(ip);
        run.podIP = ip;
        this.edit(run, (draft) => markRunning(draft, this.now(), ip, false));
        processes.start(run.uid, pod, env, ip, {
          ready: () => {
            if (!this.current(run) || run.terminating) return;
            this.edit(run, (draft) => markReadiness(draft, this.now(), true));
            this.onReady(run);
          },
          exited: (code) => {
            if (!this.current(run) || run.terminating || run.disrupted) return;
            run.disrupted = true;
            this.cancelAll(run);
            this.edit(run, (draft) => markTerminated(draft, this.now(), code, code === 0 ? 'Completed' : 'Error'));
          },
        });
      },
      (err: unknown) => {
        if (this.current(run)) this.edit(run, (draft) => markWaiting(draft, 'CreateContainerError', (err as Error).message));
      },
    );
  }

  private crashed(run: PodRun): void {
    const crash = pick(run.modes, 'crashLoop');
    const pod = this.edit(run, (draft) => markCrashed(draft, this.now(), crash?.exitCode ?? 1));
    for (const c of pod.spec.containers) {
      this.record(
        run,
        'Warning',
        'BackOff',
        `Back-off restarting failed container ${c.name} in pod ${run.name}_${run.namespace}(${run.uid})`,
      );
    }
    this.later(run, this.nextBackoff(run), () => {
      this.edit(run, (draft) => markRunning(draft, this.now(), run.podIP ?? '', false));
      for (const c of pod.spec.containers) this.record(run, 'Normal', 'Started', `Started container ${c.name}`);
      this.later(run, crash?.runMs ?? this.deps.delays.crashRunMs, () => this.crashed(run));
    });
  }

  /** backoff is the pod's current back-off, as a kubelet's: the first delay doubled per back-off waited, at most 32 times it. */
  private backoff(run: PodRun): number {
    const initialMs = this.deps.delays.backoffMs;
    return backoffDelay({ initialMs, maxMs: initialMs * 32 }, run.backoffs);
  }

  /** nextBackoff is the current back-off; the one after it doubles. */
  private nextBackoff(run: PodRun): number {
    const current = this.backoff(run);
    run.backoffs++;
    return current;
  }
}

export type { PodRun };
