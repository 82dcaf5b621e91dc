import { describe, expect, it } from 'vitest';
import type { Harness } from '../support/harness.js';
import { harnessPerTest } from '../support/harness.js';
import { LateCalls } from '../support/model-cluster.js';

// Calls that take effect after their timeout (the request had reached the API server), on the
// model cluster: the machine must find what landed and end in agreement with it.

let h: Harness;
harnessPerTest((harness) => (h = harness));

/** callLate puts an API server that takes creates and deletes 4 s late (the effect timeout is 2.5 s) in front of the model cluster. */
function callLate(): LateCalls {
  const late = new LateCalls(h.cluster, h.clock);
  late.lateMs = 4_000;
  h.pods = late;
  h.reopen();
  return late;
}

describe('calls that land after their timeout', () => {
  it('a create that lands after its timeout is found: the spawn ends running with the one pod', async () => {
    const late = callLate();
    await h.runtime.send('ann/', { type: 'server.start' });
    await h.advance(60_000);
    expect(late.landedLate).toBeGreaterThan(0);
    expect(h.runtime.get('ann/')?.state).toBe('running');
    expect([...h.cluster.pods.keys()]).toEqual(['ann/']);
    expect(h.cluster.pods.get('ann/')?.ready).toBe(true);
  });

  it('a stop whose deletes land after their timeout ends stopped with no pod', async () => {
    await h.runtime.send('bob/', { type: 'server.start' });
    await h.advance(10_000);
    expect(h.runtime.get('bob/')?.state).toBe('running');
    const late = callLate();
    await h.runtime.send('bob/', { type: 'server.stop' });
    await h.advance(120_000);
    expect(late.landedLate).toBeGreaterThan(0);
    expect(h.runtime.get('bob/')?.state).toBe('stopped');
    expect(h.cluster.pods.has('bob/')).toBe(false);
  });
});
