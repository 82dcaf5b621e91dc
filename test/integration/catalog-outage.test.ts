import { afterEach, describe, expect, it } from 'vitest';
import { Live, eventually, liveBound } from '../support/live.js';

// Failure catalog scenario 2, and the 2017 mybinder incident itself (docs/failure-catalog.md).
let live: Live | undefined;
afterEach(async () => {
  await live?.close();
  live = undefined;
});

describe('failure catalog: API outages', () => {
  it('2. an API server refusing connections: no pending operation stays pending, and health says unhealthy until it returns', async () => {
    live = await Live.start();
    await live.sk.start('vic');
    await live.settled('vic');
    await live.sim.faults.refuseConnections();
    await live.sk.start('wen'); // its create cannot reach the API
    await eventually('the reflector to report unhealthy', () => !live!.sk.health().healthy);
    // Timeouts verify, fail to read, clean up and settle: nothing waits for the API for ever.
    const wen = await live.until('wen', '', (s) => s.stable, liveBound() + 2_000);
    expect(wen.state).toBe('failed');
    expect(live.sk.get('vic')?.state).toBe('running');
    await live.sim.faults.acceptConnections();
    await eventually('the reflector to be healthy again', () => live!.sk.health().healthy);
    expect((await live.settled('vic')).state).toBe('running');
    await live.sk.start('wen');
    expect((await live.settled('wen')).state).toBe('running');
  });

  it('seed incident: the API refuses connections for a long while as servers start and stop; everything settles and agrees once it is back, with no restart of the hub', async () => {
    live = await Live.start();
    const users = ['u0', 'u1', 'u2', 'u3', 'u4', 'u5'];
    for (const u of users.slice(0, 3)) await live.sk.start(u);
    for (const u of users.slice(0, 3)) await live.settled(u);
    const outage = live.sim.faults.refuseConnections(3_000);
    await outage;
    // During the outage: starts and stops are accepted (acknowledged after commit) and never refused as "pending".
    for (const u of users.slice(3)) expect((await live.sk.start(u)).pending).toBe('spawn');
    for (const u of users.slice(0, 3)) expect((await live.sk.stop(u)).pending).toBe('stop');
    const again = await live.sk.stop('u0'); // the culler asks again: still fine
    expect(again.pending).toBe('stop');
    await eventually('the reflector to report unhealthy', () => !live!.sk.health().healthy, 3_000);
    await eventually('the API to come back', () => !live!.sim.faults.isRefusing(), 5_000);
    for (const u of users) {
      const s = await live.settled(u, '', 2 * liveBound());
      expect(s.stable).toBe(true);
    }
    for (const u of users.slice(0, 3)) expect(live.sk.get(u)?.state).toBe('stopped');
    for (const u of users.slice(3)) {
      // A start whose every deadline passed inside the outage failed cleanly; start it again now.
      if (live.sk.get(u)?.state !== 'running') await live.sk.start(u);
      expect((await live.settled(u)).state).toBe('running');
    }
    await eventually('health to recover', () => live!.sk.health().healthy);
    expect(live.sk.replayCheck().every((r) => r.ok)).toBe(true);
  });
});
