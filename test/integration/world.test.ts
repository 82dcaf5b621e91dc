import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isRunning } from '../../machines/pod-fact.js';
import type { PodFact } from '../../machines/pod-fact.js';
import { Harness, TEST_DELAYS, tempDir } from '../support/harness.js';
import { ModelCluster } from '../support/model-cluster.js';

/**
 * Regression tests for cases the cluster model once could not generate: a cluster whose
 * resourceVersions went back, a pod replaced under the same name, a running pod that stops being
 * ready, opaque resourceVersions, and a deletion answered at the same revision as its DELETED event.
 */

let tmp: ReturnType<typeof tempDir>;
const open: Harness[] = [];

beforeEach(() => {
  tmp = tempDir();
});
afterEach(() => {
  for (const h of open.splice(0)) h.close();
  tmp.cleanup();
});

function harness(cluster?: (clock: Harness['clock']) => ModelCluster): Harness {
  const h = new Harness(`${tmp.dir}/hub.db`, TEST_DELAYS, cluster);
  open.push(h);
  return h;
}

/** watch delivers the cluster's changes as a healthy watch would, in order, from `from` on. */
function watcher(h: Harness): () => Promise<void> {
  let seen = 0;
  return async () => {
    while (seen < h.cluster.changes.length) {
      const change = h.cluster.changes[seen++];
      if (change !== undefined) await h.runtime.observe(change.key, change.fact);
    }
    await h.settle();
  };
}

/** run moves time in steps, delivering every change after each, as a live hub would see them. */
async function run(h: Harness, ms: number, deliver: () => Promise<void>): Promise<void> {
  await deliver();
  for (let t = 0; t < ms; t += 250) {
    await h.advance(250);
    await deliver();
  }
}

async function command(h: Harness, key: string, type: 'server.start' | 'server.stop'): Promise<void> {
  await h.runtime.send(key, { type });
  await h.settle();
}

const state = (h: Harness, key: string) => h.runtime.get(key)?.state;
const top = (h: Harness, key: string) => state(h, key)?.split('.')[0];

