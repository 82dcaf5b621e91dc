import { afterEach, describe, expect, it } from 'vitest';
import { Live, eventually, liveBound } from '../support/live.js';

// Failure catalog (docs/failure-catalog.md): the hub's own lifecycle.
let live: Live | undefined;
afterEach(async () => {
  await live?.close();
  live = undefined;
});

describe('failure catalog: lifecycle', () => {
  it('5. a create that times out but happened is verified and adopted by uid, never duplicated', async () => {
    live = await Live.start();
    live.sim.faults.slowCalls({ fraction: 1, delayMs: 900, verbs: ['create'] });
    await live.sk.start('ola');
    const s = await live.settled('ola');
    expect(s.state).toBe('running');
    expect(live.sim.pods().filter((p) => p.metadata.name === s.podName)).toHaveLength(1);
    const history = live.sk.history('ola').map((h) => h.to);
    expect(history).toContain('spawn_pending.verifying');
  });

  it('13. a hub restarted mid-start resumes waiting when the pod is there, and fails cleanly when it is gone', async () => {
    live = await Live.start();
    live.sim.kubelet.setDelays({ readyMs: 1_000 });
    // quin's pod never gets ready, so its start is still pending when the hub closes however loaded the machine.
    live.sim.kubelet.addRule({ match: 'jupyter-quin', mode: { kind: 'slow', readyMs: 3_600_000 } });
    await live.sk.start('pia');
    await live.sk.start('quin');
    await eventually('both pods created', () => live!.pod('jupyter-pia') !== undefined && live!.pod('jupyter-quin') !== undefined);
    await live.sk.close();
    live.sim.cluster.forceDelete('jupyter-quin');
    await live.open();
    expect((await live.settled('pia')).state).toBe('running');
    const quin = await live.settled('quin');
    expect(quin.state).toBe('failed');
    expect(quin.reason).toBe('pod vanished during spawn');
  });

  it('14. a hub restarted mid-stop resumes the deletion and completes when the pod is gone', async () => {
    live = await Live.start();
    await live.sk.start('rex');
    await live.settled('rex');
    live.sim.faults.slowCalls({ fraction: 1, delayMs: 2_000, verbs: ['delete'] });
    await live.sk.stop('rex');
    await live.sk.close();
    await live.sim.faults.clear();
    await live.open();
    const s = await live.settled('rex');
    expect(s.state).toBe('stopped');
    expect(live.pod(s.podName)).toBeUndefined();
  });

  it('15. a stop during a start cancels it and deletes what was created; a start during a stop runs after it', async () => {
    live = await Live.start();
    live.sim.kubelet.setDelays({ readyMs: 800 });
    await live.sk.start('sal');
    await eventually('the pod to be created', () => live!.pod('jupyter-sal') !== undefined);
    await live.sk.stop('sal');
    const cancelled = await live.settled('sal');
    expect(cancelled.state).toBe('stopped');
    expect(cancelled.reason).toBe('stop requested during spawn');
    expect(live.pod('jupyter-sal')).toBeUndefined();
    live.sim.kubelet.setDelays({ readyMs: 60 });
    await live.sk.start('sal');
    await live.settled('sal');
    await live.sk.stop('sal');
    const queued = await live.sk.start('sal');
    expect(queued.state).toBe('stop_pending');
    expect(queued.startQueued).toBe(true);
    expect((await live.settled('sal')).state).toBe('running');
    expect(live.sk.history('sal').some((h) => h.from.startsWith('stop_pending') && h.to.startsWith('spawn_pending'))).toBe(true);
  });

  it('17. a hub that exits in the middle of a clean-up finishes it after the restart: no leaked pod', async () => {
    live = await Live.start();
    live.sim.kubelet.failPod('jupyter-tam', { kind: 'imagePull' });
    live.sim.faults.slowCalls({ fraction: 1, delayMs: 1_500, verbs: ['delete'] });
    await live.sk.start('tam');
    await live.until('tam', '', (s) => s.state === 'stop_pending');
    await live.sk.close();
    await live.sim.faults.clear();
    await live.open();
    const s = await live.settled('tam');
    expect(s.state).toBe('failed');
    expect(s.reason).toMatch(/ErrImagePull|ImagePullBackOff/);
    expect(live.pod(s.podName)).toBeUndefined();
  });

  it('19. duplicate commands are idempotent: a double start makes one pod, a double stop one stop', async () => {
    live = await Live.start();
    const [a, b] = await Promise.all([live.sk.start('uma'), live.sk.start('uma')]);
    expect(a.seq).not.toBe(b.seq); // both acknowledged and logged
    await live.settled('uma');
    expect(live.sim.pods().filter((p) => p.metadata.name === 'jupyter-uma')).toHaveLength(1);
    await Promise.all([live.sk.stop('uma'), live.sk.stop('uma'), live.sk.stop('uma')]);
    const s = await live.settled('uma', '', liveBound());
    expect(s.state).toBe('stopped');
    const starts = live.sk.history('uma').filter((h) => h.from === 'stopped' && h.to.startsWith('spawn_pending'));
    expect(starts).toHaveLength(1);
  });
});
