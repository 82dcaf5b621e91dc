import { afterEach, describe, expect, it } from 'vitest';
import type { TestHub } from './hub-helpers.js';
import { startTestHub, waitFor } from './hub-helpers.js';
import { internals } from '../../src/spawnkeeper.js';

const api = '/hub/api';

let hub: TestHub | undefined;
afterEach(async () => {
  await hub?.close();
  hub = undefined;
});

/** cycle starts a user's default server, waits for it to run, stops it and waits for it to stop. */
async function cycle(h: TestHub, user: string): Promise<void> {
  expect([201, 202]).toContain((await h.call('POST', `${api}/users/${user}/server`)).status);
  await waitFor(`${user} running`, () => (h.running.sk.get(user)?.state === 'running' ? true : undefined));
  expect([202, 204]).toContain((await h.call('DELETE', `${api}/users/${user}/server`)).status);
  await waitFor(`${user} stopped`, () => (h.running.sk.get(user)?.state === 'stopped' ? true : undefined));
}

describe('retention in the hub', () => {
  it("drops a deleted user's servers once their history is older than the age, keeps a live user's last lifecycles, and tells the metrics", async () => {
    hub = await startTestHub({ historyMaxAge: 0, historyLifecycles: 1, historyRetentionInterval: 0 });
    for (const user of ['gone', 'kept']) expect((await hub.call('POST', `${api}/users/${user}`)).status).toBe(201);
    await cycle(hub, 'gone');
    await cycle(hub, 'kept');
    await cycle(hub, 'kept');
    expect([202, 204]).toContain((await hub.call('DELETE', `${api}/users/gone`)).status);
    await waitFor('gone deleted', async () => ((await hub?.call('GET', `${api}/users/gone`))?.status === 404 ? true : undefined));
    await new Promise((resolve) => setTimeout(resolve, 5)); // every event is now older than the age (0 s)

    const pass = await internals(hub.running.sk).retention.pass();
    expect(pass.droppedServers).toBe(1);
    expect(pass.checkpoints).toBeGreaterThan(0);
    expect(hub.running.sk.get('gone')).toBeUndefined();
    expect(hub.running.sk.history('gone')).toEqual([]);
    const kept = hub.running.sk.history('kept');
    expect(kept[0]?.type).toBe('history.checkpoint');
    expect(kept.filter((e) => e.type === 'server.start')).toHaveLength(1);
    expect(hub.running.sk.replayCheck().every((c) => c.ok)).toBe(true);

    const metrics = (await hub.call('GET', '/hub/metrics')).text;
    expect(metrics).toMatch(/^spawnkeeper_retention_servers_dropped_total 1$/m);
    expect(metrics).toMatch(/^spawnkeeper_servers\{state="stopped"\} 1$/m);
    expect(metrics).toMatch(/^spawnkeeper_history_checkpoints 1$/m);
    expect(metrics).toMatch(new RegExp(`^spawnkeeper_history_events ${kept.length}$`, 'm'));
    expect(Number(/^spawnkeeper_db_bytes (\d+)$/m.exec(metrics)?.[1])).toBeGreaterThan(0);

    // A user of the same name later starts afresh.
    expect((await hub.call('POST', `${api}/users/gone`)).status).toBe(201);
    await cycle(hub, 'gone');
    expect(hub.running.sk.history('gone')[0]?.seq).toBe(1);
  }, 60_000);
});