describe('the world wider than the model', () => {
  it('settles a server whose cluster came back with lower resourceVersions: the running one ends stopped, a new start runs', async () => {
    const old = harness((clock) => new ModelCluster(clock, { startRv: 5_000 }));
    const deliverOld = watcher(old);
    await command(old, 'ann/', 'server.start');
    await command(old, 'bob/', 'server.start');
    await run(old, 5_000, deliverOld);
    await command(old, 'bob/', 'server.stop');
    await run(old, 5_000, deliverOld);
    expect(top(old, 'ann/')).toBe('running');
    expect(state(old, 'bob/')).toBe('stopped');
    old.close();
    open.splice(0);

    // The same database, a cluster whose counter starts far lower and that has none of the pods.
    const h = harness((clock) => new ModelCluster(clock, { startRv: 10, uidPrefix: 'new' }));
    const deliver = watcher(h);
    for (const c of h.cluster.list(['ann/', 'bob/'])) await h.runtime.observe(c.key, c.fact, h.cluster.resourceVersion);
    await run(h, 10_000, deliver);
    expect(state(h, 'ann/')).toBe('stopped');
    await command(h, 'bob/', 'server.start');
    await run(h, 10_000, deliver);
    expect(top(h, 'bob/')).toBe('running');
    expect(isRunning(h.cluster.fact('bob/'))).toBe(true);
  });

  it('judges a pod recreated under the same name with a new uid and a lower resourceVersion instead of ignoring it', async () => {
    const h = harness();
    const deliver = watcher(h);
    await command(h, 'ann/', 'server.start');
    await run(h, 5_000, deliver);
    expect(top(h, 'ann/')).toBe('running');
    h.cluster.regress(50);
    h.cluster.recreate('ann/', { ready: false });
    await deliver();
    // The new pod is this server's by its labels: it is judged on its own (not ready), never ignored.
    expect(state(h, 'ann/')).toMatch(/^running\.unready/);
    await run(h, TEST_DELAYS.unreadyTimeout + TEST_DELAYS.stopTimeout, deliver);
    expect(state(h, 'ann/')).toBe('failed');
    expect(h.cluster.fact('ann/').exists, 'a failed server has no pod').toBe(false);
  });

  it('takes a running server whose pod turns NotReady out of running, back when ready, and stops it when it stays unready', async () => {
    const h = harness();
    const deliver = watcher(h);
    await command(h, 'ann/', 'server.start');
    await run(h, 5_000, deliver);
    expect(top(h, 'ann/')).toBe('running');

    h.cluster.unready('ann/', 'notReady');
    await deliver();
    const view = h.runtime.get('ann/');
    expect(view?.state).toMatch(/^running\.unready\./);
    expect(view?.snapshot.hasTag('stable')).toBe(false);
    expect(view?.snapshot.hasTag('ready')).toBe(false);
    h.cluster.recover('ann/');
    await run(h, 1_000, deliver);
    expect(state(h, 'ann/')).toBe('running.ready');

    h.cluster.unready('ann/', 'nodeLost');
    await run(h, TEST_DELAYS.unreadyTimeout + TEST_DELAYS.stopTimeout, deliver);
    const after = h.runtime.get('ann/');
    expect(after?.state).toBe('failed');
    expect(after?.snapshot.context.reason).toContain('not ready');
    expect(h.cluster.fact('ann/').exists).toBe(false);
  });

  it('does not fail a good spawn on a relist of opaque resourceVersions served from before the pod was created', async () => {
    const h = harness((clock) => new ModelCluster(clock, { opaque: true }));
    const deliver = watcher(h);
    const before: PodFact = h.cluster.fact('ann/');
    await command(h, 'ann/', 'server.start');
    expect(state(h, 'ann/')).toBe('spawn_pending.waiting');
    await h.runtime.observe('ann/', before);
    await run(h, 5_000, deliver);
    expect(top(h, 'ann/')).toBe('running');
    expect(h.runtime.get('ann/')?.snapshot.context.reason).toBeNull();
  });

  it('ends a stop at once when the DELETED event carries the same resourceVersion as the delete answer', async () => {
    const h = harness((clock) => new ModelCluster(clock, { readyDelayMs: 60_000 }));
    const deliver = watcher(h);
    await command(h, 'ann/', 'server.start');
    await command(h, 'ann/', 'server.stop');
    expect(h.cluster.fact('ann/').exists).toBe(false);
    expect(state(h, 'ann/')).toBe('stop_pending.attempt.waiting');
    await deliver(); // no time passes: the DELETED event alone must end the stop
    expect(state(h, 'ann/')).toBe('stopped');
  });

  it('never lets a read answered after a newer watch event of the same pod bring back what that pod was: an OOM kill seen during the read ends the spawn', async () => {
    const h = harness((clock) => new ModelCluster(clock, { readyDelayMs: 3_000 }));
    await command(h, 'bob/', 'server.start');
    await h.advance(2_000); // the first poll's read comes back: Pending
    h.cluster.faults.latencyMs = 1_000; // answers now come a second after the call took effect
    await h.advance(2_000); // the next poll's read is in flight; the pod turns ready meanwhile
    h.cluster.crash('bob/', 'OOMKilled');
    // The watch brings Running and then the OOM kill before the read's answer (Running) arrives.
    for (const change of h.cluster.changes.filter((c) => c.key === 'bob/')) await h.runtime.observe(change.key, change.fact);
    await h.settle();
    await h.advance(1_000);
    expect(top(h, 'bob/')).not.toBe('running');
    await run(h, 60_000, watcher(h));
    expect(state(h, 'bob/')).toBe('failed');
    expect(h.runtime.get('bob/')?.snapshot.context.reason).toContain('OOMKilled');
    expect(h.cluster.fact('bob/').exists).toBe(false);
  });

  it('does not end a stop on a delete answer about the deleted pod when a replacement pod was heard of meanwhile: it deletes that one too', async () => {
    const h = harness();
    h.cluster.faults.latencyMs = 1_000;
    await h.runtime.send('bob/', { type: 'server.start' }).catch(() => undefined);
    await command(h, 'bob/', 'server.stop');
    await h.advance(1_000);
    // Someone makes another pod of the same name in a cluster restored from an older snapshot.
    h.cluster.regress(Math.max(1, h.cluster.counter - 5));
    h.cluster.recreate('bob/', { ready: true });
    for (const change of h.cluster.changes.filter((c) => c.key === 'bob/')) await h.runtime.observe(change.key, change.fact);
    await h.settle();
    await run(h, 120_000, watcher(h));
    expect(state(h, 'bob/')).toBe('stopped');
    const pod = h.cluster.fact('bob/');
    const orphaned = h.store.orphans().some((o) => o.key === 'bob/' && pod.exists && (o.uid === pod.uid || o.uid === ''));
    expect(!pod.exists || orphaned, 'the replacement pod is deleted or handed to the sweeper').toBe(true);
  });
});
