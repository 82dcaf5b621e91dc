import type { V1PersistentVolumeClaim, V1Secret, V1Service } from '@kubernetes/client-node';
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import type { KindSpec } from '../../src/sim/index.js';
import { coreApi, raw, recordWatch, simulatorPerTest, statusOf, waitFor } from './sim-helpers.js';

const NS = 'default';
const MERGE = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

function claim(name: string, storage = '1Gi', labels: Record<string, string> = { app: 'hub' }): V1PersistentVolumeClaim {
  return { metadata: { name, labels }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage } } } };
}

function service(name: string, extra: Partial<V1Service['spec']> = {}): V1Service {
  return {
    metadata: { name, labels: { app: 'hub' } },
    spec: { selector: { app: 'hub' }, ports: [{ port: 80, targetPort: 8888 }], ...extra },
  };
}

describe('simulated API server: Secrets, PersistentVolumeClaims and Services', () => {
  const start = simulatorPerTest({ seed: 16 });

  it('creates, reads, lists by selector and deletes a Secret; stringData is folded into base64 data', async () => {
    const api = coreApi((await start()).url);
    const made = await api.createNamespacedSecret({
      namespace: NS,
      body: {
        metadata: { name: 's1', labels: { app: 'hub' } },
        stringData: { token: 'abc' },
        data: { ca: Buffer.from('x').toString('base64') },
      },
    });
    expect(made).toMatchObject({ kind: 'Secret', type: 'Opaque', data: { token: Buffer.from('abc').toString('base64'), ca: 'eA==' } });
    expect(made).not.toHaveProperty('stringData');
    await api.createNamespacedSecret({ namespace: NS, body: { metadata: { name: 's2', labels: { app: 'other' } } } });
    expect((await api.readNamespacedSecret({ namespace: NS, name: 's1' })).metadata?.uid).toBe(made.metadata?.uid);
    const picked = await api.listNamespacedSecret({ namespace: NS, labelSelector: 'app=hub' });
    expect(picked.items.map((s) => s.metadata?.name)).toEqual(['s1']);
    const byType = await api.listNamespacedSecret({ namespace: NS, fieldSelector: 'type=Opaque' });
    expect(byType.items).toHaveLength(2);
    const gone = await api.deleteNamespacedSecret({ namespace: NS, name: 's1' });
    expect(gone).toMatchObject({ kind: 'Status', status: 'Success', details: { name: 's1', kind: 'secrets', uid: made.metadata?.uid } });
    const err = await api.readNamespacedSecret({ namespace: NS, name: 's1' }).catch((e: unknown) => e);
    expect(statusOf(err)).toMatchObject({
      code: 404,
      reason: 'NotFound',
      message: 'secrets "s1" not found',
      details: { name: 's1', kind: 'secrets' },
    });
  });

  it('answers a duplicate with 409, an invalid Secret with 422 naming each field, and bad base64 with 400', async () => {
    const s = await start();
    const api = coreApi(s.url);
    await api.createNamespacedSecret({ namespace: NS, body: { metadata: { name: 's1' } } });
    const dup = await api.createNamespacedSecret({ namespace: NS, body: { metadata: { name: 's1' } } }).catch((e: unknown) => e);
    expect(statusOf(dup)).toMatchObject({ code: 409, reason: 'AlreadyExists', details: { name: 's1', kind: 'secrets' } });
    const bad = await api
      .createNamespacedSecret({
        namespace: NS,
        body: { metadata: { name: 'tls' }, type: 'kubernetes.io/tls', stringData: { 'bad key': 'x' } },
      })
      .catch((e: unknown) => e);
    const status = statusOf(bad);
    expect(status).toMatchObject({ code: 422, reason: 'Invalid', details: { name: 'tls', kind: 'Secret' } });
    expect((status.details?.['causes'] as { field: string }[]).map((c) => c.field)).toEqual([
      'data[bad key]',
      'data[tls.crt]',
      'data[tls.key]',
    ]);
    const base64 = await raw(
      `${s.url}/api/v1/namespaces/${NS}/secrets`,
      'POST',
      JSON.stringify({ metadata: { name: 'b' }, data: { a: 'not base64!' } }),
    );
    expect([base64.status, base64.json['reason']]).toEqual([400, 'BadRequest']);
    expect(s.objects('secrets').map((o) => o.metadata.name)).toEqual(['s1']);
  });

  it('binds a claim at once, keeps its spec immutable but for a larger request, and returns the deleted claim', async () => {
    const s = await start();
    const api = coreApi(s.url);
    const made = await api.createNamespacedPersistentVolumeClaim({ namespace: NS, body: claim('home-ada') });
    expect(made).toMatchObject({
      spec: { storageClassName: 'standard', volumeMode: 'Filesystem', volumeName: `pvc-${made.metadata?.uid}` },
      status: { phase: 'Bound', capacity: { storage: '1Gi' } },
    });
    const grown = await api.patchNamespacedPersistentVolumeClaim(
      { namespace: NS, name: 'home-ada', body: { spec: { resources: { requests: { storage: '2Gi' } } } } },
      MERGE,
    );
    expect(grown.spec?.resources?.requests?.['storage']).toBe('2Gi');
    const shrink = await api
      .patchNamespacedPersistentVolumeClaim(
        { namespace: NS, name: 'home-ada', body: { spec: { resources: { requests: { storage: '1Gi' } } } } },
        MERGE,
      )
      .catch((e: unknown) => e);
    expect(statusOf(shrink)).toMatchObject({ code: 422, reason: 'Invalid' });
    const noModes = await api
      .createNamespacedPersistentVolumeClaim({
        namespace: NS,
        body: { metadata: { name: 'x' }, spec: { resources: { requests: { storage: '0' } } } },
      })
      .catch((e: unknown) => e);
    expect(statusOf(noModes).message).toBe(
      'PersistentVolumeClaim "x" is invalid: spec.accessModes: Required value: at least 1 access mode is required, spec.resources[storage]: Invalid value: "0": must be greater than zero',
    );
    const removed = await api.deleteNamespacedPersistentVolumeClaim({ namespace: NS, name: 'home-ada' });
    expect(removed).toMatchObject({ kind: 'PersistentVolumeClaim', metadata: { name: 'home-ada', deletionTimestamp: expect.any(Date) } });
    expect(s.objects('persistentvolumeclaims')).toEqual([]);
  });

  it('allocates distinct cluster IPs and node ports, keeps them across an update, and refuses a taken IP', async () => {
    const s = await start();
    const api = coreApi(s.url);
    const a = await api.createNamespacedService({ namespace: NS, body: service('hub') });
    const b = await api.createNamespacedService({ namespace: NS, body: service('proxy', { type: 'NodePort' }) });
    expect(a.spec).toMatchObject({
      type: 'ClusterIP',
      clusterIP: '10.96.0.10',
      clusterIPs: ['10.96.0.10'],
      ports: [{ port: 80, targetPort: 8888, protocol: 'TCP' }],
      sessionAffinity: 'None',
    });
    expect(b.spec).toMatchObject({ clusterIP: '10.96.0.11', ports: [{ nodePort: 30000 }] });
    const replaced = await api.replaceNamespacedService({
      namespace: NS,
      name: 'proxy',
      body: { ...service('proxy', { type: 'NodePort' }), metadata: { name: 'proxy', resourceVersion: b.metadata?.resourceVersion ?? '' } },
    });
    expect(replaced.spec).toMatchObject({ clusterIP: '10.96.0.11', ports: [{ nodePort: 30000 }] });
    const taken = await api
      .createNamespacedService({ namespace: NS, body: service('again', { clusterIP: '10.96.0.10' }) })
      .catch((e: unknown) => e);
    expect(statusOf(taken).message).toBe(
      'Service "again" is invalid: spec.clusterIP: Invalid value: "10.96.0.10": provided IP is already allocated',
    );
    const badName = await api.createNamespacedService({ namespace: NS, body: service('1st') }).catch((e: unknown) => e);
    expect(statusOf(badName)).toMatchObject({ code: 422, details: { causes: [{ field: 'metadata.name' }] } });
    const stale = await api
      .replaceNamespacedService({
        namespace: NS,
        name: 'proxy',
        body: { ...service('proxy'), metadata: { name: 'proxy', resourceVersion: b.metadata?.resourceVersion ?? '' } },
      })
      .catch((e: unknown) => e);
    expect(statusOf(stale)).toMatchObject({ code: 409, reason: 'Conflict' });
  });

  it('watches these kinds like pods: ADDED, MODIFIED, DELETED with the last state, and 410 for an ancient version', async () => {
    const s = await start();
    const api = coreApi(s.url);
    const w = await recordWatch(s.url, `/api/v1/namespaces/${NS}/services`, { resourceVersion: String(s.cluster.resourceVersion()) });
    await api.createNamespacedService({ namespace: NS, body: service('hub') });
    await api.patchNamespacedService({ namespace: NS, name: 'hub', body: { metadata: { labels: { tier: 'front' } } } }, MERGE);
    await api.deleteNamespacedService({ namespace: NS, name: 'hub' });
    await waitFor('three events', () => (w.events.length >= 3 ? true : undefined));
    w.abort();
    expect(w.events.map((e) => e.type)).toEqual(['ADDED', 'MODIFIED', 'DELETED']);
    expect((w.events[2]?.object.metadata as Record<string, unknown>)['labels']).toEqual({ app: 'hub', tier: 'front' });
    const old = await recordWatch(s.url, `/api/v1/namespaces/${NS}/secrets`, { resourceVersion: '1' });
    await old.ended;
    expect(old.events.map((e) => [e.type, e.object['code']])).toEqual([['ERROR', 410]]);
  });

  it('applies the JSON patches client-node sends by default, and answers a failed test operation with 422 and no change', async () => {
    const s = await start();
    const api = coreApi(s.url);
    await api.createNamespacedSecret({ namespace: NS, body: { metadata: { name: 's1', labels: { a: '1' } }, stringData: { k: 'v' } } });
    const patched = await api.patchNamespacedSecret({
      namespace: NS,
      name: 's1',
      body: [
        { op: 'add', path: '/metadata/labels/b', value: '2' },
        { op: 'remove', path: '/data/k' },
      ],
    });
    expect([patched.metadata?.labels, patched.data]).toEqual([{ a: '1', b: '2' }, undefined]);
    const failed = await api
      .patchNamespacedSecret({
        namespace: NS,
        name: 's1',
        body: [
          { op: 'test', path: '/metadata/labels/a', value: '9' },
          { op: 'remove', path: '/metadata/labels' },
        ],
      })
      .catch((e: unknown) => e);
    expect(statusOf(failed)).toMatchObject({ code: 422, reason: 'Invalid' });
    expect(s.objects('secrets')[0]?.metadata.labels).toEqual({ a: '1', b: '2' });
    const pod = await api.createNamespacedPod({
      namespace: NS,
      body: { metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image: 'busybox:1' }] } },
    });
    const labelled = await api.patchNamespacedPod({
      namespace: NS,
      name: 'p',
      body: [{ op: 'add', path: '/metadata/labels', value: { x: 'y' } }],
    });
    expect([labelled.metadata?.labels, labelled.metadata?.uid]).toEqual([{ x: 'y' }, pod.metadata?.uid]);
  });

  it('holds an object with a finalizer after its delete until an update removes the finalizer', async () => {
    const s = await start();
    const api = coreApi(s.url);
    await api.createNamespacedSecret({ namespace: NS, body: { metadata: { name: 'held', finalizers: ['example.com/keep'] } } });
    await api.deleteNamespacedSecret({ namespace: NS, name: 'held' });
    const held = await api.readNamespacedSecret({ namespace: NS, name: 'held' });
    expect(held.metadata?.deletionTimestamp).toBeInstanceOf(Date);
    const adding = await api
      .replaceNamespacedSecret({
        namespace: NS,
        name: 'held',
        body: { metadata: { name: 'held', finalizers: ['example.com/keep', 'example.com/more'] } },
      })
      .catch((e: unknown) => e);
    expect(statusOf(adding)).toMatchObject({ code: 422 });
    await api.replaceNamespacedSecret({ namespace: NS, name: 'held', body: { metadata: { name: 'held', finalizers: [] } } as V1Secret });
    expect(s.objects('secrets')).toEqual([]);
  });

  it('serves a kind added as one row of the kinds table under its API group, with discovery', async () => {
    const widgets: KindSpec = {
      group: 'example.com',
      version: 'v1',
      resource: 'widgets',
      kind: 'Widget',
      singular: 'widget',
      fieldLabels: [],
      verbs: ['create', 'get', 'list', 'watch', 'delete'],
      returnDeletedObject: false,
      validate: (body, metadata, _ctx, causes) => {
        if (typeof body['size'] !== 'number') causes.push({ field: 'size', message: 'Required value' });
        return { apiVersion: 'example.com/v1', kind: 'Widget', metadata, size: body['size'] };
      },
    };
    const s = await start({ kinds: [widgets] });
    const base = `${s.url}/apis/example.com/v1/namespaces/${NS}/widgets`;
    expect((await raw(base, 'POST', JSON.stringify({ metadata: { name: 'w1' }, size: 3 }))).status).toBe(201);
    expect((await raw(base, 'POST', JSON.stringify({ metadata: { name: 'w2' } }))).json).toMatchObject({
      code: 422,
      message: 'Widget.example.com "w2" is invalid: size: Required value',
    });
    expect((await raw(`${base}/w9`, 'GET')).json).toMatchObject({
      code: 404,
      message: 'widgets.example.com "w9" not found',
      details: { group: 'example.com', kind: 'widgets' },
    });
    expect((await raw(`${base}/w1`, 'PUT', '{}')).status).toBe(405);
    expect((await raw(base, 'GET')).json).toMatchObject({
      kind: 'WidgetList',
      apiVersion: 'example.com/v1',
      items: [{ metadata: { name: 'w1' }, size: 3 }],
    });
    expect((await raw(`${s.url}/apis`, 'GET')).json).toMatchObject({
      groups: expect.arrayContaining([
        expect.objectContaining({ name: 'example.com', preferredVersion: { groupVersion: 'example.com/v1', version: 'v1' } }),
      ]) as unknown,
    });
    expect((await raw(`${s.url}/apis/example.com/v1`, 'GET')).json).toMatchObject({
      groupVersion: 'example.com/v1',
      resources: [{ name: 'widgets', kind: 'Widget' }],
    });
  });
});
