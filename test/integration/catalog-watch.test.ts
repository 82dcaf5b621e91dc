import { afterEach, describe, expect, it } from 'vitest';
import { Live, eventually, liveBound } from '../support/live.js';
import { internals } from '../../src/spawnkeeper.js';

// Failure catalog (docs/failure-catalog.md): the watch and list scenarios.
let live: Live | undefined;
afterEach(async () => {
  await live?.close();
  live = undefined;
});

describe('failure catalog: watch and list', () => {
  it('1. a watch that silently stalls slows a start but never blocks it, and is cut and reopened', async () => {
    live = await Live.start();
    const restartsBefore = live.sk.health().reflector.restarts;
    live.sim.faults.stallWatches({ includeNew: false });
    const t0 = Date.now();
    await live.sk.start('ann');
    const s = await live.settled('ann');
    expect(s.state).toBe('running');
    expect(Date.now() - t0).toBeLessThan(liveBound());
    await eventually('the silent watch to be cut', () => live!.sk.health().reflector.restarts > restartsBefore);
    expect(live.sk.health().reflector.lastError).toMatch(/silent/);
  });

  it('3. a 410 Gone on the watch relists and resyncs, and the start completes', async () => {
    live = await Live.start();
    await live.sk.start('bo');
    const restarts = live.sk.health().reflector.restarts;
    await eventually('a watch to be open', () => live!.sim.cluster.openWatches() > 0);
    live.sim.cluster.compact();
    expect(live.sim.faults.expireWatches()).toBeGreaterThan(0);
    const s = await live.settled('bo');
    expect(s.state).toBe('running');
    expect(live.sk.health().reflector.restarts).toBeGreaterThan(restarts);
    expect(live.sk.health().reflector.healthy).toBe(true);
  });

  it('4. 5xx and 504 answers from list are retried and never taken for an empty cluster', async () => {
    live = await Live.start();
    await live.sk.start('cy');
    await live.settled('cy');
    live.sim.faults.failCalls({ fraction: 1, status: 504, verbs: ['list'] });
    live.sim.faults.cutWatches();
    await new Promise((r) => setTimeout(r, 600));
    expect(live.sk.get('cy')?.state).toBe('running'); // a failed list reported no absence
    await live.sim.faults.clear();
    const s = await live.settled('cy');
    expect(s.state).toBe('running');
    expect(live.sk.health().reflector.restarts).toBeGreaterThan(0);
  });

  it('6. duplicate and stale facts change nothing, an absence that cannot be ordered is verified by a read, and the new pod is left alone', async () => {
    live = await Live.start();
    await live.sk.start('di');
    const first = await live.settled('di');
    const oldFact = first.state === 'running' ? internals(live.sk).runtime.get('di/')?.snapshot.context.pod : null;
    expect(oldFact?.exists).toBe(true);
    await live.sk.stop('di');
    await live.settled('di');
    await live.sk.start('di');
    const again = await live.settled('di');
    expect(again.state).toBe('running');
    const seq = again.seq;
    const pod = live.pod(again.podName);
    // The old pod's life again, and the new pod's own fact again: old news, not even logged.
    await internals(live.sk).runtime.observe('di/', oldFact!);
    await internals(live.sk).runtime.observe('di/', {
      exists: false,
      uid: oldFact!.exists ? oldFact!.uid : undefined,
      resourceVersion: oldFact!.resourceVersion,
    });
    await internals(live.sk).runtime.observe('di/', internals(live.sk).runtime.get('di/')!.snapshot.context.pod!);
    expect(live.sk.get('di')?.state).toBe('running');
    expect(live.sk.get('di')?.seq).toBe(seq);
    // A list's absence at a version older than the new pod: a stale list or a cluster that went
    // back? It cannot be ordered, so the server reads its pod before deciding, and stays running.
    await internals(live.sk).runtime.observe('di/', { exists: false, resourceVersion: oldFact!.resourceVersion });
    const verified = await live.settled('di');
    expect(verified.detail).toBe('running.ready');
    expect(
      live.sk
        .history('di')
        .slice(-2)
        .map((e) => e.summary),
    ).toEqual([expect.stringMatching(/^observed: no pod/), expect.stringMatching(/^read answered: pod Running, ready/)]);
    expect(live.pod(again.podName)?.metadata.uid).toBe(pod?.metadata.uid);
  });

  it('7. a DELETE missed by the watch reaches the server through polls and the resync', async () => {
    live = await Live.start();
    await live.sk.start('ed');
    await live.settled('ed');
    live.sim.faults.dropWatchEvents(1);
    await live.sk.stop('ed');
    const s = await live.settled('ed');
    expect(s.state).toBe('stopped');
    expect(live.pod(s.podName)).toBeUndefined();
  });

  it('18. no decision is taken before the first list: a running server stays running while the API is unreachable at start-up', async () => {
    live = await Live.start();
    await live.sk.start('fay');
    await live.settled('fay');
    await live.sk.close();
    await live.sim.faults.refuseConnections();
    await live.open(false);
    await new Promise((r) => setTimeout(r, 800));
    expect(live.sk.get('fay')?.state).toBe('running');
    expect(live.sk.health().reflector.synced).toBe(false);
    await live.sim.faults.acceptConnections();
    await internals(live.sk).reflector.synced();
    const s = await live.settled('fay');
    expect(s.state).toBe('running');
  });
});
