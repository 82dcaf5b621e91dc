import { CoreV1Api, KubeConfig, Watch } from '@kubernetes/client-node';
import type { V1Pod } from '@kubernetes/client-node';
import { afterEach, expect } from 'vitest';
import type { KubeObject, Simulator, SimulatorOptions } from '../../src/sim/index.js';
import { startSimulator } from '../../src/sim/index.js';

/** kubeConfig points an unmodified client-node at a simulator over plain HTTP. */
export function kubeConfig(url: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 't', server: url, skipTLSVerify: true }],
    users: [{ name: 't' }],
    contexts: [{ name: 't', cluster: 't', user: 't', namespace: 'default' }],
    currentContext: 't',
  });
  return kc;
}

export function coreApi(url: string): CoreV1Api {
  return kubeConfig(url).makeApiClient(CoreV1Api);
}

export function podBody(name: string, labels: Record<string, string> = { app: 'sim-test' }, extra: Partial<V1Pod['spec']> = {}): V1Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels },
    spec: { containers: [{ name: 'notebook', image: 'jupyter/base-notebook:2024.1' }], ...extra },
  };
}

/**
 * waitFor polls until `check` returns a value other than undefined; the deadline only bounds a
 * broken run, it is no claim about speed.
 */
export async function waitFor<T>(what: string, check: () => T | undefined | Promise<T | undefined>, deadlineMs = 10_000): Promise<T> {
  const end = Date.now() + deadlineMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export interface WatchEvent {
  type: string;
  object: { metadata?: { name?: string; resourceVersion?: string; deletionTimestamp?: unknown }; [k: string]: unknown };
}

/** Recorder is an open client-node watch that keeps what it received and how it ended. */
export interface Recorder {
  events: WatchEvent[];
  ended: Promise<unknown>;
  isEnded(): boolean;
  abort(): void;
}

/** recordWatch opens a real client-node Watch and records its events. */
export async function recordWatch(url: string, path: string, query: Record<string, string | number | boolean>): Promise<Recorder> {
  const events: WatchEvent[] = [];
  let ended = false;
  let finish: (err: unknown) => void = () => undefined;
  const endedPromise = new Promise<unknown>((resolve) => {
    finish = resolve;
  });
  const controller = await new Watch(kubeConfig(url)).watch(
    path,
    query,
    (type, object: WatchEvent['object']) => events.push({ type, object }),
    (err: unknown) => {
      ended = true;
      finish(err);
    },
  );
  return { events, ended: endedPromise, isEnded: () => ended, abort: () => controller.abort() };
}

/** statusOf parses the Status body of a client-node ApiException. */
export function statusOf(err: unknown): {
  code: number;
  reason: string;
  kind: string;
  status: string;
  message: string;
  details?: Record<string, unknown>;
} {
  expect(err).toHaveProperty('body');
  const body = (err as { body: unknown }).body;
  return (typeof body === 'string' ? JSON.parse(body) : body) as ReturnType<typeof statusOf>;
}

/** raw sends a request with Node's fetch, for requests client-node would never make. */
export async function raw(
  url: string,
  method: string,
  body?: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; type: string | null; json: Record<string, unknown> }> {
  const res = await fetch(url, {
    method,
    headers: { 'Content-Type': 'application/json', ...headers },
    ...(body === undefined ? {} : { body }),
  });
  const text = await res.text();
  return {
    status: res.status,
    type: res.headers.get('content-type'),
    json: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>),
  };
}

/**
 * simulatorPerTest returns a starter for one simulator per test (the test's options over the
 * defaults) and closes it after each test; call it inside a describe block.
 */
export function simulatorPerTest(defaults: SimulatorOptions): (options?: SimulatorOptions) => Promise<Simulator> {
  let sim: Simulator | undefined;
  afterEach(async () => {
    await sim?.close();
    sim = undefined;
  });
  return async (options = {}) => {
    sim = await startSimulator({ ...defaults, ...options });
    return sim;
  };
}

/** LeaseObject is a stored coordination.k8s.io/v1 Lease as the simulator keeps it. */
export type LeaseObject = KubeObject & {
  spec: { holderIdentity?: string; leaseDurationSeconds?: number; leaseTransitions?: number; renewTime?: string; acquireTime?: string };
};

/** leases returns the simulator's Leases, of one namespace or all. */
export function leases(sim: Simulator, namespace?: string): LeaseObject[] {
  return sim.objects('leases', namespace) as LeaseObject[];
}
