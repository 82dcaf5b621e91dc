import { afterEach, describe, expect, it } from 'vitest';
import { Live, eventually, liveBound } from '../support/live.js';
import { internals } from '../../src/spawnkeeper.js';

// Failure catalog (docs/failure-catalog.md): what pods do on their own.
let live: Live | undefined;
afterEach(async () => {
  await live?.close();
  live = undefined;
});

describe('failure catalog: pods', () => {
  it("8. a pod deleted behind the hub's back while running ends stopped with the reason, and the user can start again", async () => {
    live = await Live.start();
    await live.sk.start('gil');
    const s = await live.settled('gil');
    expect(s.state).toBe('running');
    live.sim.cluster.forceDelete(s.podName);
    const after = await live.settled('gil');
    expect(after.state).toBe('stopped');
    expect(after.reason).toBe('pod vanished while running');
    await live.sk.start('gil');
    expect((await live.settled('gil')).state).toBe('running');
  });

  it('9. a pod stuck terminating is handed to the sweeper, never forgotten, and its name is not reused while it is there', async () => {
    live = await Live.start();
    await live.sk.start('hal');
    const s = await live.settled('hal');
    const release = live.sim.kubelet.failPod(s.podName, { kind: 'stuckTerminating' });
    // The rule applies to pods created after it: start the server again so its pod carries the finalizer.
    await live.sk.stop('hal');
    await live.settled('hal');
    await live.sk.start('hal');
    await live.settled('hal');
    release();
    const t0 = Date.now();
    await live.sk.stop('hal');
    const stopped = await live.settled('hal');
    expect(stopped.state).toBe('stopped');
    expect(Date.now() - t0).toBeLessThan(liveBound());
    const pod = live.pod(stopped.podName);
    expect(pod?.metadata.deletionTimestamp).toBeDefined();
    expect(
      internals(live.sk)
        .store.orphans()
        .map((o) => [o.key, o.uid]),
    ).toEqual([['hal/', pod?.metadata.uid]]);
    // A new start must not take the terminating pod for its own: it waits, then fails cleanly.
    await live.sk.start('hal');
    const blocked = await live.settled('hal');
    expect(blocked.state).toBe('failed');
    expect(live.pod(stopped.podName)?.metadata.uid).toBe(pod?.metadata.uid);
    // Once the finalizer goes, the sweeper clears the record.
    live.sim.kubelet.releaseFinalizers(stopped.podName);
    await eventually('the sweeper to clear the orphan', () => internals(live!.sk).store.orphans().length === 0);
    expect(live.pod(stopped.podName)).toBeUndefined();
  });

  it('10. a lost node: the evicted pod moves the server on instead of routing to a dead address', async () => {
    live = await Live.start();
    await live.sk.start('ivy');
    const s = await live.settled('ivy');
    const node = live.pod(s.podName)?.spec?.nodeName;
    expect(node).toBeDefined();
    live.sim.kubelet.loseNode(node as string, { evictAfterMs: 300 });
    const after = await live.until('ivy', '', (x) => x.stable && x.state !== 'running');
    expect(['stopped', 'failed']).toContain(after.state);
    expect(live.agrees(after)).toBe(true);
    live.sim.kubelet.restoreNode(node as string);
    await eventually('the pod to be gone once the node returns', () => live!.pod(s.podName) === undefined);
    await eventually('the sweeper to clear any orphan', () => internals(live!.sk).store.orphans().length === 0);
  });

  for (const [mode, reason] of [
    [{ kind: 'imagePull' }, /ErrImagePull|ImagePullBackOff/],
    [{ kind: 'crashLoop', runMs: 50 }, /CrashLoopBackOff|Error|failed/],
    [{ kind: 'unschedulable' }, /Unschedulable/],
  ] as const) {
    it(`11. a pod that fails to start (${mode.kind}) fails fast with the reason and is deleted`, async () => {
      live = await Live.start();
      live.sim.kubelet.failPod('jupyter-jo', mode);
      const t0 = Date.now();
      await live.sk.start('jo');
      const s = await live.settled('jo');
      expect(s.state).toBe('failed');
      expect(s.reason).toMatch(reason);
      expect(live.pod(s.podName)).toBeUndefined();
      expect(Date.now() - t0).toBeLessThan(4_000); // well before the start timeout
    });
  }

  it('11. a long image pull is not mistaken for a failure', async () => {
    live = await Live.start();
    live.sim.kubelet.failPod('jupyter-kit', { kind: 'slow', readyMs: 1_500 });
    await live.sk.start('kit');
    expect((await live.settled('kit')).state).toBe('running');
  });

  it('12. a container OOM-killed after ready ends failed with its exit code; a clean exit ends stopped', async () => {
    live = await Live.start();
    await live.sk.start('lu');
    await live.sk.start('mo');
    const lu = await live.settled('lu');
    const mo = await live.settled('mo');
    live.sim.kubelet.oomKill(lu.podName);
    live.sim.kubelet.exitContainer(mo.podName, { exitCode: 0 });
    const luAfter = await live.until('lu', '', (x) => x.stable && x.state !== 'running');
    const moAfter = await live.until('mo', '', (x) => x.stable && x.state !== 'running');
    expect(luAfter.state).toBe('failed');
    expect(luAfter.reason).toMatch(/OOMKilled.*137/);
    expect(moAfter.state).toBe('stopped');
    await eventually('both pods deleted', () => live!.pod(lu.podName) === undefined && live!.pod(mo.podName) === undefined);
  });

  it("16. a reused pod name is told apart by uid: the old pod's events never satisfy the new start", async () => {
    live = await Live.start();
    await live.sk.start('ned');
    const first = await live.settled('ned');
    const oldPod = internals(live.sk).runtime.get('ned/')?.snapshot.context.pod;
    await live.sk.stop('ned');
    await live.settled('ned');
    live.sim.kubelet.setDelays({ readyMs: 800 });
    await live.sk.start('ned');
    await internals(live.sk).runtime.observe('ned/', oldPod!); // the old pod, ready, replayed late
    expect(live.sk.get('ned')?.state).toBe('spawn_pending');
    const s = await live.settled('ned');
    expect(s.state).toBe('running');
    expect(live.pod(first.podName)?.metadata.uid).not.toBe(oldPod?.exists === true ? oldPod.uid : undefined);
  });
});
