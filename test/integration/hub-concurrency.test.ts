import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestHub } from './hub-helpers.js';
import { startTestHub, waitFor } from './hub-helpers.js';

const api = '/hub/api';
const USERS = Array.from({ length: 50 }, (_, i) => `load${String(i).padStart(2, '0')}`);

describe('hub under concurrent load', () => {
  let hub: TestHub;
  beforeAll(async () => {
    hub = await startTestHub({ slowSpawnTimeout: 1, slowStopTimeout: 1 });
    expect((await hub.call('POST', `${api}/users`, { body: { usernames: USERS } })).status).toBe(201);
  });
  afterAll(() => hub.close());

  it('takes 200 concurrent starts and stops over 50 users without a 5xx, records every accepted one and settles every server', async () => {
    let seed = 42;
    const next = (n: number) => {
      seed = (seed * 48271) % 2147483647;
      return seed % n;
    };
    const plan = Array.from({ length: 200 }, (_, i) => ({
      user: USERS[i < 50 ? i : next(USERS.length)] ?? 'load00',
      method: i < 50 || next(2) === 0 ? 'POST' : 'DELETE',
    }));
    const replies = await Promise.all(
      plan.map(async (p) => ({ ...p, status: (await hub.call(p.method, `${api}/users/${p.user}/server`)).status })),
    );

    const statuses = new Map<number, number>();
    for (const r of replies) statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
    expect([...statuses.keys()].filter((s) => s >= 500)).toEqual([]);
    expect([...statuses.keys()].every((s) => [201, 202, 204, 400].includes(s))).toBe(true);
    expect((statuses.get(201) ?? 0) + (statuses.get(202) ?? 0)).toBeGreaterThan(0);

    // Every accepted request is a committed event in its user's history.
    for (const user of USERS) {
      const mine = replies.filter((r) => r.user === user && r.status >= 200 && r.status < 300);
      const events = hub.running.sk.history(user).map((e) => e.type);
      expect(`${user} starts ${events.filter((t) => t === 'server.start').length}`).toBe(
        `${user} starts ${mine.filter((r) => r.method === 'POST').length}`,
      );
      expect(`${user} stops ${events.filter((t) => t === 'server.stop').length}`).toBe(
        `${user} stops ${mine.filter((r) => r.method === 'DELETE').length}`,
      );
    }

    // All servers settle, and agree with the cluster.
    const settled = await waitFor(
      'all settled',
      () => {
        const all = hub.running.sk.list();
        return all.length === USERS.length && all.every((s) => s.stable) ? all : undefined;
      },
      30_000,
    );
    const pods = new Map(hub.running.sim!.pods().map((p) => [p.metadata.name, p]));
    for (const s of settled) {
      const pod = pods.get(s.podName);
      if (s.state === 'running') expect(`${s.key} pod ${pod?.status.phase}`).toBe(`${s.key} pod Running`);
      else
        await waitFor(`${s.key} pod gone`, () => (hub.running.sim!.pods().some((p) => p.metadata.name === s.podName) ? undefined : true));
    }
    expect(settled.every((s) => s.state === 'running' || s.state === 'stopped')).toBe(true);
    expect(hub.running.sk.replayCheck().filter((c) => !c.ok)).toEqual([]);
  });
});
