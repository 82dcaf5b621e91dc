import type { PodFact } from '../../machines/pod-fact.js';
import type { Clock } from '../../src/runtime/clock.js';
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
  /** failOnStart: pods of these servers never become ready but show this waiting reason. */
  failOnStart: Map<string, string>;
  /** readyDelayMs: how long the kubelet takes from create to ready. */
  readyDelayMs: number;
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
  private rv = 100;
  private uids = 0;
  private readonly graceMs: number;
  calls = 0;

  constructor(
    private readonly clock: Clock,
    options: { graceMs?: number; readyDelayMs?: number } = {},
  ) {
    this.graceMs = options.graceMs ?? 2_000;
    this.faults.readyDelayMs = options.readyDelayMs ?? 3_000;
  }

  static noFaults(): ModelFaults {
    return { down: false, latencyMs: 0, failNext: 0, stuck: new Set(), stuckForever: new Set(), failOnStart: new Map(), readyDelayMs: 3_000 };
  }

  /** clear ends every fault; pods held by a finalizer finish terminating. */
  clear(): void {
    const { readyDelayMs, stuckForever } = this.faults;
    const stuck = [...this.faults.stuck].filter((key) => !stuckForever.has(key));
    this.faults = { ...ModelCluster.noFaults(), readyDelayMs, stuckForever };
    for (const key of stuck) if (this.pods.get(key)?.deleting) this.remove(key);
  }

  get resourceVersion(): string {
    return String(this.rv);
  }

  fact(key: string): PodFact {
    const pod = this.pods.get(key);
    if (pod === undefined) return { exists: false, resourceVersion: String(this.rv) };
    return {
      exists: true,
      uid: pod.uid,
      resourceVersion: String(pod.rv),
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
    const existing = this.pods.get(key);
    if (existing?.deleting === true) throw new PodApiError(`pod for ${key} is still terminating`, { code: 409, reason: 'AlreadyExists' });
    if (existing === undefined) {
      this.pods.set(key, { uid: `uid-${++this.uids}`, rv: 0, phase: 'Pending', ready: false, deleting: false });
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
    const pod = this.pods.get(key);
    if (pod !== undefined) this.terminate(key, options.force ? 0 : this.graceMs);
    const answer: PodFact = this.pods.has(key) ? this.fact(key) : { exists: false };
    await this.latency(signal);
    return answer;
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
    Object.assign(pod, { phase: 'Running', ready: true, reason: undefined });
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
    else Object.assign(pod, { phase: 'Running', ready: true });
    this.changed(key);
  }

  private remove(key: string): void {
    this.pods.delete(key);
    this.rv++;
    this.changes.push({ key, fact: { exists: false, resourceVersion: String(this.rv) } });
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

/**
 * LateCalls is the model cluster as an API server that takes calls late: with `lateMs` > 0, a create
 * or delete takes effect `lateMs` after it was made, whether or not its caller gave up meanwhile (the
 * request had reached the server), while the call itself honours its AbortSignal: it fails at the
 * abort, as a client whose request timed out sees it. With `lateMs` 0 every call goes straight through.
 */
export class LateCalls implements PodClient {
  lateMs = 0;
  /** landedLate counts calls that took effect after their caller had given up. */
  landedLate = 0;

  constructor(
    readonly cluster: ModelCluster,
    private readonly clock: Clock,
  ) {}

  create(key: string, signal: AbortSignal): Promise<PodFact> {
    return this.late(signal, (never) => this.cluster.create(key, never));
  }

  read(key: string, signal: AbortSignal): Promise<PodFact> {
    return this.cluster.read(key, signal);
  }

  delete(key: string, options: { force: boolean }, signal: AbortSignal): Promise<PodFact> {
    return this.late(signal, (never) => this.cluster.delete(key, options, never));
  }

  private late(signal: AbortSignal, call: (never: AbortSignal) => Promise<PodFact>): Promise<PodFact> {
    if (this.lateMs <= 0) return call(signal);
    signal.throwIfAborted();
    return new Promise((resolve, reject) => {
      const onAbort = () => reject(signal.reason as Error);
      signal.addEventListener('abort', onAbort, { once: true });
      this.clock.setTimeout(() => {
        if (signal.aborted) this.landedLate++;
        signal.removeEventListener('abort', onAbort);
        call(new AbortController().signal).then(resolve, reject); // after an abort, settling again changes nothing
      }, this.lateMs);
    });
  }
}
