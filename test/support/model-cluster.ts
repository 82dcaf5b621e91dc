import type { PodFact } from '../../machines/pod-fact.js';
import type { Clock } from '../../src/core/clock.js';
import type { PodClient } from '../../src/runtime/pod-client.js';
import { PodApiError } from '../../src/runtime/pod-client.js';

interface ModelPod {
  uid: string;
  rv: number;
  phase: string;
  ready: boolean;
  deleting: boolean;
  reason?: string | undefined;
  exitCode?: number | undefined;
}

export interface ModelChange {
  readonly key: string;
  readonly fact: PodFact;
}

/** ModelFaults are what the model cluster can be told to do wrong; `clear()` on the cluster ends them. */
export interface ModelFaults {
  /** down: every call fails as if the API server refused the connection. */
  down: boolean;
  /** latencyMs: answers arrive this late (the call itself takes effect at once, as a slow API server's does). */
  latencyMs: number;
  /** failNext: this many calls answer 500 without doing anything. */
  failNext: number;
  /** stuck: pods of these servers stay terminating (a finalizer) until the faults are cleared. */
  stuck: Set<string>;
  /** stuckForever: pods of these servers stay terminating even after the faults are cleared. */
  stuckForever: Set<string>;
  /** unreadyForever: pods of these servers run but never pass their readiness probe, even after the faults are cleared. */
  unreadyForever: Set<string>;
  /** failOnStart: pods of these servers never become ready but show this waiting reason. */
  failOnStart: Map<string, string>;
  /** readyDelayMs: how long the kubelet takes from create to ready. */
  readyDelayMs: number;
  /**
   * lateMs: creates and deletes take effect this late, answered only then; a caller that gave up
   * meanwhile (its signal aborted) is told at once, but the call still lands (a late call).
   */
  lateMs: number;
}

/**
 * ModelCluster is an in-process cluster that keeps the PodClient contract (idempotent create and
 * delete, Kubernetes resourceVersions, graceful termination) on a virtual clock, and records every
 * change so a test can deliver, lose, duplicate or reorder the observations a watch would bring.
 */
export class ModelCluster implements PodClient {
  readonly pods = new Map<string, ModelPod>();
  readonly changes: ModelChange[] = [];
  faults: ModelFaults = ModelCluster.noFaults();
  private rv: number;
  private uids = 0;
  private readonly graceMs: number;
  /** opaque: resourceVersions are not integers (an API server not backed by etcd); their order is hidden. */
  readonly opaque: boolean;
  calls = 0;

  constructor(
    private readonly clock: Clock,
    options: { graceMs?: number; readyDelayMs?: number; startRv?: number; opaque?: boolean; uidPrefix?: string } = {},
  ) {
    this.graceMs = options.graceMs ?? 2_000;
    this.faults.readyDelayMs = options.readyDelayMs ?? 3_000;
    this.rv = options.startRv ?? 100;
    this.opaque = options.opaque ?? false;
    this.uidPrefix = options.uidPrefix ?? 'uid';
  }

  private readonly uidPrefix: string;

  /** version is how the API writes resourceVersion n: an integer, or an opaque token that hides the order. */
  private version(n: number): string {
    return this.opaque ? `v${((n * 2_654_435_761) >>> 0).toString(36)}` : String(n);
  }

  static noFaults(): ModelFaults {
    return {
      down: false,
      latencyMs: 0,
      failNext: 0,
      stuck: new Set(),
      stuckForever: new Set(),
      unreadyForever: new Set(),
      failOnStart: new Map(),
      readyDelayMs: 3_000,
      lateMs: 0,
    };
  }

  /** clear ends every fault; pods held by a finalizer finish terminating. */
  clear(): void {
    const { readyDelayMs, stuckForever, unreadyForever } = this.faults;
    const stuck = [...this.faults.stuck].filter((key) => !stuckForever.has(key));
    this.faults = { ...ModelCluster.noFaults(), readyDelayMs, stuckForever, unreadyForever };
    for (const key of stuck) if (this.pods.get(key)?.deleting) this.remove(key);
    // Readiness flaps and lost nodes are faults too: a well cluster's running pods are ready, and
    // its kubelet runs every pending pod (one made by someone else included) within its delay.
    for (const key of this.pods.keys()) {
      this.recover(key);
      const pod = this.pods.get(key);
      if (pod?.phase === 'Pending' && !pod.deleting) this.clock.setTimeout(() => this.kubelet(key), readyDelayMs);
    }
  }

