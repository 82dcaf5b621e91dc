import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkReplay, history } from '../../src/runtime/replay.js';
import { Harness, TEST_DELAYS, tempDir } from '../support/harness.js';

let tmp: ReturnType<typeof tempDir>;
let h: Harness;

beforeEach(() => {
  tmp = tempDir();
  h = new Harness(`${tmp.dir}/hub.db`);
});
afterEach(() => {
  h.close();
  tmp.cleanup();
});

function stateOf(key: string): string | undefined {
  return h.runtime.get(key)?.state;
}

describe('runtime', () => {
  it('starts a server and reports running once the pod is ready', async () => {
    const ack = await h.runtime.send('alice/', { type: 'server.start' });
    expect(ack.state).toBe('spawn_pending.creating');
    await h.settle();
    expect(h.cluster.pods.get('alice/')?.phase).toBe('Pending');
    await h.advance(TEST_DELAYS.pollInterval * 3);
    expect(stateOf('alice/')).toBe('running.ready');
  });

  it('learns of readiness from an observation before the next poll', async () => {
    await h.runtime.send('alice/', { type: 'server.start' });
    await h.settle();
    await h.clock.advance(3_000, () => h.settle()); // the kubelet's ready delay, polls due later
    const change = h.cluster.changes.at(-1);
    expect(change?.fact.exists && change.fact.ready).toBe(true);
    await h.runtime.observe('alice/', change!.fact);
    expect(stateOf('alice/')).toBe('running.ready');
  });

  it('commits an observation once the callback that brought it returns, with what was queued before it, in one batch', async () => {
    await h.runtime.send('alice/', { type: 'server.start' });
    await h.clock.advance(3_000, () => h.settle()); // the kubelet's ready delay, polls due later
    const ready = h.cluster.changes.at(-1)!.fact;
    expect(ready.exists && ready.ready).toBe(true);
    const seen: string[] = [];
    h.runtime.subscribe((c) => seen.push(`${c.key} ${c.event.type}`));
    const commits = h.runtime.stats.commits;
    void h.runtime.send('carol/', { type: 'server.stop' }); // a command alone waits for the loop's turn
    void h.runtime.observe('alice/', ready);
    for (let i = 0; i < 10; i++) await Promise.resolve(); // microtasks only: no timer, immediate or I/O has run yet
    expect(seen).toEqual(['carol/ server.stop', 'alice/ pod.observed']);
    expect(stateOf('alice/')).toBe('running.ready');
    expect(h.runtime.stats.commits).toBe(commits + 1);
    await h.settle();
    expect(h.runtime.stats.commits).toBe(commits + 1); // the flush the command had scheduled was taken over, not run empty
  });

  it('stops a running server and ends stopped when the pod is gone', async () => {
    await h.runtime.send('alice/', { type: 'server.start' });
    await h.advance(10_000);
    await h.runtime.send('alice/', { type: 'server.stop' });
    await h.advance(10_000);
    expect(stateOf('alice/')).toBe('stopped');
    expect(h.cluster.pods.has('alice/')).toBe(false);
  });

  it('re-arms durable timers after a restart and fires overdue ones at once', async () => {
    h.cluster.faults.readyDelayMs = 10 * TEST_DELAYS.startTimeout; // the pod will never be ready in time
    await h.runtime.send('bob/', { type: 'server.start' });
    await h.settle();
    h.crash();
    await h.clock.advance(TEST_DELAYS.startTimeout + 1_000); // the hub is down while the deadline passes
    h.open();
    expect(h.runtime.timerCount).toBeGreaterThan(0);
    expect(h.runtime.overdueTimers()).toBeGreaterThan(0);
    await h.advance(TEST_DELAYS.stopTimeout + 10_000);
    expect(stateOf('bob/')).toBe('failed');
    expect(h.cluster.pods.has('bob/')).toBe(false);
  });

  it('holds events back while held, loses none, and steps them in their order once resumed', async () => {
    h.cluster.faults.readyDelayMs = 10 * TEST_DELAYS.startTimeout;
    await h.runtime.send('bob/', { type: 'server.start' });
    await h.settle();
    h.crash();
    await h.clock.advance(TEST_DELAYS.startTimeout + 1_000); // the start timeout is overdue at the restart
    h.open();
    h.runtime.hold();
    const seq = h.runtime.get('bob/')?.seq;
    await h.clock.advance(1, () => h.settle()); // the overdue timer fires, into the queue
    let acked = false;
    const stop = h.runtime.send('bob/', { type: 'server.stop' }).then((view) => ((acked = true), view));
    await h.settle();
    expect(acked).toBe(false);
    expect(h.runtime.get('bob/')?.seq).toBe(seq);
    expect(h.store.events('bob/').length).toBe(seq);
    h.runtime.resume();
    const view = await stop;
    await h.settle();
    const types = h.store
      .events('bob/')
      .map((e) => e.type)
      .slice(seq);
    // Both overdue timers, fired while held, come before the command sent after them.
    expect(types.slice(0, 3)).toEqual([
      'xstate.after.pollInterval.server.spawn_pending.waiting',
      'xstate.after.startTimeout.server.spawn_pending',
      'server.stop',
    ]);
    expect(view.seq).toBeGreaterThan((seq ?? 0) + 1);
  });

  it('re-runs an unfinished effect after a restart', async () => {
    h.cluster.faults.down = true;
    await h.runtime.send('carol/', { type: 'server.start' });
    h.crash(); // the create effect never ran
    expect(h.cluster.pods.has('carol/')).toBe(false);
    h.cluster.faults.down = false;
    h.open();
    expect(h.runtime.pendingEffects).toBe(1);
    await h.settle();
    expect(h.cluster.pods.has('carol/')).toBe(true);
  });

  it('cancels a spawn when a stop arrives during it', async () => {
    await h.runtime.send('dan/', { type: 'server.start' });
    await h.runtime.send('dan/', { type: 'server.stop' });
    await h.advance(20_000);
    expect(stateOf('dan/')).toBe('stopped');
    expect(h.cluster.pods.has('dan/')).toBe(false);
  });

  it('accepts a start during a stop and runs it after the stop', async () => {
    await h.runtime.send('erin/', { type: 'server.start' });
    await h.advance(10_000);
    await h.runtime.send('erin/', { type: 'server.stop' });
    const queued = await h.runtime.send('erin/', { type: 'server.start' });
    expect(queued.state.startsWith('stop_pending')).toBe(true);
    await h.advance(20_000);
    expect(stateOf('erin/')).toBe('running.ready');
    const steps = history(h.store, 'erin/');
    expect(steps.some((e) => e.from.startsWith('stop_pending') && e.to === 'spawn_pending.creating')).toBe(true);
    expect(steps.some((e) => e.to === 'stopped')).toBe(false);
  });

  it('hands a pod stuck terminating to the orphan sweeper and ends stopped', async () => {
    await h.runtime.send('finn/', { type: 'server.start' });
    await h.advance(10_000);
    h.cluster.faults.stuck.add('finn/');
    await h.runtime.send('finn/', { type: 'server.stop' });
    await h.advance(TEST_DELAYS.stopTimeout + 10_000);
    expect(stateOf('finn/')).toBe('stopped');
    expect(h.cluster.pods.get('finn/')?.deleting).toBe(true);
    expect(h.store.orphans().map((o) => o.key)).toEqual(['finn/']);
  });

  it('gives up on a pod that keeps failing to pull its image after the fail-fast grace, with the reason', async () => {
    h.cluster.faults.failOnStart.set('hal/', 'ErrImagePull');
    await h.runtime.send('hal/', { type: 'server.start' });
    await h.advance(TEST_DELAYS.failFastGrace + 15_000);
    expect(stateOf('hal/')).toBe('failed');
    expect(h.runtime.get('hal/')?.snapshot.context.reason).toBe('pod ErrImagePull');
    expect(h.cluster.pods.has('hal/')).toBe(false);
    expect(h.clock.now() - (h.runtime.get('hal/')?.since ?? 0)).toBeLessThan(TEST_DELAYS.startTimeout);
  });

  it('keeps waiting for a pod whose image-pull error passes within the grace', async () => {
    h.cluster.faults.failOnStart.set('ivy/', 'ImagePullBackOff');
    await h.runtime.send('ivy/', { type: 'server.start' });
    await h.advance(4_500);
    expect(stateOf('ivy/')).toBe('spawn_pending.failing');
    h.cluster.heal('ivy/');
    await h.advance(TEST_DELAYS.failFastGrace + 5_000);
    expect(stateOf('ivy/')).toBe('running.ready');
  });

  it('writes a log whose replay equals the stored snapshot', async () => {
    await h.runtime.send('gus/', { type: 'server.start' });
    await h.advance(10_000);
    await h.runtime.send('gus/', { type: 'server.stop' });
    await h.advance(10_000);
    const stored = h.db.prepare('SELECT snapshot FROM servers WHERE key = ?').get('gus/') as { snapshot: string };
    const check = checkReplay(h.machine, h.store, 'gus/', stored.snapshot);
    expect(check.ok).toBe(true);
    expect(check.events).toBeGreaterThan(4);
  });
});
