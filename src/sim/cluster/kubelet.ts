import { pick, STUCK_FINALIZER } from '../faults/failure-modes.js';
import type { PodRun } from './kubelet-core.js';
import { KubeletCore } from './kubelet-core.js';
import { markEvicted, markNodeLost, markReadiness, markTerminated, setCondition } from './pod-status.js';
import { conflict, notFound } from '../api/status.js';
import type { Pod } from './types.js';

const EVICTION_MESSAGE = 'The node was low on resource: memory. Threshold quantity: 100Mi, available: 42Mi. ';

/**
 * Kubelet adds the way down to KubeletCore: graceful termination, finalizers that hold a pod,
 * evictions, container exits and lost nodes, plus the calls a test uses to cause them on demand.
 */
export class Kubelet extends KubeletCore {
  /** exitContainer makes a running pod's containers exit now (OOMKilled: exitCode 137, reason 'OOMKilled'). */
  exitContainer(namespace: string, name: string, exitCode: number, reason = exitCode === 0 ? 'Completed' : 'Error'): Pod {
    const run = this.runOf(namespace, name);
    this.cancelAll(run);
    run.disrupted = true;
    void this.deps.processes?.stop(run.uid, 0);
    return this.edit(run, (pod) =>
      markTerminated(pod, this.deps.clock.now(), exitCode, reason, reason === 'OOMKilled' ? 'Failed' : undefined),
    );
  }

  /** evict fails the pod as node-pressure eviction does: phase Failed, reason Evicted; the object stays. */
  evict(namespace: string, name: string, message = EVICTION_MESSAGE): Pod {
    const run = this.runOf(namespace, name);
    this.cancelAll(run);
    run.disrupted = true;
    void this.deps.processes?.stop(run.uid, 0);
    this.record(run, 'Warning', 'Evicted', message);
    const pod = this.edit(run, (draft) => markEvicted(draft, this.deps.clock.now(), message));
    for (const c of pod.spec.containers) this.record(run, 'Normal', 'Killing', `Stopping container ${c.name}`);
    return pod;
  }

  /** disconnect loses the kubelet of one pod: not ready, evicted later, then terminating until restored. */
  disconnect(namespace: string, name: string, evictAfterMs?: number): void {
    this.lose(this.runOf(namespace, name), evictAfterMs);
  }

  /** loseNode loses a whole node: its pods turn unready, and no new pod is placed there. */
  loseNode(node: string, evictAfterMs?: number): void {
    if (!this.deps.nodes.has(node)) throw notFound('nodes', node);
    this.deps.nodes.markLost(node);
    for (const run of [...this.runs.values()]) {
      if (!run.lost && this.deps.registry.find(run.namespace, run.name)?.spec.nodeName === node) this.lose(run, evictAfterMs);
    }
  }

  /** restoreNode brings a node back: its pods become ready again, or finish terminating if deleted meanwhile. */
  restoreNode(node: string): void {
    if (!this.deps.nodes.has(node)) throw notFound('nodes', node);
    this.deps.nodes.markRestored(node);
    for (const run of [...this.runs.values()]) {
      const pod = this.deps.registry.find(run.namespace, run.name);
      if (!run.lost || pod === undefined || pod.spec.nodeName !== node) continue;
      this.reconnect(run, pod);
    }
    this.reschedule();
  }

  /**
   * setReady makes a running pod's readiness probe start failing (false) or pass again (true), as a
   * server that hangs or recovers would; the pod stays Running on its node throughout.
   */
  setReady(namespace: string, name: string, ready: boolean): Pod {
    const run = this.runOf(namespace, name);
    const pod = this.deps.registry.get(namespace, name);
    if (pod.status.phase !== 'Running' || run.lost || run.terminating)
      throw conflict('pods', name, `the pod is not running on a reachable node (phase ${pod.status.phase})`);
    if (!ready) this.record(run, 'Warning', 'Unhealthy', 'Readiness probe failed: HTTP probe failed with statuscode: 503');
    return this.edit(run, (draft) => markReadiness(draft, this.deps.clock.now(), ready));
  }

  /** releaseFinalizers removes the simulator's stuck finalizer (or all) so a held pod can go. */
  releaseFinalizers(namespace: string, name: string, all = false): Pod | undefined {
    return this.deps.registry.removeFinalizers(namespace, name, all ? undefined : STUCK_FINALIZER);
  }