  /** counter is the cluster's revision counter, whatever resourceVersions look like. */
  get counter(): number {
    return this.rv;
  }

  get resourceVersion(): string {
    return this.version(this.rv);
  }

  fact(key: string): PodFact {
    const pod = this.pods.get(key);
    if (pod === undefined) return { exists: false, resourceVersion: this.version(this.rv) };
    return {
      exists: true,
      uid: pod.uid,
      resourceVersion: this.version(pod.rv),
      phase: pod.phase,
      ready: pod.ready,
      deleting: pod.deleting,
      reason: pod.reason,
      exitCode: pod.exitCode,
    };
  }

  /** list is what a relist would report for these servers, absences included. */
  list(keys: Iterable<string>): ModelChange[] {
    return [...keys].map((key) => ({ key, fact: this.fact(key) }));
  }

  async create(key: string, signal: AbortSignal): Promise<PodFact> {
    this.enter();
    return this.late(signal, () => this.createNow(key, signal));
  }

  private async createNow(key: string, signal: AbortSignal): Promise<PodFact> {
    const existing = this.pods.get(key);
    if (existing?.deleting === true) throw new PodApiError(`pod for ${key} is still terminating`, { code: 409, reason: 'AlreadyExists' });
    if (existing !== undefined && (existing.phase === 'Failed' || existing.phase === 'Succeeded')) {
      // As KubePodClient does: an ended pod is never adopted; it is deleted and the start tries again.
      this.terminate(key, 0);
      throw new PodApiError(`pod for ${key} had ended; it was deleted for a fresh one`, { code: 409, reason: 'AlreadyExists' });
    }
    if (existing === undefined) {
      this.pods.set(key, { uid: `${this.uidPrefix}-${++this.uids}`, rv: 0, phase: 'Pending', ready: false, deleting: false });
      this.changed(key);
      this.clock.setTimeout(() => this.kubelet(key), this.faults.readyDelayMs);
    }
    const answer = this.fact(key);
    await this.latency(signal);
    return answer;
  }

  async read(key: string, signal: AbortSignal): Promise<PodFact> {
    this.enter();
    const pod = this.pods.get(key);
    const answer: PodFact = pod === undefined ? { exists: false } : this.fact(key);
    await this.latency(signal);
    return answer;
  }

  async delete(key: string, options: { force: boolean }, signal: AbortSignal): Promise<PodFact> {
    this.enter();
    return this.late(signal, () => this.deleteNow(key, options, signal));
  }

  private async deleteNow(key: string, options: { force: boolean }, signal: AbortSignal): Promise<PodFact> {
    const pod = this.pods.get(key);
    if (pod !== undefined) this.terminate(key, options.force ? 0 : this.graceMs);
    // As the API server does, an immediate deletion answers the pod as deleted, at the deletion's
    // revision: the same resourceVersion its watch's DELETED event carries.
    const answer: PodFact = this.pods.has(key) ? this.fact(key) : pod === undefined ? { exists: false } : this.deletedAnswer(pod);
    await this.latency(signal);
    return answer;
  }

  private deletedAnswer(pod: ModelPod): PodFact {
    return {
      exists: true,
      uid: pod.uid,
      resourceVersion: this.version(this.rv),
      phase: pod.phase,
      ready: false,
      deleting: true,
      reason: pod.reason,
      exitCode: pod.exitCode,
    };
  }

  /** recreate deletes a server's pod and creates another under the same name with a new uid (kubectl replace, a controller). */
  recreate(key: string, options: { ready?: boolean } = {}): void {
    const old = this.pods.get(key);
    if (old !== undefined) this.remove(key);
    this.pods.set(key, {
      uid: `${this.uidPrefix}-${++this.uids}`,
      rv: 0,
      phase: options.ready === false ? 'Pending' : 'Running',
      ready: options.ready !== false,
      deleting: false,
    });
    this.changed(key);
  }

  /** unready makes a running pod lose readiness (a failing probe), or its node (phase Unknown). */
  unready(key: string, how: 'notReady' | 'nodeLost'): void {
    const pod = this.pods.get(key);
    if (pod === undefined || pod.deleting || (pod.phase !== 'Running' && pod.phase !== 'Unknown')) return;
    Object.assign(pod, { ready: false, phase: how === 'nodeLost' ? 'Unknown' : 'Running' });
    this.changed(key);
  }

  /** recover makes an unready running pod ready again (the probe passes, the node returns). */
  recover(key: string): void {
    const pod = this.pods.get(key);
    if (pod === undefined || pod.deleting || (pod.phase !== 'Running' && pod.phase !== 'Unknown') || pod.ready) return;
    Object.assign(pod, { ready: !this.faults.unreadyForever.has(key), phase: 'Running' });
    this.changed(key);
  }

