import { makeInformer } from '@kubernetes/client-node';
import type { V1Pod } from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import type { Simulator, SimulatorOptions } from '../../src/sim/index.js';
import { ManualClock, startSimulator } from '../../src/sim/index.js';
import type { WatchEvent } from './sim-helpers.js';
import { coreApi, kubeConfig, podBody, recordWatch, waitFor } from './sim-helpers.js';

const PODS = '/api/v1/namespaces/default/pods';
const fast = { scheduleMs: 5, createMs: 5, readyMs: 5, stopMs: 5 };

describe('simulated API server: watches', () => {
  let sim: Simulator | undefined;
  const start = async (options: SimulatorOptions = {}): Promise<Simulator> => {
    sim = await startSimulator({ seed: 3, kubelet: fast, ...options });
    return sim;
  };
  afterEach(async () => {
    await sim?.close();
    sim = undefined;
  });

  it('streams a pod lifecycle from a list resourceVersion in order, each event a newer version', async () => {
    const s = await start();
    const api = coreApi(s.url);
    const list = await api.listNamespacedPod({ namespace: 'default' });
    const w = await recordWatch(s.url, PODS, { resourceVersion: list.metadata?.resourceVersion ?? '' });
    await api.createNamespacedPod({ namespace: 'default', body: podBody('p1') });
    await waitFor('ready pod event', () => w.events.find((e) => (e.object as V1Pod).status?.phase === 'Running'));
    w.abort();
    const pods = w.events.map((e) => ({ type: e.type, pod: e.object as V1Pod }));
    expect(pods.map((e) => e.type)).toEqual(['ADDED', 'MODIFIED', 'MODIFIED', 'MODIFIED']);
    expect(pods[0]?.pod.spec?.nodeName).toBeUndefined();
    expect(pods[1]?.pod.spec?.nodeName).toBe('sim-node-1');
    expect(pods[1]?.pod.status?.conditions).toContainEqual(expect.objectContaining({ type: 'PodScheduled', status: 'True' }));
    expect(pods[2]?.pod.status?.containerStatuses?.[0]?.state?.waiting?.reason).toBe('ContainerCreating');
    expect(pods[3]?.pod.status?.conditions).toContainEqual(expect.objectContaining({ type: 'Ready', status: 'True' }));
    const versions = pods.map((e) => Number(e.pod.metadata?.resourceVersion));
    expect([...versions].sort((a, b) => a - b)).toEqual(versions);
    expect(new Set(versions).size).toBe(versions.length);
  });

  it('starts a watch without a resourceVersion with a synthetic ADDED for every current pod', async () => {
    const s = await start();
    const api = coreApi(s.url);
    await api.createNamespacedPod({ namespace: 'default', body: podBody('a') });
    await api.createNamespacedPod({ namespace: 'default', body: podBody('b') });
    for (const rv of [undefined, '0']) {
      const w = await recordWatch(s.url, PODS, rv === undefined ? {} : { resourceVersion: rv });
      await waitFor('two ADDED', () => (w.events.length >= 2 ? true : undefined));
      w.abort();
      expect(w.events.slice(0, 2).map((e) => [e.type, e.object.metadata?.name])).toEqual([
        ['ADDED', 'a'],
        ['ADDED', 'b'],
      ]);
    }
  });

  it('resumes from a specific resourceVersion with only the changes after it', async () => {
    const s = await start({ kubelet: { scheduleMs: 60_000 } });
    const api = coreApi(s.url);
    const a = await api.createNamespacedPod({ namespace: 'default', body: podBody('a') });
    await api.createNamespacedPod({ namespace: 'default', body: podBody('b') });
    const w = await recordWatch(s.url, PODS, { resourceVersion: a.metadata?.resourceVersion ?? '' });
    await waitFor('one event', () => w.events[0]);
    w.abort();
    expect(w.events.map((e) => [e.type, e.object.metadata?.name])).toEqual([['ADDED', 'b']]);
  });

  it('answers a resourceVersion older than the history with HTTP 200, one 410 Expired ERROR, and the end', async () => {
    const s = await start({ historyLimit: 2, kubelet: { scheduleMs: 60_000 } });
    const api = coreApi(s.url);
    const first = await api.createNamespacedPod({ namespace: 'default', body: podBody('a') });
    for (const name of ['b', 'c', 'd']) await api.createNamespacedPod({ namespace: 'default', body: podBody(name) });
    const w = await recordWatch(s.url, PODS, { resourceVersion: first.metadata?.resourceVersion ?? '' });
    const err = await w.ended;
    expect(err).toBeNull();
    expect(w.events).toHaveLength(1);
    expect(w.events[0]?.type).toBe('ERROR');
    expect(w.events[0]?.object).toMatchObject({ kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'Expired', code: 410 });
    expect(String(w.events[0]?.object['message'])).toMatch(/^too old resource version: \d+ \(\d+\)$/);
  });

  it('lets makeInformer relist after its watch is answered with 410', async () => {
    const s = await start({ kubelet: { scheduleMs: 60_000 } });
    const api = coreApi(s.url);
    let lists = 0;
    const informer = makeInformer(kubeConfig(s.url), PODS, () => {
      lists += 1;
      return api.listNamespacedPod({ namespace: 'default' });
    });
    const added: string[] = [];
    informer.on('add', (pod: V1Pod) => added.push(pod.metadata?.name ?? ''));
    await api.createNamespacedPod({ namespace: 'default', body: podBody('before') });
    await informer.start();
    await waitFor('watch open', () => (s.cluster.openWatches() === 1 ? true : undefined));
    await api.createNamespacedPod({ namespace: 'default', body: podBody('after') });
    await waitFor('after seen', () => (added.includes('after') ? true : undefined));
    // A write the informer does not watch, then compaction: its last version is now too old.
    await api.createNamespacedPod({ namespace: 'kube-system', body: podBody('unwatched') });
    s.cluster.compact();
    s.faults.cutWatches({ clean: true });
    await waitFor('relist', () => (lists >= 2 ? true : undefined));
    await api.createNamespacedPod({ namespace: 'default', body: podBody('later') });
    await waitFor('later seen', () => (added.includes('later') ? true : undefined));
    await informer.stop();
    expect(lists).toBe(2);
    expect(added).toEqual(['before', 'after', 'later']);
  });

  it('sends DELETED to a watcher when a pod stops matching its selector, and ADDED when it matches again', async () => {
    const s = await start({ kubelet: { scheduleMs: 60_000 } });
    const api = coreApi(s.url);
    await api.createNamespacedPod({ namespace: 'default', body: podBody('p1', { app: 'hub' }) });
    const w = await recordWatch(s.url, PODS, { labelSelector: 'app=hub' });
    await waitFor('initial ADDED', () => w.events[0]);
    const patch = async (labels: Record<string, string | null>): Promise<void> => {
      const res = await fetch(`${s.url}${PODS}/p1`, {
        method: 'PATCH',
        headers: { 'Content-Type': 'application/merge-patch+json' },
        body: JSON.stringify({ metadata: { labels } }),
      });
      expect(res.status).toBe(200);
    };
    await patch({ app: 'elsewhere' });
    await patch({ app: 'hub' });
    await waitFor('three events', () => (w.events.length >= 3 ? true : undefined));
    w.abort();
    expect(w.events.map((e) => e.type)).toEqual(['ADDED', 'DELETED', 'ADDED']);
    expect((w.events[1]?.object as V1Pod).metadata?.labels).toEqual({ app: 'hub' });
    expect(Number(w.events[1]?.object.metadata?.resourceVersion)).toBeGreaterThan(Number(w.events[0]?.object.metadata?.resourceVersion));
  });

  it('sends BOOKMARK events only to watches that allow them', async () => {
    const s = await start({ bookmarkIntervalMs: 20 });
    const withMarks = await recordWatch(s.url, PODS, { allowWatchBookmarks: true, resourceVersion: String(s.cluster.resourceVersion()) });
    const without = await recordWatch(s.url, PODS, { resourceVersion: String(s.cluster.resourceVersion()) });
    await waitFor('a bookmark', () => withMarks.events.find((e) => e.type === 'BOOKMARK'));
    await new Promise((r) => setTimeout(r, 60));
    withMarks.abort();
    without.abort();
    expect(withMarks.events[0]).toEqual({
      type: 'BOOKMARK',
      object: { kind: 'Pod', apiVersion: 'v1', metadata: { resourceVersion: String(s.cluster.resourceVersion()) } },
    });
    expect(without.events).toEqual([]);
  });

  it('ends a watch cleanly after timeoutSeconds of simulated time', async () => {
    const clock = new ManualClock();
    const s = await start({ clock });
    const w = await recordWatch(s.url, PODS, { timeoutSeconds: 30 });
    clock.advance(29_999);
    await new Promise((r) => setTimeout(r, 30));
    expect(w.isEnded()).toBe(false);
    clock.advance(1);
    expect(await w.ended).toBeNull();
  });

  it('flushes the watch headers at once and writes one compact JSON object per line', async () => {
    const s = await start({ kubelet: { scheduleMs: 60_000 } });
    const res = await fetch(`${s.url}${PODS}?watch=true&resourceVersion=${s.cluster.resourceVersion()}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    const api = coreApi(s.url);
    await api.createNamespacedPod({ namespace: 'default', body: podBody('p1') });
    await api.deleteNamespacedPod({ name: 'p1', namespace: 'default' });
    const reader = res.body?.getReader();
    let text = '';
    while (text.split('\n').length < 3 && reader !== undefined) {
      const chunk = await reader.read();
      if (chunk.done) break;
      text += Buffer.from(chunk.value).toString('utf8');
    }
    await reader?.cancel();
    const lines = text.split('\n').filter((l) => l !== '');
    expect(lines).toHaveLength(2);
    for (const line of lines) expect(JSON.stringify(JSON.parse(line))).toBe(line);
    expect(lines.map((l) => (JSON.parse(l) as WatchEvent).type)).toEqual(['ADDED', 'DELETED']);
  });

  it('watches all namespaces on /api/v1/pods, and a namespace or one pod on the legacy /api/v1/watch paths', async () => {
    const s = await start({ namespace: 'hub', kubelet: { scheduleMs: 60_000 } });
    const api = coreApi(s.url);
    await api.createNamespacedPod({ namespace: 'hub', body: podBody('h') });
    await api.createNamespacedPod({ namespace: 'default', body: podBody('d') });
    const all = await recordWatch(s.url, '/api/v1/pods', {});
    const legacy = await recordWatch(s.url, '/api/v1/watch/namespaces/hub/pods', {});
    const single = await recordWatch(s.url, '/api/v1/watch/namespaces/default/pods/d', {});
    await api.createNamespacedPod({ namespace: 'default', body: podBody('d2') });
    await waitFor('events', () => (all.events.length >= 3 && legacy.events.length >= 1 && single.events.length >= 1 ? true : undefined));
    for (const w of [all, legacy, single]) w.abort();
    expect(all.events.map((e) => e.object.metadata?.name)).toEqual(['d', 'h', 'd2']);
    expect(legacy.events.map((e) => e.object.metadata?.name)).toEqual(['h']);
    expect(single.events.map((e) => e.object.metadata?.name)).toEqual(['d']);
  });
});
