import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/sim/index.js';
import { coreApi, podBody, raw, recordWatch, simulatorPerTest, statusOf, waitFor } from './sim-helpers.js';

const PODS = '/api/v1/namespaces/default/pods';
const idle = { scheduleMs: 60_000 };

/**
 * firstLines opens a GET and returns its first `n` lines (or all of a plain answer), then hangs up:
 * enough to tell a watch stream from a list without waiting for the watch to end.
 */
async function firstLines(url: string, n: number): Promise<{ status: number; lines: Record<string, unknown>[] }> {
  const controller = new AbortController();
  const res = await fetch(url, { signal: controller.signal });
  const reader = res.body?.getReader();
  let text = '';
  const decoder = new TextDecoder();
  for (;;) {
    const chunk = await reader?.read();
    if (chunk === undefined || chunk.done) break;
    text += decoder.decode(chunk.value, { stream: true });
    if (text.split('\n').filter((l) => l.trim() !== '').length >= n && text.endsWith('\n')) break;
  }
  controller.abort();
  const lines = text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  return { status: res.status, lines: lines.slice(0, n) };
}

describe('simulated API server: the wire as kube-apiserver speaks it', () => {
  const start = simulatorPerTest({ seed: 15, kubelet: idle });

  it('reads boolean parameters as the API server does: only absent, 0 and false in any letter case are false', async () => {
    const s = await start();
    await coreApi(s.url).createNamespacedPod({ namespace: 'default', body: podBody('p1') });
    for (const value of ['true', 'True', 'TRUE', '1', 't', 'yes', '']) {
      const { status, lines } = await firstLines(`${s.url}${PODS}?watch=${value}`, 1);
      expect([value, status, lines[0]?.['type']]).toEqual([value, 200, 'ADDED']);
    }
    for (const value of ['false', 'False', 'FALSE', '0']) {
      const { lines } = await firstLines(`${s.url}${PODS}?watch=${value}`, 1);
      expect([value, lines[0]?.['kind']]).toEqual([value, 'PodList']);
    }
    const bare = await firstLines(`${s.url}${PODS}?watch`, 1);
    expect(bare.lines[0]?.['type']).toBe('ADDED');
  });

  it('sends bookmarks to a watch that allows them with any true spelling, and none when it says False', async () => {
    const s = await start({ bookmarkIntervalMs: 20 });
    const rv = s.cluster.resourceVersion();
    const on = await firstLines(`${s.url}${PODS}?watch=1&resourceVersion=${rv}&allowWatchBookmarks=True`, 1);
    expect(on.lines[0]).toMatchObject({
      type: 'BOOKMARK',
      object: { kind: 'Pod', apiVersion: 'v1', metadata: { resourceVersion: String(rv) } },
    });
    const w = await recordWatch(s.url, PODS, { resourceVersion: String(rv), allowWatchBookmarks: 'False' });
    await new Promise((r) => setTimeout(r, 100));
    w.abort();
    expect(w.events).toEqual([]);
  });

  it('answers a watch from resourceVersion 1 on a fresh cluster with one ERROR event carrying a 410 Expired Status', async () => {
    const s = await start();
    const w = await recordWatch(s.url, PODS, { resourceVersion: '1' });
    expect(await w.ended).toBeNull();
    expect(w.events).toEqual([
      { type: 'ERROR', object: expect.objectContaining({ kind: 'Status', status: 'Failure', reason: 'Expired', code: 410 }) },
    ]);
    expect(w.events[0]?.object['message']).toBe(`too old resource version: 1 (${s.cluster.oldestResourceVersion()})`);
  });

  it('keeps a bounded window of changes: a watch resumes inside it and gets 410 once the version falls out', async () => {
    const s = await start({ historyLimit: 3 });
    const api = coreApi(s.url);
    const first = await api.createNamespacedPod({ namespace: 'default', body: podBody('a') });
    await api.createNamespacedPod({ namespace: 'default', body: podBody('b') });
    const inside = await recordWatch(s.url, PODS, { resourceVersion: first.metadata?.resourceVersion ?? '' });
    await waitFor('b', () => inside.events[0]);
    inside.abort();
    expect(inside.events.map((e) => [e.type, e.object.metadata?.name])).toEqual([['ADDED', 'b']]);
    for (const name of ['c', 'd', 'e']) await api.createNamespacedPod({ namespace: 'default', body: podBody(name) });
    const outside = await recordWatch(s.url, PODS, { resourceVersion: first.metadata?.resourceVersion ?? '' });
    await outside.ended;
    expect(outside.events.map((e) => [e.type, e.object['code']])).toEqual([['ERROR', 410]]);
  });

  it('lists at an exact version inside the window, and answers 410 for one the window lost', async () => {
    const s = await start({ historyLimit: 3 });
    const api = coreApi(s.url);
    const a = await api.createNamespacedPod({ namespace: 'default', body: podBody('a') });
    await api.createNamespacedPod({ namespace: 'default', body: podBody('b') });
    const atA = await api.listNamespacedPod({
      namespace: 'default',
      resourceVersion: a.metadata?.resourceVersion ?? '',
      resourceVersionMatch: 'Exact',
    });
    expect(atA.metadata?.resourceVersion).toBe(a.metadata?.resourceVersion);
    expect(atA.items.map((p) => p.metadata?.name)).toEqual(['a']);
    for (const name of ['c', 'd', 'e']) await api.createNamespacedPod({ namespace: 'default', body: podBody(name) });
    const err = await api
      .listNamespacedPod({ namespace: 'default', resourceVersion: a.metadata?.resourceVersion ?? '', resourceVersionMatch: 'Exact' })
      .catch((e: unknown) => e);
    expect(statusOf(err)).toMatchObject({ code: 410, reason: 'Expired', message: 'The resourceVersion for the provided list is too old.' });
  });

  it('lists NotOlderThan a version with the latest state, and a paged list without a match at exactly that version', async () => {
    const s = await start();
    const api = coreApi(s.url);
    const a = await api.createNamespacedPod({ namespace: 'default', body: podBody('a') });
    await api.createNamespacedPod({ namespace: 'default', body: podBody('b') });
    const rv = a.metadata?.resourceVersion ?? '';
    const latest = await api.listNamespacedPod({ namespace: 'default', resourceVersion: rv, resourceVersionMatch: 'NotOlderThan' });
    expect(latest.metadata?.resourceVersion).toBe(String(s.cluster.resourceVersion()));
    expect(latest.items).toHaveLength(2);
    const legacy = await api.listNamespacedPod({ namespace: 'default', resourceVersion: rv });
    expect(legacy.items).toHaveLength(2);
    const paged = await api.listNamespacedPod({ namespace: 'default', resourceVersion: rv, limit: 5 });
    expect([paged.metadata?.resourceVersion, paged.items.length]).toEqual([rv, 1]);
    const any = await api.listNamespacedPod({ namespace: 'default', resourceVersion: '0', limit: 1 });
    expect([any.items.length, typeof any.metadata?._continue]).toEqual([1, 'string']);
    const next = await api.listNamespacedPod({
      namespace: 'default',
      resourceVersion: '0',
      limit: 1,
      _continue: any.metadata?._continue ?? '',
    });
    expect(next.items.map((p) => p.metadata?.name)).toEqual(['b']);
    const mixed = await raw(`${s.url}${PODS}?limit=1&continue=${any.metadata?._continue ?? ''}&resourceVersion=${rv}`, 'GET');
    expect([mixed.status, mixed.json['message']]).toEqual([400, 'specifying resource version is not allowed when using continue']);
  });

  it('waits for a version the server has not reached: answers once it is written, else 504 Too large resource version after 3 s', async () => {
    const clock = new ManualClock();
    const s = await start({ clock });
    const ahead = s.cluster.resourceVersion() + 1;
    const waiting = raw(`${s.url}${PODS}?resourceVersion=${ahead}&resourceVersionMatch=NotOlderThan`, 'GET');
    await new Promise((r) => setTimeout(r, 50));
    await coreApi(s.url).createNamespacedPod({ namespace: 'default', body: podBody('a') });
    const answered = await waiting;
    expect([answered.status, (answered.json['metadata'] as { resourceVersion: string }).resourceVersion]).toEqual([200, String(ahead)]);

    const far = s.cluster.resourceVersion() + 100;
    const timingOut = raw(`${s.url}${PODS}?resourceVersion=${far}&resourceVersionMatch=Exact`, 'GET');
    await new Promise((r) => setTimeout(r, 50));
    clock.advance(2_999);
    clock.advance(1);
    const late = await timingOut;
    expect(late.status).toBe(504);
    expect(late.json).toMatchObject({
      kind: 'Status',
      reason: 'Timeout',
      code: 504,
      message: `Timeout: Too large resource version: ${far}, current: ${s.cluster.resourceVersion()}`,
      details: { causes: [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }], retryAfterSeconds: 1 },
    });
  });

  it('answers forbidden combinations of list options with 422 Invalid ListOptions, naming the field', async () => {
    const s = await start();
    const cases: [string, string][] = [
      [
        'resourceVersionMatch=Exact',
        'resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided',
      ],
      [
        'resourceVersion=0&resourceVersionMatch=Exact',
        'resourceVersionMatch: Forbidden: resourceVersionMatch "exact" is forbidden for resourceVersion "0"',
      ],
      [
        'resourceVersion=5&resourceVersionMatch=Newest',
        'resourceVersionMatch: Unsupported value: "Newest": supported values: "Exact", "NotOlderThan", ""',
      ],
      ['sendInitialEvents=true', 'sendInitialEvents: Forbidden: sendInitialEvents is forbidden for list'],
      [
        'watch=1&resourceVersionMatch=NotOlderThan',
        'resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided',
      ],
      [
        'watch=1&sendInitialEvents=true',
        'resourceVersionMatch: Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan',
      ],
    ];
    for (const [query, message] of cases) {
      const res = await raw(`${s.url}${PODS}?${query}`, 'GET');
      expect([query, res.status, res.json['reason'], res.json['message']]).toEqual([
        query,
        422,
        'Invalid',
        `ListOptions.meta.k8s.io "" is invalid: ${message}`,
      ]);
      expect(res.json['details']).toMatchObject({ group: 'meta.k8s.io', kind: 'ListOptions', name: '' });
    }
  });

  it('streams the initial state, then a bookmark annotated k8s.io/initial-events-end at its version, then changes (sendInitialEvents)', async () => {
    const s = await start();
    const api = coreApi(s.url);
    await api.createNamespacedPod({ namespace: 'default', body: podBody('a') });
    await api.createNamespacedPod({ namespace: 'default', body: podBody('b', { app: 'other' }) });
    const rv = String(s.cluster.resourceVersion());
    const w = await recordWatch(s.url, PODS, {
      sendInitialEvents: true,
      resourceVersionMatch: 'NotOlderThan',
      allowWatchBookmarks: true,
      labelSelector: 'app=sim-test',
    });
    await api.createNamespacedPod({ namespace: 'default', body: podBody('c') });
    await waitFor('c', () => w.events.find((e) => e.object.metadata?.name === 'c'));
    w.abort();
    expect(w.events.map((e) => [e.type, e.object.metadata?.name ?? e.object.metadata?.resourceVersion])).toEqual([
      ['ADDED', 'a'],
      ['BOOKMARK', rv],
      ['ADDED', 'c'],
    ]);
    expect(w.events[1]?.object).toEqual({
      kind: 'Pod',
      apiVersion: 'v1',
      metadata: { resourceVersion: rv, annotations: { 'k8s.io/initial-events-end': 'true' } },
    });
  });

  it('sends no initial state when sendInitialEvents is false, and no end bookmark unless bookmarks are allowed', async () => {
    const s = await start();
    const api = coreApi(s.url);
    await api.createNamespacedPod({ namespace: 'default', body: podBody('a') });
    const off = await recordWatch(s.url, PODS, { sendInitialEvents: false, resourceVersionMatch: 'NotOlderThan' });
    const noMark = await recordWatch(s.url, PODS, { sendInitialEvents: true, resourceVersionMatch: 'NotOlderThan' });
    await api.createNamespacedPod({ namespace: 'default', body: podBody('b') });
    await waitFor('b twice', () => (off.events.length > 0 && noMark.events.length > 1 ? true : undefined));
    off.abort();
    noMark.abort();
    expect(off.events.map((e) => [e.type, e.object.metadata?.name])).toEqual([['ADDED', 'b']]);
    expect(noMark.events.map((e) => [e.type, e.object.metadata?.name])).toEqual([
      ['ADDED', 'a'],
      ['ADDED', 'b'],
    ]);
  });

  it('sends a watch from a version ahead of the server only the changes after that version', async () => {
    const s = await start();
    const api = coreApi(s.url);
    const ahead = s.cluster.resourceVersion() + 1;
    const w = await recordWatch(s.url, PODS, { resourceVersion: String(ahead) });
    await api.createNamespacedPod({ namespace: 'default', body: podBody('a') });
    await api.createNamespacedPod({ namespace: 'default', body: podBody('b') });
    await waitFor('b', () => w.events.find((e) => e.object.metadata?.name === 'b'));
    w.abort();
    expect(w.events.map((e) => e.object.metadata?.name)).toEqual(['b']);
  });
});
