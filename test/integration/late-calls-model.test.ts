import { describe, expect, it } from 'vitest';
import type { Harness } from '../support/harness.js';
import { harnessPerTest } from '../support/harness.js';

// Calls that take effect after their timeout (the request had reached the API server), on the
// model cluster: the machine must find what landed and end in agreement with it.

let h: Harness;
harnessPerTest((harness) => (h = harness));

/** callLate makes the model cluster take creates and deletes 4 s late (the effect timeout is 2.5 s). */
function callLate(): Harness['cluster'] {
  h.cluster.faults.lateMs = 4_000;
  return h.cluster;
}

describe('calls that land after their timeout', () => {
  it('a create that lands after its timeout is found: the spawn ends running with the one pod', async () => {
    const late = callLate();
    await h.runtime.send('ann/', { type: 'server.start' });
    await h.advance(60_000);
    expect(late.landedLate).toBeGreaterThan(0);
    expect(h.runtime.get('ann/')?.state).toBe('running.ready');
    expect([...h.cluster.pods.keys()]).toEqual(['ann/']);
    expect(h.cluster.pods.get('ann/')?.ready).toBe(true);
  });

  it('a stop whose deletes land after their timeout ends stopped with no pod', async () => {
    await h.runtime.send('bob/', { type: 'server.start' });
    await h.advance(10_000);
    expect(h.runtime.get('bob/')?.state).toBe('running.ready');
    const late = callLate();
    await h.runtime.send('bob/', { type: 'server.stop' });
    await h.advance(120_000);
    expect(late.landedLate).toBeGreaterThan(0);
    expect(h.runtime.get('bob/')?.state).toBe('stopped');
    expect(h.cluster.pods.has('bob/')).toBe(false);
  });
});
