import { describe, expect, it } from 'vitest';
import { AgentPool } from '../../src/kube/agents.js';
import { listPages } from '../../src/kube/list-watch.js';
import { rawPodLister } from '../../src/kube/pod-lister.js';
import { coreApi, kubeConfig, podBody, simulatorPerTest } from './sim-helpers.js';

describe('the reflector’s pod lister (plain JSON through the kubeconfig’s fetch options)', () => {
  const simulator = simulatorPerTest({ kubelet: { scheduleMs: 0, createMs: 0, readyMs: 0 } });

  it('reads every page by its continue token at one resourceVersion, the pods as the API server sent them, over kept-alive connections', async () => {
    const sim = await simulator();
    const api = coreApi(sim.url);
    for (let i = 0; i < 7; i++) await api.createNamespacedPod({ namespace: 'default', body: podBody(`p${i}`, { app: 'lister' }) });
    await api.createNamespacedPod({ namespace: 'default', body: podBody('other', { app: 'else' }) });
    const pool = new AgentPool();
    const list = rawPodLister(kubeConfig(sim.url), 'default', pool);
    const pages: number[] = [];
    const names: string[] = [];
    const rv = await listPages(
      async (cont) => {
        const page = await list({ labelSelector: 'app=lister', limit: 3, cont }, new AbortController().signal);
        pages.push(page.items.length);
        return page;
      },
      (pod) => names.push((pod as { metadata: { name: string } }).metadata.name),
      new AbortController().signal,
    );
    expect(pages).toEqual([3, 3, 1]);
    expect(names.sort()).toEqual(['p0', 'p1', 'p2', 'p3', 'p4', 'p5', 'p6']);
    expect(Number(rv)).toBeGreaterThan(0);
    // Plain JSON: timestamps stay the strings the server sent (client-node's models would make Dates).
    const one = await list({ labelSelector: 'app=lister', limit: 1 }, new AbortController().signal);
    expect(typeof (one.items[0] as { metadata: { creationTimestamp: unknown } }).metadata.creationTimestamp).toBe('string');
    expect(pool.size).toBe(1);
    pool.close();
  });

  it('fails with the status of a refused list, and stops at once when its signal aborts', async () => {
    const sim = await simulator();
    const list = rawPodLister(kubeConfig(sim.url), 'default');
    sim.faults.failCalls({ fraction: 1, status: 503 });
    const refused = await list({ labelSelector: 'app=x' }, new AbortController().signal).catch((err: unknown) => err);
    expect(refused).toMatchObject({ statusCode: 503, message: expect.stringMatching(/^listing pods answered 503/) as unknown });
    sim.faults.failCalls({ fraction: 0 });
    sim.faults.slowCalls({ fraction: 1, delayMs: 5_000 });
    const abort = new AbortController();
    const started = Date.now();
    const pending = list({ labelSelector: 'app=x' }, abort.signal).catch((err: unknown) => err);
    setTimeout(() => abort.abort(), 50);
    expect(await pending).toMatchObject({ name: 'AbortError' });
    expect(Date.now() - started).toBeLessThan(2_000);
  });
});