  /**
   * regress starts a new cluster epoch: the resourceVersion counter goes back (etcd restored from a
   * snapshot without a revision bump, or a rebuilt cluster); with `lose`, pods are lost with it.
   */
  regress(to: number, options: { lose?: boolean } = {}): void {
    if (options.lose === true) this.pods.clear();
    this.rv = Math.min(this.rv, to);
    for (const pod of this.pods.values()) pod.rv = Math.min(pod.rv, this.rv);
  }

  /** vanish deletes a pod behind the hub's back (kubectl, eviction). */
  vanish(key: string): void {
    if (this.pods.has(key)) this.remove(key);
  }

  /** crash makes a pod fail after it started (OOMKilled, evicted …). */
  crash(key: string, reason: string): void {
    const pod = this.pods.get(key);
    if (pod === undefined || pod.deleting) return;
    Object.assign(pod, { phase: 'Failed', ready: false, reason, exitCode: 137 });
    this.changed(key);
  }

  /** heal clears a starting pod's waiting reason and lets it become ready (a passing image-pull error). */
  heal(key: string): void {
    const pod = this.pods.get(key);
    this.faults.failOnStart.delete(key);
    if (pod === undefined || pod.deleting || pod.phase !== 'Pending') return;
    Object.assign(pod, { phase: 'Running', ready: !this.faults.unreadyForever.has(key), reason: undefined });
    this.changed(key);
  }

  private terminate(key: string, graceMs: number): void {
    const pod = this.pods.get(key);
    if (pod === undefined) return;
    const unstarted = pod.phase !== 'Running';
    if (!this.held(key) && (graceMs === 0 || unstarted)) {
      this.remove(key);
      return;
    }
    if (!pod.deleting) {
      Object.assign(pod, { deleting: true, ready: false });
      this.changed(key);
    }
    const uid = pod.uid;
    this.clock.setTimeout(() => {
      if (this.pods.get(key)?.uid === uid && !this.held(key)) this.remove(key);
    }, graceMs);
  }

  private held(key: string): boolean {
    return this.faults.stuck.has(key) || this.faults.stuckForever.has(key);
  }

  private kubelet(key: string): void {
    const pod = this.pods.get(key);
    if (pod === undefined || pod.deleting || pod.phase !== 'Pending') return;
    const reason = this.faults.failOnStart.get(key);
    if (reason !== undefined) Object.assign(pod, { reason });
    else Object.assign(pod, { phase: 'Running', ready: !this.faults.unreadyForever.has(key) });
    this.changed(key);
  }

  private remove(key: string): void {
    const pod = this.pods.get(key);
    this.pods.delete(key);
    this.rv++;
    this.changes.push({ key, fact: { exists: false, uid: pod?.uid, resourceVersion: this.version(this.rv) } });
  }

  private changed(key: string): void {
    const pod = this.pods.get(key);
    if (pod === undefined) return;
    pod.rv = ++this.rv;
    this.changes.push({ key, fact: this.fact(key) });
  }

  private enter(): void {
    this.calls++;
    if (this.faults.down) throw new PodApiError('connect ECONNREFUSED 127.0.0.1:6443');
    if (this.faults.failNext > 0) {
      this.faults.failNext--;
      throw new PodApiError('Internal Server Error', { code: 500, reason: 'InternalError' });
    }
  }

  /** landedLate counts writes that took effect after their caller had given up on them. */
  landedLate = 0;

  /** late holds a write back for `lateMs`; an abort answers the caller at once, and the write still lands after. */
  private late(signal: AbortSignal, write: () => Promise<PodFact>): Promise<PodFact> {
    const ms = this.faults.lateMs;
    if (ms <= 0) return write();
    signal.throwIfAborted();
    return new Promise((resolve, reject) => {
      this.clock.setTimeout(() => {
        if (signal.aborted) this.landedLate++;
        void write().then(resolve, reject); // after an abort, settling again changes nothing
      }, ms);
      signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true });
    });
  }

  private latency(signal: AbortSignal): Promise<void> {
    const ms = this.faults.latencyMs;
    if (ms <= 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const handle = this.clock.setTimeout(resolve, ms);
      signal.addEventListener(
        'abort',
        () => {
          this.clock.clearTimeout(handle);
          reject(signal.reason as Error);
        },
        { once: true },
      );
    });
  }
}
