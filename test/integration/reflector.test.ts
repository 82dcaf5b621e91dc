import { afterEach, describe, expect, it } from 'vitest';
import type { Simulator } from '../../src/sim/index.js';
import { Live, eventually } from '../support/live.js';
import { internals } from '../../src/spawnkeeper.js';

let live: Live | undefined;
afterEach(async () => {
  await live?.close();
  live = undefined;
});

/** cacheAgrees: the reflector's cache holds exactly the simulator's pods, at their resourceVersions. */
function cacheAgrees(l: Live): boolean {
  const actual = new Map(l.sim.pods().map((p) => [p.metadata.name, p.metadata.resourceVersion]));
  const cached = new Map([...internals(l.sk).reflector.cache.values()].map((c) => [c.name, c.fact.resourceVersion]));
  return actual.size === cached.size && [...actual].every(([name, rv]) => cached.get(name) === rv);
}

const faults: Array<[string, (sim: Simulator) => Promise<unknown> | unknown]> = [
  ['dropped watch events', (sim) => sim.faults.dropWatchEvents(1)],
  ['cut watch connections', (sim) => sim.faults.cutWatches()],
  ['stalled watches', (sim) => sim.faults.stallWatches({ includeNew: true })],
  [
    '410 on every watch',
    (sim) => {
      sim.cluster.compact();
      return sim.faults.expireWatches();
    },
  ],
  ['500 on every call', (sim) => sim.faults.failCalls({ fraction: 1, status: 500 })],
  ['slow answers', (sim) => sim.faults.slowCalls({ fraction: 1, delayMs: 700 })],
  ['refused connections', (sim) => sim.faults.refuseConnections()],
];

describe('reflector', () => {
  for (const [name, inject] of faults) {
    it(`survives ${name} without a restart of the process and converges once it ends`, async () => {
      live = await Live.start();
      await live.sk.start('ada');
      await live.settled('ada');
      await inject(live.sim);
      await live.sk.start('bea');
      await live.sk.stop('ada');
      await new Promise((r) => setTimeout(r, 1_500));
      await live.sim.faults.clear();
      const bea = await live.settled('bea');
      const ada = await live.settled('ada');
      if (bea.state !== 'running') await live.sk.start('bea'); // a start that timed out inside the fault
      expect((await live.settled('bea')).state).toBe('running');
      expect(ada.state).toBe('stopped');
      await eventually('the cache to agree with the cluster', () => cacheAgrees(live!));
      await eventually('health to be healthy', () => live!.sk.health().healthy);
    });
  }

  it('reports unhealthy while the API is unreachable and healthy again after, counting its restarts', async () => {
    live = await Live.start();
    expect(live.sk.health().reflector).toMatchObject({ healthy: true, synced: true, activity: 'watching' });
    await live.sim.faults.refuseConnections();
    await eventually('unhealthy', () => !live!.sk.health().reflector.healthy);
    const sick = live.sk.health().reflector;
    expect(sick.activity).toBe('unhealthy');
    expect(sick.lastError).toMatch(/ECONNREFUSED|connect|socket|fetch/i);
    expect(sick.sinceLastSuccessMs).toBeGreaterThanOrEqual(1_000);
    await live.sim.faults.acceptConnections();
    await eventually('healthy', () => live!.sk.health().reflector.healthy);
    const well = live.sk.health().reflector;
    expect(well.restarts).toBeGreaterThanOrEqual(sick.restarts);
    expect(well.lastError).toBeNull();
  });
});