  protected override onReady(run: PodRun): void {
    if (run.disrupted) return;
    for (const mode of run.modes) {
      const at = 'afterMs' in mode ? (mode.afterMs ?? 0) : 0;
      switch (mode.kind) {
        case 'evicted':
          this.later(run, at, () => {
            run.disrupted = true;
            this.evict(run.namespace, run.name, mode.message);
          });
          return;
        case 'exit':
          this.later(run, at, () => {
            run.disrupted = true;
            this.exitContainer(run.namespace, run.name, mode.exitCode ?? 1, mode.reason);
          });
          return;
        case 'oomKilled':
          this.later(run, at, () => {
            run.disrupted = true;
            this.exitContainer(run.namespace, run.name, 137, 'OOMKilled');
          });
          return;
        case 'nodeLost':
          this.later(run, at, () => {
            run.disrupted = true;
            this.lose(run, mode.evictAfterMs);
          });
          return;
        default:
          break;
      }
    }
  }

  /**
   * onTerminating stops the containers: after stopMs (or the whole grace for a pod that ignores
   * SIGTERM) they are terminated and the deletion is confirmed; a shorter grace from a second
   * delete re-arms the stop.
   */
  protected override onTerminating(run: PodRun, pod: Pod): void {
    const graceMs = (pod.metadata.deletionGracePeriodSeconds ?? 0) * 1000;
    if (run.stopped || (run.terminating && graceMs >= run.killGraceMs)) return;
    const first = !run.terminating;
    run.terminating = true;
    run.killGraceMs = graceMs;
    this.cancelAll(run);
    if (run.lost) return;
    if (first) for (const c of pod.spec.containers) this.record(run, 'Normal', 'Killing', `Stopping container ${c.name}`);
    const processes = this.deps.processes;
    if (processes !== undefined) {
      // A real process: SIGTERM, SIGKILL when the grace runs out; its own exit code is the container's.
      void processes.stop(run.uid, graceMs).then((code) => {
        if (!run.stopped && this.current(run)) this.confirmStopped(run, code ?? 0);
      });
      return;
    }
    const ignores = pick(run.modes, 'ignoreSigterm') !== undefined;
    this.later(run, ignores ? graceMs : Math.min(this.deps.delays.stopMs, graceMs), () => this.confirmStopped(run, ignores ? 137 : 0));
  }

  private confirmStopped(run: PodRun, exitCode: number): void {
    run.stopped = true;
    const pod = this.deps.registry.get(run.namespace, run.name);
    const finished = pod.status.phase === 'Succeeded' || pod.status.phase === 'Failed';
    if (!finished && pod.spec.nodeName !== undefined) {
      this.edit(run, (draft) => markTerminated(draft, this.deps.clock.now(), exitCode, exitCode === 0 ? 'Completed' : 'Error'));
    }
    const left = this.deps.registry.finishDeletion(run.namespace, run.name);
    const stuck = pick(run.modes, 'stuckTerminating');
    if (left !== undefined && stuck?.forMs !== undefined) {
      this.later(run, stuck.forMs, () => this.releaseFinalizers(run.namespace, run.name));
    }
  }

  private lose(run: PodRun, evictAfterMs?: number): void {
    if (run.lost) return;
    run.lost = true;
    this.cancelAll(run);
    const pod = this.edit(run, (draft) => markNodeLost(draft, this.deps.clock.now()));
    this.record(run, 'Warning', 'NodeNotReady', 'Node is not ready', 'node-controller');
    if (pod.metadata.deletionTimestamp !== undefined) return;
    this.later(run, evictAfterMs ?? this.deps.delays.nodeLostEvictionMs, () => {
      this.record(
        run,
        'Normal',
        'TaintManagerEviction',
        `Marking for deletion Pod ${run.namespace}/${run.name}`,
        'taint-eviction-controller',
      );
      this.deps.registry.delete(run.namespace, run.name);
    });
  }

  private reconnect(run: PodRun, pod: Pod): void {
    run.lost = false;
    this.cancelAll(run);
    if (pod.metadata.deletionTimestamp !== undefined) {
      run.terminating = false;
      this.onTerminating(run, pod);
      return;
    }
    if (pod.status.phase === 'Running' && pick(run.modes, 'crashLoop') === undefined && pick(run.modes, 'neverReady') === undefined) {
      this.edit(run, (draft) => setCondition(draft, 'Ready', 'True', this.deps.clock.now()));
    }
    this.resume(run, pod);
  }

  private runOf(namespace: string, name: string): PodRun {
    const run = this.runs.get(`${namespace}/${name}`);
    if (run === undefined) throw notFound('pods', name);
    return run;
  }
}
