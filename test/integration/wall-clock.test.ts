import { describe, expect, it } from 'vitest';
import { longestFixedDelay } from '../../src/runtime/step.js';
import type { Harness } from '../support/harness.js';
import { harnessPerTest, TEST_DELAYS } from '../support/harness.js';

// Wall-clock steps (NTP, a resumed VM, an operator) while the hub runs and while it is down.
// Timers wait on monotonic time; wall-clock due times only re-arm after a restart.

let h: Harness;
harnessPerTest((harness) => (h = harness));

const START_TIMEOUT = 'xstate.after.startTimeout.server.spawn_pending';
const HOUR = 3_600_000;

function eventTypes(key: string): string[] {
  return h.store.events(key).map((e) => e.type);
}

/** spawnStuck starts a server whose pod will not be ready before its start timeout, and lets the create land. */
async function spawnStuck(key: string): Promise<void> {
  h.cluster.faults.readyDelayMs = 10 * TEST_DELAYS.startTimeout;
  await h.runtime.send(key, { type: 'server.start' });
  await h.settle();
}

function deadline(key: string, id: string): number | undefined {
  return h.runtime.deadlines(key).find((d) => d.id === id)?.dueAt;
}

describe('wall-clock steps', () => {
  it('a wall-clock step back while spawning delays no timer: the spawn still times out at its own delay', async () => {
    await spawnStuck('ann/');
    h.clock.stepWall(-HOUR);
    await h.advance(TEST_DELAYS.startTimeout - 1);
    expect(eventTypes('ann/')).not.toContain(START_TIMEOUT);
    await h.advance(1);
    expect(eventTypes('ann/')).toContain(START_TIMEOUT);
    await h.advance(TEST_DELAYS.stopTimeout);
    expect(h.runtime.get('ann/')?.state).toBe('failed');
  });

  it('a wall-clock step forward of minutes times out no healthy spawn and deletes no pod', async () => {
    h.cluster.faults.readyDelayMs = TEST_DELAYS.startTimeout / 2;
    await h.runtime.send('ben/', { type: 'server.start' });
    await h.settle();
    h.clock.stepWall(+15 * 60_000);
    await h.advance(TEST_DELAYS.startTimeout / 2 + TEST_DELAYS.pollInterval + TEST_DELAYS.requestTimeout);
    expect(h.runtime.get('ben/')?.state).toBe('running.ready');
    expect(eventTypes('ben/')).not.toContain(START_TIMEOUT);
    expect(h.cluster.pods.get('ben/')?.ready).toBe(true);
  });

  it('after a restart with the wall clock stepped back, every timer is due no later than now plus its own delay', async () => {
    await spawnStuck('cat/');
    h.crash();
    h.clock.stepWall(-HOUR); // while the hub is down: the stored due times now look an hour away
    h.open();
    const now = h.clock.now();
    expect(deadline('cat/', START_TIMEOUT)).toBe(now + TEST_DELAYS.startTimeout);
    for (const d of h.runtime.deadlines('cat/')) expect(d.dueAt).toBeLessThanOrEqual(now + TEST_DELAYS.startTimeout);
    await h.advance(TEST_DELAYS.startTimeout);
    expect(eventTypes('cat/')).toContain(START_TIMEOUT);
  });

  it('after a restart with the wall clock stepped forward past a deadline, the overdue timer fires at once', async () => {
    await spawnStuck('dot/');
    h.crash();
    h.clock.stepWall(+HOUR);
    h.open();
    expect(h.runtime.overdueTimers()).toBeGreaterThan(0);
    await h.advance(0);
    expect(eventTypes('dot/')).toContain(START_TIMEOUT);
  });

  it("a timer row stored without its delay is bounded at restart by the machine's longest fixed delay", async () => {
    await spawnStuck('eve/');
    h.crash();
    h.open();
    // As an entry from before the delay column: no delay, no checksum.
    h.db
      .prepare(
        "UPDATE servers SET timers = (SELECT json_group_array(json_array(j.value->>0, j.value->>1, NULL, j.value->>3, NULL)) FROM json_each(servers.timers) j) WHERE timers != '[]'",
      )
      .run();
    h.crash();
    h.clock.stepWall(-HOUR);
    h.open();
    const bound = h.clock.now() + longestFixedDelay(h.machine);
    expect(bound).toBe(h.clock.now() + TEST_DELAYS.startTimeout);
    expect(h.runtime.deadlines('eve/').length).toBeGreaterThan(0);
    for (const d of h.runtime.deadlines('eve/')) expect(d.dueAt).toBeLessThanOrEqual(bound);
  });

  it('a restored timer whose checksum covers its delay is refused when the delay is changed', async () => {
    await spawnStuck('fay/');
    h.crash();
    h.open();
    h.db
      .prepare(
        "UPDATE servers SET timers = (SELECT json_group_array(json_array(j.value->>0, j.value->>1, (j.value->>2) + 1, j.value->>3, j.value->>4)) FROM json_each(servers.timers) j) WHERE timers != '[]'",
      )
      .run();
    expect(() => h.reopen()).toThrow(/timer .* is damaged/);
  });
});
