import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PodEventFeed } from '../../src/hub/api/pod-event-feed.js';
import type { KubeEventObject } from '../../src/hub/api/pod-events.js';
import type { TestHub } from './hub-helpers.js';
import { ADMIN, startTestHub, waitFor } from './hub-helpers.js';

const api = '/hub/api';

describe('the shared pod events feed', () => {
  let hub: TestHub;
  beforeAll(async () => {
    hub = await startTestHub({ slowSpawnTimeout: 0.05 });
    for (const u of ['feed-a', 'feed-b']) {
      expect((await hub.call('POST', `${api}/users/${u}`)).status).toBe(201);
      expect([201, 202]).toContain((await hub.call('POST', `${api}/users/${u}/server`)).status);
      await hub.running.sk.waitFor(u, '', (s) => s.state === 'running', 10_000);
    }
  });
  afterAll(() => hub.close());

  it('gives a late subscriber the Events its pod already had, keeps pods apart, and watches only while someone listens', async () => {
    const sim = hub.running.sim!;
    const feed = new PodEventFeed({ kc: hub.running.cluster, namespace: 'default' });
    const baseline = sim.cluster.openWatches();
    try {
      const a: KubeEventObject[] = [];
      const offA = feed.subscribe('jupyter-feed-a', (e) => a.push(e));
      expect(feed.watching).toBe(true);
      await waitFor('feed-a events', () => (a.some((e) => e.reason === 'Started') ? true : undefined));
      const b: KubeEventObject[] = [];
      const offB = feed.subscribe('jupyter-feed-b', (e) => b.push(e));
      await waitFor('feed-b events', () => (b.some((e) => e.reason === 'Started') ? true : undefined));
      const late: KubeEventObject[] = [];
      const offLate = feed.subscribe('jupyter-feed-a', (e) => late.push(e));
      expect(late.map((e) => e.metadata?.uid)).toEqual(a.map((e) => e.metadata?.uid)); // at once, from memory
      expect(a.every((e) => e.involvedObject?.name === 'jupyter-feed-a')).toBe(true);
      expect(b.every((e) => e.involvedObject?.name === 'jupyter-feed-b')).toBe(true);
      expect(sim.cluster.openWatches() - baseline).toBe(1);
      offA();
      offB();
      expect(feed.watching).toBe(true);
      offLate();
      expect(feed.watching).toBe(false);
      await waitFor('the watch to close', () => (sim.cluster.openWatches() === baseline ? true : undefined));
    } finally {
      feed.close();
    }
  });

  it('ends a progress stream when its token is revoked', async () => {
    expect((await hub.call('POST', `${api}/users/feed-c`)).status).toBe(201);
    const minted = await hub.call('POST', `${api}/users/feed-c/tokens`, { body: { scopes: ['read:servers!user'] } });
    const { token, id } = minted.json as { token: string; id: string };
    hub.running.sim!.kubelet.setDelays({ readyMs: 60_000 });
    try {
      expect((await hub.call('POST', `${api}/users/feed-c/server`, { token: ADMIN })).status).toBe(202);
      const res = await fetch(`${hub.url}${api}/users/feed-c/server/progress`, { headers: { Authorization: `token ${token}` } });
      expect(res.status).toBe(200);
      const body = res.text();
      expect((await hub.call('DELETE', `${api}/users/feed-c/tokens/${id}`)).status).toBe(204);
      const text = await Promise.race([
        body,
        new Promise<string>((_, reject) => setTimeout(() => reject(new Error('the stream did not end')), 4_000)),
      ]);
      expect(text).toContain('Server requested');
      expect(hub.running.sk.get('feed-c')?.state).toBe('spawn_pending');
    } finally {
      hub.running.sim!.kubelet.setDelays({ readyMs: 5 });
    }
  });
});
