import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PodFact } from '../machines/pod-fact.js';
import { onAbort } from '../src/core/abort.js';
import type { Runtime } from '../src/runtime/runtime.js';
import type { PodClient } from '../src/runtime/pod-client.js';
import type { EventStore, StepRecord } from '../src/store/event-store.js';

/** BenchDir is one scenario's scratch folder of real SQLite files, removed when the scenario ends. */
export interface BenchDir {
  readonly dir: string;
  file(name: string): string;
  remove(): void;
}

/** benchDir makes the scratch folder in the system temp dir, where the database files of a run live. */
export function benchDir(prefix: string): BenchDir {
  const dir = mkdtempSync(join(tmpdir(), `spawnkeeper-bench-${prefix}-`));
  return { dir, file: (name) => join(dir, name), remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** keysFor names `n` servers the way the hub does (`user/` for a default server). */
export function keysFor(n: number, prefix = 'user', from = 0): string[] {
  return Array.from({ length: n }, (_, i) => `${prefix}${from + i}/`);
}

/** turn lets queued I/O callbacks and setImmediate work run once. */
export function turn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** drained resolves once the runtime has nothing queued and every started effect has answered and committed. */
export async function drained(runtime: Runtime): Promise<void> {
  while (runtime.busy || runtime.effectsInFlight > 0) await turn();
}

interface FakePod {
  uid: string;
  rv: number;
  phase: string;
  ready: boolean;
  deleting: boolean;
}

/**
 * InstantCluster is an in-process PodClient that answers at once, so a benchmark measures the
 * runtime and SQLite, not a network; the bench scripts pod changes with `progress` and `remove`,
 * which return the fact a watch would deliver.
 */
export class InstantCluster implements PodClient {
  private readonly pods = new Map<string, FakePod>();
  private rv = 1_000;
  private uids = 0;
  /** held: creates for these servers never answer (until aborted), leaving their effect in the outbox. */
  readonly held = new Set<string>();

  create(key: string, signal: AbortSignal): Promise<PodFact> {
    if (this.held.has(key)) return new Promise((_, reject) => onAbort(signal, () => reject(signal.reason as Error)));
    let pod = this.pods.get(key);
    if (pod === undefined) {
      pod = { uid: `uid-${++this.uids}`, rv: ++this.rv, phase: 'Pending', ready: false, deleting: false };
      this.pods.set(key, pod);
    }
    return Promise.resolve(factOf(pod));
  }

  read(key: string): Promise<PodFact> {
    const pod = this.pods.get(key);
    return Promise.resolve(pod === undefined ? { exists: false } : factOf(pod));
  }

  delete(key: string): Promise<PodFact> {
    const pod = this.pods.get(key);
    if (pod === undefined) return Promise.resolve({ exists: false });
    Object.assign(pod, { deleting: true, ready: false, rv: ++this.rv });
    return Promise.resolve(factOf(pod));
  }

  /** progress moves a pod on (`running` then `ready`) and returns the watch's fact. */
  progress(key: string, to: 'running' | 'ready'): PodFact {
    const pod = this.pods.get(key);
    if (pod === undefined) return { exists: false, resourceVersion: String(++this.rv) };
    Object.assign(pod, { phase: 'Running', ready: to === 'ready', rv: ++this.rv });
    return factOf(pod);
  }

  /** touch gives a pod a newer resourceVersion without changing it, as an unrelated update would. */
  touch(key: string): PodFact {
    const pod = this.pods.get(key);
    if (pod === undefined) return { exists: false, resourceVersion: String(++this.rv) };
    pod.rv = ++this.rv;
    return factOf(pod);
  }

  /** forget drops every pod, so a memory measurement counts the runtime's heap and not this fake cluster's. */
  forget(): void {
    this.pods.clear();
  }

  /** remove finishes a deletion and returns the absence the watch reports. */
  remove(key: string): PodFact {
    this.pods.delete(key);
    return { exists: false, resourceVersion: String(++this.rv) };
  }
}

function factOf(pod: FakePod): PodFact {
  return { exists: true, uid: pod.uid, resourceVersion: String(pod.rv), phase: pod.phase, ready: pod.ready, deleting: pod.deleting };
}

/** BatchRecorder wraps the store and notes how many steps each commit carried, so a baseline can batch alike. */
export class BatchRecorder implements EventStore {
  readonly batches: number[] = [];

  constructor(private readonly inner: EventStore) {}

  loadServers: EventStore['loadServers'] = () => this.inner.loadServers();
  loadTimers: EventStore['loadTimers'] = () => this.inner.loadTimers();
  loadOutbox: EventStore['loadOutbox'] = () => this.inner.loadOutbox();
  events: EventStore['events'] = (key) => this.inner.events(key);
  orphans: EventStore['orphans'] = () => this.inner.orphans();
  removeOrphan: EventStore['removeOrphan'] = (sid, uid) => this.inner.removeOrphan(sid, uid);

  commit(records: StepRecord[]): void {
    this.inner.commit(records);
    this.batches.push(records.length);
  }
}

/** gc runs a full collection when node was started with --expose-gc, and says whether it could. */
export function gc(): boolean {
  const collect = (globalThis as { gc?: () => void }).gc;
  if (collect === undefined) return false;
  collect();
  collect();
  return true;
}

/**
 * lifecycle drives every server through start → created → running → ready → stop → deleting →
 * gone: two commands, two effect answers from the in-process cluster and three watch observations,
 * so every step touches the snapshot and most touch durable timers and the outbox.
 */
export async function lifecycle(runtime: Runtime, cluster: InstantCluster, keys: readonly string[]): Promise<void> {
  await Promise.all(keys.map((k) => runtime.send(k, { type: 'server.start' })));
  await drained(runtime);
  await Promise.all(keys.map((k) => runtime.observe(k, cluster.progress(k, 'running'))));
  await Promise.all(keys.map((k) => runtime.observe(k, cluster.progress(k, 'ready'))));
  await Promise.all(keys.map((k) => runtime.send(k, { type: 'server.stop' })));
  await drained(runtime);
  await Promise.all(keys.map((k) => runtime.observe(k, cluster.remove(k))));
}
