import type { V1Pod } from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import type { Pod, Simulator, SimulatorOptions } from '../../src/sim/index.js';
import { ManualClock, startSimulator } from '../../src/sim/index.js';
import { coreApi, podBody, waitFor } from './sim-helpers.js';

const fast = { scheduleMs: 5, createMs: 5, readyMs: 5, stopMs: 5, backoffMs: 10, crashRunMs: 10 };

describe('simulated scheduler and kubelet: failure modes', () => {
  let sim: Simulator | undefined;
  const start = async (options: SimulatorOptions = {}): Promise<Simulator> => {
    sim = await startSimulator({ seed: 11, kubelet: fast, ...options });
    return sim;
  };
  afterEach(async () => {
    await sim?.close();
    sim = undefined;
  });

  const create = async (s: Simulator, name: string): Promise<void> => {
    await coreApi(s.url).createNamespacedPod({ namespace: 'default', body: podBody(name) });
  };
  const read = (s: Simulator, name: string): Promise<V1Pod> => coreApi(s.url).readNamespacedPod({ name, namespace: 'default' });
  const until = (s: Simulator, what: string, test: (p: V1Pod) => boolean, name = 'p1'): Promise<V1Pod> =>
    waitFor(what, async () => {
      const p = await read(s, name);
      return test(p) ? p : undefined;
    });
  const condition = (p: V1Pod, type: string): { status?: string; reason?: string } | undefined =>
    p.status?.conditions?.find((c) => c.type === type);

  it('moves a pod through its stages on the simulated clock with the configured delays', async () => {
    const clock = new ManualClock();
    const s = await start({ clock, kubelet: { scheduleMs: 50, createMs: 100, readyMs: 200 } });
    await create(s, 'p1');
    const phase = (): string => {
      const p = s.pods()[0];
      if (p === undefined) return 'gone';
      const waiting = p.status.containerStatuses?.[0]?.state.waiting?.reason;
      return `${p.status.phase}/${p.spec.nodeName ?? '-'}/${waiting ?? (p.status.podIP === undefined ? '-' : 'ip')}`;
    };
    const seen: string[] = [phase()];
    for (const step of [49, 1, 99, 1, 199, 1]) {
      clock.advance(step);
      seen.push(phase());
    }
    expect(seen).toEqual([
      'Pending/-/-',
      'Pending/-/-',
      'Pending/sim-node-1/-',
      'Pending/sim-node-1/-',
      'Pending/sim-node-1/ContainerCreating',
      'Pending/sim-node-1/ContainerCreating',
      'Running/sim-node-1/ip',
    ]);
  });

  it('accepts zero delays', async () => {
    const s = await start({ kubelet: { scheduleMs: 0, createMs: 0, readyMs: 0 } });
    await create(s, 'p1');
    const p = await until(s, 'ready', (x) => condition(x, 'Ready')?.status === 'True');
    expect(p.status?.phase).toBe('Running');
  });

  it('shows ErrImagePull and then ImagePullBackOff for an image that never pulls', async () => {
    const s = await start();
    s.kubelet.failPod('p1', { kind: 'imagePull' });
    await create(s, 'p1');
    const pulled = await until(s, 'ErrImagePull', (p) => p.status?.containerStatuses?.[0]?.state?.waiting?.reason === 'ErrImagePull');
    expect(pulled.status?.phase).toBe('Pending');
    expect(pulled.status?.containerStatuses?.[0]?.state?.waiting?.message).toMatch(/failed to pull/);
    const backoff = await until(
      s,
      'ImagePullBackOff',
      (p) => p.status?.containerStatuses?.[0]?.state?.waiting?.reason === 'ImagePullBackOff',
    );
    expect(backoff.status?.phase).toBe('Pending');
    expect(condition(backoff, 'Ready')?.status).toBe('False');
  });

  it('shows CrashLoopBackOff with restarts and the last exit for a container that keeps crashing', async () => {
    const s = await start();
    s.kubelet.failPod('p1', { kind: 'crashLoop', exitCode: 2 });
    await create(s, 'p1');
    const p = await until(s, 'CrashLoopBackOff', (x) => x.status?.containerStatuses?.[0]?.state?.waiting?.reason === 'CrashLoopBackOff');
    const c = p.status?.containerStatuses?.[0];
    expect(p.status?.phase).toBe('Running');
    expect(c?.restartCount).toBeGreaterThanOrEqual(1);
    expect(c?.lastState?.terminated).toMatchObject({ exitCode: 2, reason: 'Error' });
    expect(condition(p, 'Ready')?.status).toBe('False');
  });

  it('leaves an unschedulable pod Pending with PodScheduled=False, reason Unschedulable', async () => {
    const s = await start();
    s.kubelet.failPod('p1', { kind: 'unschedulable' });
    await create(s, 'p1');
    const p = await until(s, 'unschedulable', (x) => condition(x, 'PodScheduled')?.status === 'False');
    expect(condition(p, 'PodScheduled')?.reason).toBe('Unschedulable');
    expect(p.status?.phase).toBe('Pending');
    expect(p.spec?.nodeName).toBeUndefined();
  });

  it('fails an evicted pod with phase Failed and reason Evicted', async () => {
    const s = await start();
    s.kubelet.failPod('p1', { kind: 'evicted', afterMs: 5 });
    await create(s, 'p1');
    const p = await until(s, 'evicted', (x) => x.status?.phase === 'Failed');
    expect(p.status?.reason).toBe('Evicted');
    expect(p.status?.message).toMatch(/low on resource/);
    expect(condition(p, 'Ready')?.status).toBe('False');
  });

  it('ends a pod whose container exits after ready: Failed with the exit code, or Succeeded on 0', async () => {
    const s = await start();
    s.kubelet.failPod('p1', { kind: 'exit', exitCode: 3, afterMs: 5 });
    s.kubelet.failPod('p2', { kind: 'exit', exitCode: 0, afterMs: 5 });
    await create(s, 'p1');
    await create(s, 'p2');
    const failed = await until(s, 'failed', (x) => x.status?.phase === 'Failed');
    expect(failed.status?.containerStatuses?.[0]?.state?.terminated).toMatchObject({ exitCode: 3, reason: 'Error' });
    const done = await until(s, 'succeeded', (x) => x.status?.phase === 'Succeeded', 'p2');
    expect(done.status?.containerStatuses?.[0]?.state?.terminated).toMatchObject({ exitCode: 0, reason: 'Completed' });
  });

  it('records an OOM kill after ready as terminated, exit code 137, reason OOMKilled, phase Failed', async () => {
    const s = await start();
    s.kubelet.failPod('p1', { kind: 'oomKilled', afterMs: 5 });
    await create(s, 'p1');
    const p = await until(s, 'oom', (x) => x.status?.phase === 'Failed');
    expect(p.status?.containerStatuses?.[0]?.state?.terminated).toMatchObject({ exitCode: 137, reason: 'OOMKilled' });
  });

  it('exits or OOM-kills a running pod on demand', async () => {
    const s = await start();
    await create(s, 'p1');
    await create(s, 'p2');
    await until(s, 'p1 ready', (x) => condition(x, 'Ready')?.status === 'True');
    await until(s, 'p2 ready', (x) => condition(x, 'Ready')?.status === 'True', 'p2');
    expect(s.kubelet.exitContainer('p1', { exitCode: 1 }).status.phase).toBe('Failed');
    expect(s.kubelet.oomKill('p2').status.containerStatuses?.[0]?.state.terminated?.reason).toBe('OOMKilled');
  });

  it('keeps a pod on a lost node Running but unready, then marks it for deletion and leaves it terminating', async () => {
    const clock = new ManualClock();
    const s = await start({ clock, kubelet: { scheduleMs: 0, createMs: 0, readyMs: 0, stopMs: 0 } });
    s.kubelet.failPod('p1', { kind: 'nodeLost', afterMs: 1000, evictAfterMs: 300_000 });
    await create(s, 'p1');
    clock.advance(0);
    const pod = (): Pod | undefined => s.pods()[0];
    expect(pod()?.status.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
    clock.advance(1000);
    expect(pod()?.status.phase).toBe('Running');
    expect(pod()?.status.conditions?.find((c) => c.type === 'Ready')).toMatchObject({ status: 'False', reason: 'NodeLost' });
    clock.advance(300_000);
    expect(pod()?.metadata.deletionTimestamp).toBeDefined();
    clock.advance(3_600_000);
    expect(pod()?.metadata.deletionTimestamp).toBeDefined();
    expect(pod()?.status.phase).toBe('Running');
  });

  it('carries on starting a pod whose node comes back before the pod was ready', async () => {
    const clock = new ManualClock();
    const s = await start({ clock, kubelet: { scheduleMs: 0, createMs: 0, readyMs: 1000 } });
    await create(s, 'p1');
    clock.advance(0);
    expect(s.pods()[0]?.status.containerStatuses?.[0]?.state.waiting?.reason).toBe('ContainerCreating');
    s.kubelet.loseNode('sim-node-1', { evictAfterMs: 60_000 });
    clock.advance(5_000);
    expect(s.pods()[0]?.status.phase).toBe('Pending');
    s.kubelet.restoreNode('sim-node-1');
    clock.advance(1_000);
    expect(s.pods()[0]?.status.phase).toBe('Running');
    clock.advance(60_000);
    expect(s.pods()[0]?.metadata.deletionTimestamp).toBeUndefined();
    expect(s.pods()[0]?.status.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
  });

  it('finishes terminating the pods of a lost node once the node is restored', async () => {
    const s = await start({ nodes: ['n1', 'n2'] });
    await create(s, 'p1');
    const p = await until(s, 'ready', (x) => condition(x, 'Ready')?.status === 'True');
    const node = p.spec?.nodeName ?? '';
    s.kubelet.loseNode(node, { evictAfterMs: 5 });
    await waitFor('marked for deletion', () => s.pods().find((x) => x.metadata.deletionTimestamp !== undefined));
    await create(s, 'p2');
    const p2 = await until(s, 'p2 ready elsewhere', (x) => condition(x, 'Ready')?.status === 'True', 'p2');
    expect(p2.spec?.nodeName).not.toBe(node);
    expect(s.pods().map((x) => x.metadata.name)).toContain('p1');
    s.kubelet.restoreNode(node);
    await waitFor('p1 gone', () => (s.pods().some((x) => x.metadata.name === 'p1') ? undefined : true));
    expect(s.pods().map((x) => x.metadata.name)).toEqual(['p2']);
  });

  it('applies rules by name pattern and by predicate, and a fraction decided by the seed', async () => {
    const fates = async (seed: number): Promise<string[]> => {
      const s = await startSimulator({ seed, kubelet: { scheduleMs: 0, createMs: 0, readyMs: 0, backoffMs: 60_000 } });
      try {
        s.kubelet.addRule({ match: /^jupyter-bad-/, mode: { kind: 'unschedulable' } });
        s.kubelet.addRule({ match: (p) => p.metadata.labels?.['flaky'] === 'yes', fraction: 0.5, mode: { kind: 'imagePull' } });
        const api = coreApi(s.url);
        const names = [...Array.from({ length: 12 }, (_, i) => `jupyter-flaky-${i}`), 'jupyter-bad-1'];
        for (const name of names)
          await api.createNamespacedPod({ namespace: 'default', body: podBody(name, name.includes('flaky') ? { flaky: 'yes' } : {}) });
        const fate = (p: Pod): string | undefined => {
          if (p.status.phase === 'Running') return 'ok';
          if (p.status.conditions?.some((c) => c.reason === 'Unschedulable') === true) return 'unschedulable';
          const waiting = p.status.containerStatuses?.[0]?.state.waiting?.reason;
          return waiting === 'ErrImagePull' ? waiting : undefined;
        };
        await waitFor('every pod settled', () => (s.pods().every((p) => fate(p) !== undefined) ? true : undefined));
        return s.pods().map((p) => `${p.metadata.name}:${fate(p) ?? ''}`);
      } finally {
        await s.close();
      }
    };
    const first = await fates(42);
    expect(await fates(42)).toEqual(first);
    expect(first).toContain('jupyter-bad-1:unschedulable');
    const pulls = first.filter((f) => f.endsWith(':ErrImagePull')).length;
    expect(pulls).toBeGreaterThan(0);
    expect(pulls).toBeLessThan(12);
  });
});
