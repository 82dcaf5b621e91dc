import { CoordinationV1Api, V1MicroTime } from '@kubernetes/client-node';
import type { V1Lease } from '@kubernetes/client-node';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Simulator } from '../../src/sim/index.js';
import { startSimulator } from '../../src/sim/index.js';
import { kubeConfig, leases, raw, recordWatch, statusOf, waitFor } from './sim-helpers.js';

const NS = 'default';

function leaseBody(name: string, holder: string, transitions = 0): V1Lease {
  const now = new V1MicroTime(Date.now());
  return {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { name },
    spec: { holderIdentity: holder, leaseDurationSeconds: 15, acquireTime: now, renewTime: now, leaseTransitions: transitions },
  };
}

async function rejection(call: Promise<unknown>): Promise<ReturnType<typeof statusOf>> {
  try {
    await call;
  } catch (err) {
    return statusOf(err);
  }
  throw new Error('the call succeeded');
}

describe('simulated API server: coordination.k8s.io/v1 Leases through @kubernetes/client-node', () => {
  let sim: Simulator;
  let api: CoordinationV1Api;
  beforeEach(async () => {
    sim = await startSimulator({ seed: 11 });
    api = kubeConfig(sim.url).makeApiClient(CoordinationV1Api);
  });
  afterEach(async () => {
    await sim.close();
  });

  it('creates, reads and lists a Lease with a uid, a cluster-wide resourceVersion and microsecond times', async () => {
    const created = await api.createNamespacedLease({ namespace: NS, body: leaseBody('spawnkeeper-hub', 'a') });
    expect(created.metadata?.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(Number(created.metadata?.resourceVersion)).toBeGreaterThan(1000);
    const read = await api.readNamespacedLease({ name: 'spawnkeeper-hub', namespace: NS });
    expect(read.spec?.holderIdentity).toBe('a');
    expect(String(read.spec?.renewTime)).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/);
    const list = await api.listNamespacedLease({ namespace: NS });
    expect(list.items.map((l) => l.metadata?.name)).toEqual(['spawnkeeper-hub']);
    expect(list.metadata?.resourceVersion).toBe(created.metadata?.resourceVersion);
    expect(leases(sim, NS)[0]?.spec.holderIdentity).toBe('a');
  });

  it('answers 409 AlreadyExists to a second create and 404 NotFound for a missing Lease', async () => {
    await api.createNamespacedLease({ namespace: NS, body: leaseBody('l', 'a') });
    const dup = await rejection(api.createNamespacedLease({ namespace: NS, body: leaseBody('l', 'b') }));
    expect(dup).toMatchObject({ code: 409, reason: 'AlreadyExists', details: { name: 'l', group: 'coordination.k8s.io', kind: 'leases' } });
    const missing = await rejection(api.readNamespacedLease({ name: 'nope', namespace: NS }));
    expect(missing).toMatchObject({ code: 404, reason: 'NotFound', message: 'leases.coordination.k8s.io "nope" not found' });
    expect(leases(sim, NS)[0]?.spec.holderIdentity).toBe('a');
  });

  it('updates with the current resourceVersion and refuses a stale one with 409 Conflict, changing nothing', async () => {
    const first = await api.createNamespacedLease({ namespace: NS, body: leaseBody('l', 'a') });
    const renewed = await api.replaceNamespacedLease({
      name: 'l',
      namespace: NS,
      body: { ...leaseBody('l', 'a'), metadata: { name: 'l', resourceVersion: first.metadata?.resourceVersion } },
    });
    expect(Number(renewed.metadata?.resourceVersion)).toBeGreaterThan(Number(first.metadata?.resourceVersion));
    expect(renewed.metadata?.uid).toBe(first.metadata?.uid);
    // A second writer still holding the first version loses: the optimistic lock of leader election.
    const stale = await rejection(
      api.replaceNamespacedLease({
        name: 'l',
        namespace: NS,
        body: { ...leaseBody('l', 'b', 1), metadata: { name: 'l', resourceVersion: first.metadata?.resourceVersion } },
      }),
    );
    expect(stale).toMatchObject({ code: 409, reason: 'Conflict' });
    expect(stale.message).toContain('the object has been modified');
    expect(leases(sim, NS)[0]).toMatchObject({
      metadata: { resourceVersion: renewed.metadata?.resourceVersion },
      spec: { holderIdentity: 'a', leaseTransitions: 0 },
    });
    const wrongUid = await rejection(
      api.replaceNamespacedLease({
        name: 'l',
        namespace: NS,
        body: { ...leaseBody('l', 'b'), metadata: { name: 'l', uid: '00000000-0000-4000-8000-000000000000' } },
      }),
    );
    expect(wrongUid).toMatchObject({ code: 409, reason: 'Conflict' });
    const absent = await rejection(api.replaceNamespacedLease({ name: 'other', namespace: NS, body: leaseBody('other', 'a') }));
    expect(absent).toMatchObject({ code: 404 });
  });

  it('streams Lease changes to a watch, at the versions the writes returned', async () => {
    const watch = await recordWatch(sim.url, `/apis/coordination.k8s.io/v1/namespaces/${NS}/leases`, { resourceVersion: '0' });
    try {
      const created = await api.createNamespacedLease({ namespace: NS, body: leaseBody('w', 'a') });
      const updated = await api.replaceNamespacedLease({
        name: 'w',
        namespace: NS,
        body: { ...leaseBody('w', 'b', 1), metadata: { name: 'w', resourceVersion: created.metadata?.resourceVersion } },
      });
      await waitFor('two lease events', () => (watch.events.length >= 2 ? true : undefined));
      expect(watch.events.map((e) => [e.type, e.object.metadata?.resourceVersion, e.object['kind']])).toEqual([
        ['ADDED', created.metadata?.resourceVersion, 'Lease'],
        ['MODIFIED', updated.metadata?.resourceVersion, 'Lease'],
      ]);
    } finally {
      watch.abort();
    }
  });

  it('rejects bad Leases with the API server’s 400 and 422 answers and stores nothing', async () => {
    const base = `${sim.url}/apis/coordination.k8s.io/v1/namespaces/${NS}/leases`;
    const millis = await raw(
      base,
      'POST',
      JSON.stringify({ kind: 'Lease', metadata: { name: 'x' }, spec: { renewTime: new Date().toISOString() } }),
    );
    expect(millis.status).toBe(400);
    const negative = await raw(
      base,
      'POST',
      JSON.stringify({ kind: 'Lease', metadata: { name: 'x' }, spec: { leaseDurationSeconds: 0, leaseTransitions: -1 } }),
    );
    expect(negative.status).toBe(422);
    expect(JSON.stringify(negative.json['details'])).toContain('spec.leaseDurationSeconds');
    expect(JSON.stringify(negative.json['details'])).toContain('spec.leaseTransitions');
    const badName = await raw(base, 'POST', JSON.stringify({ kind: 'Lease', metadata: { name: 'Not_A_Name' }, spec: {} }));
    expect(badName.status).toBe(422);
    const otherNs = await raw(base, 'POST', JSON.stringify({ kind: 'Lease', metadata: { name: 'x', namespace: 'elsewhere' }, spec: {} }));
    expect(otherNs.status).toBe(400);
    expect(leases(sim)).toEqual([]);
    await api.createNamespacedLease({ namespace: NS, body: leaseBody('x', 'a') });
    const renamed = await raw(`${base}/x`, 'PUT', JSON.stringify({ kind: 'Lease', metadata: { name: 'y' }, spec: {} }));
    expect(renamed.status).toBe(400);
    expect(leases(sim).map((l) => l.metadata.name)).toEqual(['x']);
  });

  it('lists the coordination group in discovery and deletes a Lease with a Success Status', async () => {
    const groups = await raw(`${sim.url}/apis`, 'GET');
    expect(JSON.stringify(groups.json)).toContain('coordination.k8s.io/v1');
    const resources = await raw(`${sim.url}/apis/coordination.k8s.io/v1`, 'GET');
    expect(JSON.stringify(resources.json)).toContain('"name":"leases"');
    await api.createNamespacedLease({ namespace: NS, body: leaseBody('gone', 'a') });
    const deleted = await raw(`${sim.url}/apis/coordination.k8s.io/v1/namespaces/${NS}/leases/gone`, 'DELETE');
    expect(deleted.json).toMatchObject({ kind: 'Status', status: 'Success', details: { name: 'gone' } });
    expect(leases(sim)).toEqual([]);
  });

  it('applies injected faults to lease calls as to pod calls', async () => {
    sim.faults.failNext(1, { status: 503, verbs: ['update'] });
    const lease = await api.createNamespacedLease({ namespace: NS, body: leaseBody('f', 'a') });
    const failed = await rejection(
      api.replaceNamespacedLease({
        name: 'f',
        namespace: NS,
        body: { ...leaseBody('f', 'a'), metadata: { name: 'f', resourceVersion: lease.metadata?.resourceVersion } },
      }),
    );
    expect(failed).toMatchObject({ code: 503 });
    expect(leases(sim)[0]?.metadata.resourceVersion).toBe(lease.metadata?.resourceVersion);
  });
});
