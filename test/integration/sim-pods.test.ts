import type { V1Pod } from '@kubernetes/client-node';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Simulator } from '../../src/sim/index.js';
import { startSimulator } from '../../src/sim/index.js';
import { coreApi, podBody, statusOf, waitFor } from './sim-helpers.js';

describe('simulated API server: pods through @kubernetes/client-node', () => {
  let sim: Simulator;
  beforeEach(async () => {
    sim = await startSimulator({ host: '127.0.0.1', seed: 7, kubelet: { scheduleMs: 5, createMs: 5, readyMs: 5 } });
  });
  afterEach(async () => {
    await sim.close();
  });

  it('listens on 127.0.0.1 only, on the port it reports', () => {
    expect(sim.url).toBe(`http://127.0.0.1:${sim.port}`);
    expect(sim.port).toBeGreaterThan(0);
  });

  it('creates a pod with uid, resourceVersion, defaults and a Pending status', async () => {
    const api = coreApi(sim.url);
    const created = await api.createNamespacedPod({ namespace: 'default', body: podBody('p1') });
    expect(created.metadata?.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(Number(created.metadata?.resourceVersion)).toBeGreaterThan(1000);
    expect(created.metadata?.creationTimestamp).toBeInstanceOf(Date);
    expect(created.spec?.terminationGracePeriodSeconds).toBe(30);
    expect(created.spec?.restartPolicy).toBe('Always');
    expect(created.status?.phase).toBe('Pending');
  });

  it('names a pod from generateName and serves it under pods/NAME/status too', async () => {
    const api = coreApi(sim.url);
    const created = await api.createNamespacedPod({
      namespace: 'default',
      body: { ...podBody(''), metadata: { generateName: 'jupyter-' } },
    });
    const name = created.metadata?.name ?? '';
    expect(name).toMatch(/^jupyter-[a-z0-9]{5}$/);
    const status = await api.readNamespacedPodStatus({ name, namespace: 'default' });
    expect(status.metadata?.uid).toBe(created.metadata?.uid);
  });

  it('reads back a created pod and answers 404 NotFound for a missing one', async () => {
    const api = coreApi(sim.url);
    await api.createNamespacedPod({ namespace: 'default', body: podBody('p1') });
    const read = await api.readNamespacedPod({ name: 'p1', namespace: 'default' });
    expect(read.metadata?.name).toBe('p1');
    const err: unknown = await api.readNamespacedPod({ name: 'nope', namespace: 'default' }).catch((e: unknown) => e);
    expect(err).toHaveProperty('code', 404);
    expect(statusOf(err)).toMatchObject({
      kind: 'Status',
      status: 'Failure',
      reason: 'NotFound',
      code: 404,
      details: { name: 'nope', kind: 'pods' },
    });
  });

  it('answers a duplicate create with 409 AlreadyExists', async () => {
    const api = coreApi(sim.url);
    await api.createNamespacedPod({ namespace: 'default', body: podBody('p1') });
    const err: unknown = await api.createNamespacedPod({ namespace: 'default', body: podBody('p1') }).catch((e: unknown) => e);
    expect(err).toHaveProperty('code', 409);
    expect(statusOf(err)).toMatchObject({ reason: 'AlreadyExists', code: 409, details: { name: 'p1', kind: 'pods' } });
  });

  it('brings a pod to Running and ready with a pod IP', async () => {
    const api = coreApi(sim.url);
    await api.createNamespacedPod({ namespace: 'default', body: podBody('p1') });
    const pod = await waitFor('running pod', async () => {
      const p = await api.readNamespacedPod({ name: 'p1', namespace: 'default' });
      return p.status?.phase === 'Running' ? p : undefined;
    });
    expect(pod.spec?.nodeName).toBe('sim-node-1');
    expect(pod.status?.podIP).toMatch(/^10\.244\./);
    const conditions = Object.fromEntries((pod.status?.conditions ?? []).map((c) => [c.type, c.status]));
    expect(conditions).toMatchObject({ PodScheduled: 'True', Initialized: 'True', ContainersReady: 'True', Ready: 'True' });
    expect(pod.status?.containerStatuses?.[0]).toMatchObject({ name: 'notebook', ready: true, started: true });
    expect(pod.status?.containerStatuses?.[0]?.state?.running?.startedAt).toBeInstanceOf(Date);
  });

  it('lists pods by equality, inequality, set and existence selectors', async () => {
    const api = coreApi(sim.url);
    await api.createNamespacedPod({ namespace: 'default', body: podBody('a', { app: 'hub', tier: 'user' }) });
    await api.createNamespacedPod({ namespace: 'default', body: podBody('b', { app: 'hub' }) });
    await api.createNamespacedPod({ namespace: 'default', body: podBody('c', { app: 'other', tier: 'user' }) });
    const names = async (labelSelector: string): Promise<string[]> =>
      (await api.listNamespacedPod({ namespace: 'default', labelSelector })).items.map((p: V1Pod) => p.metadata?.name ?? '');
    expect(await names('app=hub')).toEqual(['a', 'b']);
    expect(await names('app!=hub')).toEqual(['c']);
    expect(await names('app in (hub,other),tier')).toEqual(['a', 'c']);
    expect(await names('app notin (other)')).toEqual(['a', 'b']);
    expect(await names('!tier')).toEqual(['b']);
    expect(await names('')).toEqual(['a', 'b', 'c']);
  });

  it('pages a list with limit and continue from one consistent snapshot', async () => {
    const api = coreApi(sim.url);
    for (const name of ['p1', 'p2', 'p3', 'p4', 'p5']) await api.createNamespacedPod({ namespace: 'default', body: podBody(name) });
    const first = await api.listNamespacedPod({ namespace: 'default', limit: 2 });
    expect(first.items.map((p) => p.metadata?.name)).toEqual(['p1', 'p2']);
    expect(first.metadata?._continue).toBeTruthy();
    expect(first.metadata?.remainingItemCount).toBe(3);
    await api.createNamespacedPod({ namespace: 'default', body: podBody('p6') });
    await api.deleteNamespacedPod({ name: 'p5', namespace: 'default', gracePeriodSeconds: 0 });
    const second = await api.listNamespacedPod({ namespace: 'default', limit: 2, _continue: first.metadata?._continue ?? '' });
    const third = await api.listNamespacedPod({ namespace: 'default', limit: 2, _continue: second.metadata?._continue ?? '' });
    expect([...second.items, ...third.items].map((p) => p.metadata?.name)).toEqual(['p3', 'p4', 'p5']);
    expect(third.metadata?._continue).toBeUndefined();
    expect(second.metadata?.resourceVersion).toBe(first.metadata?.resourceVersion);
  });

  it('answers a continue token older than the history with 410 Expired', async () => {
    const api = coreApi(sim.url);
    for (const name of ['p1', 'p2', 'p3']) await api.createNamespacedPod({ namespace: 'default', body: podBody(name) });
    const first = await api.listNamespacedPod({ namespace: 'default', limit: 1 });
    await api.createNamespacedPod({ namespace: 'default', body: podBody('p4') });
    sim.cluster.compact();
    const err: unknown = await api
      .listNamespacedPod({ namespace: 'default', limit: 1, _continue: first.metadata?._continue ?? '' })
      .catch((e: unknown) => e);
    expect(err).toHaveProperty('code', 410);
    expect(statusOf(err)).toMatchObject({ reason: 'Expired', code: 410 });
  });

  it('bumps one cluster-wide resourceVersion on every write and reports it on lists', async () => {
    sim.kubelet.setDelays({ scheduleMs: 60_000 });
    const api = coreApi(sim.url);
    const before = sim.cluster.resourceVersion();
    const a = await api.createNamespacedPod({ namespace: 'default', body: podBody('a') });
    const b = await api.createNamespacedPod({ namespace: 'default', body: podBody('b') });
    expect(Number(a.metadata?.resourceVersion)).toBeGreaterThan(before);
    expect(Number(b.metadata?.resourceVersion)).toBeGreaterThan(Number(a.metadata?.resourceVersion));
    const list = await api.listNamespacedPod({ namespace: 'default' });
    expect(Number(list.metadata?.resourceVersion)).toBe(sim.cluster.resourceVersion());
  });

  it('gives pods the same uids under the same seed', async () => {
    const other = await startSimulator({ seed: 7, kubelet: { scheduleMs: 60_000 } });
    try {
      const uids = async (url: string): Promise<string[]> => {
        const api = coreApi(url);
        const out: string[] = [];
        for (const name of ['a', 'b'])
          out.push((await api.createNamespacedPod({ namespace: 'default', body: podBody(name) })).metadata?.uid ?? '');
        return out;
      };
      expect(await uids(sim.url)).toEqual(await uids(other.url));
    } finally {
      await other.close();
    }
  });

  it('answers discovery for /api, /apis and /api/v1', async () => {
    const get = async (path: string): Promise<Record<string, unknown>> =>
      (await fetch(sim.url + path)).json() as Promise<Record<string, unknown>>;
    expect(await get('/api')).toMatchObject({ kind: 'APIVersions', versions: ['v1'] });
    expect(await get('/apis')).toMatchObject({ kind: 'APIGroupList', groups: [expect.objectContaining({ name: 'coordination.k8s.io' })] });
    const core = await get('/api/v1');
    expect(core).toMatchObject({ kind: 'APIResourceList', groupVersion: 'v1' });
    expect(core['resources']).toContainEqual(
      expect.objectContaining({
        name: 'pods',
        namespaced: true,
        shortNames: ['po'],
        verbs: expect.arrayContaining(['list', 'watch', 'create', 'delete']) as unknown,
      }),
    );
  });

  it('creates in a namespace only if it exists', async () => {
    const api = coreApi(sim.url);
    const err: unknown = await api.createNamespacedPod({ namespace: 'elsewhere', body: podBody('p1') }).catch((e: unknown) => e);
    expect(statusOf(err)).toMatchObject({ reason: 'NotFound', code: 404, details: { kind: 'namespaces', name: 'elsewhere' } });
    sim.cluster.addNamespace('elsewhere');
    const pod = await api.createNamespacedPod({ namespace: 'elsewhere', body: podBody('p1') });
    expect(pod.metadata?.namespace).toBe('elsewhere');
  });

  it('patches labels with a merge patch and refuses to patch the spec', async () => {
    const api = coreApi(sim.url);
    await api.createNamespacedPod({ namespace: 'default', body: podBody('p1', { app: 'hub' }) });
    const res = await fetch(`${sim.url}/api/v1/namespaces/default/pods/p1`, {
      method: 'PATCH',
      headers: { 'Content-Type': 'application/merge-patch+json' },
      body: JSON.stringify({ metadata: { labels: { app: null, owner: 'me' } } }),
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as V1Pod).metadata?.labels).toEqual({ owner: 'me' });
    const bad = await fetch(`${sim.url}/api/v1/namespaces/default/pods/p1`, {
      method: 'PATCH',
      headers: { 'Content-Type': 'application/merge-patch+json' },
      body: JSON.stringify({ spec: { nodeName: 'x' } }),
    });
    expect(bad.status).toBe(422);
    expect(await bad.json()).toMatchObject({ kind: 'Status', reason: 'Invalid' });
  });
});
