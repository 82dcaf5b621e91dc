import type { V1Pod } from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import type { ControlServer, Simulator } from '../../src/sim/index.js';
import { CONTROL_ACTIONS, planFaults, runSimCli, startControlServer } from '../../src/sim/index.js';
import { coreApi, podBody, raw, recordWatch, simulatorPerTest, statusOf, waitFor } from './sim-helpers.js';

const fast = { scheduleMs: 5, createMs: 5, readyMs: 5, stopMs: 5, backoffMs: 20, crashRunMs: 10 };

describe('the fault control API over HTTP (spawnkeeper sim --faults)', () => {
  const startSim = simulatorPerTest({ seed: 21, kubelet: fast });
  let control: ControlServer | undefined;
  afterEach(async () => {
    await control?.close();
    control = undefined;
  });
  const start = async (): Promise<{
    sim: Simulator;
    call: (name: string, args?: object) => Promise<{ status: number; json: Record<string, unknown> }>;
  }> => {
    const sim = await startSim();
    control = await startControlServer(sim);
    const url = control.url;
    return { sim, call: async (name, args = {}) => raw(`${url}/${name}`, 'POST', JSON.stringify(args)) };
  };

  it('lists every control call at GET / on a loopback port of its own', async () => {
    const { sim } = await start();
    expect(control?.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(control?.port).not.toBe(sim.port);
    const index = await raw(`${control?.url ?? ''}/`, 'GET');
    expect((index.json['actions'] as { call: string }[]).map((a) => a.call)).toEqual(CONTROL_ACTIONS.map((a) => `POST /${a.name}`));
    expect((await raw(`${control?.url ?? ''}/fail-next`, 'GET')).status).toBe(405);
    expect((await raw(`${control?.url ?? ''}/no-such-call`, 'POST', '{}')).status).toBe(404);
  });

  it('fails the next calls of a verb with the status asked for, then serves again', async () => {
    const { sim, call } = await start();
    expect((await call('fail-next', { count: 2, status: 503, verbs: ['list'] })).status).toBe(200);
    const api = coreApi(sim.url);
    for (let i = 0; i < 2; i++)
      expect(statusOf(await api.listNamespacedPod({ namespace: 'default' }).catch((e: unknown) => e))).toMatchObject({
        code: 503,
        reason: 'ServiceUnavailable',
      });
    expect((await api.listNamespacedPod({ namespace: 'default' })).items).toEqual([]);
  });

  it('answers a bad argument with 400 naming it, and changes nothing', async () => {
    const { sim, call } = await start();
    const before = sim.faults.log().length;
    const bad = [
      ['fail-next', { count: 1, status: 503, verb: ['list'] }, 'unknown argument: verb'],
      ['fail-calls', { fraction: 2 }, 'fraction must be a number from 0 to 1, got 2'],
      ['kubelet/fail-pods', { name: 'p', mode: { kind: 'meltdown' } }, 'mode.kind must be one of'],
      ['kubelet/fail-pods', { name: 'p', mode: { kind: 'crashLoop', exitCode: 'x' } }, 'mode.exitCode must be a non-negative integer'],
      ['schedule', { durationMs: 1000, kinds: ['earthquake'] }, 'kinds must be a non-empty list of'],
    ] as const;
    for (const [name, args, message] of bad) {
      const res = await call(name, args);
      expect([name, res.status, String(res.json['error'])]).toEqual([name, 400, expect.stringContaining(message)]);
    }
    expect((await raw(`${control?.url ?? ''}/clear`, 'POST', '{oops')).status).toBe(400);
    expect(sim.faults.log()).toHaveLength(before);
    expect((await coreApi(sim.url).listNamespacedPod({ namespace: 'default' })).items).toEqual([]);
    const missing = await call('kubelet/evict', { pod: 'nobody' });
    expect([missing.status, (missing.json['status'] as { reason: string }).reason]).toEqual([404, 'NotFound']);
  });

  it('refuses connections to the API port for forMs while the control port keeps answering', async () => {
    const { sim, call } = await start();
    expect((await call('refuse-connections', { forMs: 300 })).json).toMatchObject({ ok: true, refusing: true });
    await expect(fetch(`${sim.url}/version`)).rejects.toThrow();
    expect((await raw(`${control?.url ?? ''}/state`, 'GET')).json).toMatchObject({ refusing: true });
    await waitFor(
      'the API port back',
      async () => ((await fetch(`${sim.url}/version`).catch(() => undefined))?.ok === true ? true : undefined),
      5_000,
    );
    expect(sim.faults.log().map((r) => r.kind)).toEqual(['refuse', 'accept']);
  });

  it('gives future pods each kubelet failure: image pull, crash loop, never ready, node lost', async () => {
    const { sim, call } = await start();
    for (const [name, mode] of [
      ['pull', { kind: 'imagePull' }],
      ['crash', { kind: 'crashLoop' }],
      ['lazy', { kind: 'neverReady' }],
      ['far', { kind: 'nodeLost', afterMs: 0, evictAfterMs: 60_000 }],
    ] as const) {
      expect((await call('kubelet/fail-pods', { name, mode })).status).toBe(200);
    }
    const api = coreApi(sim.url);
    for (const name of ['pull', 'crash', 'lazy', 'far']) await api.createNamespacedPod({ namespace: 'default', body: podBody(name) });
    const read = async (name: string): Promise<V1Pod> => api.readNamespacedPod({ namespace: 'default', name });
    const ready = (p: V1Pod): string | undefined => p.status?.conditions?.find((c) => c.type === 'Ready')?.status;
    await waitFor('ErrImagePull', async () =>
      (await read('pull')).status?.containerStatuses?.[0]?.state?.waiting?.reason === 'ErrImagePull' ? true : undefined,
    );
    await waitFor('CrashLoopBackOff', async () =>
      (await read('crash')).status?.containerStatuses?.[0]?.state?.waiting?.reason === 'CrashLoopBackOff' ? true : undefined,
    );
    await waitFor('running, not ready', async () => {
      const p = await read('lazy');
      return p.status?.phase === 'Running' && ready(p) === 'False' && p.status.containerStatuses?.[0]?.started === true ? true : undefined;
    });
    await waitFor('node lost', async () =>
      (await read('far')).status?.conditions?.find((c) => c.type === 'Ready')?.reason === 'NodeLost' ? true : undefined,
    );
    expect(sim.events().some((e) => e.reason === 'Unhealthy' && e.involvedObject.name === 'lazy')).toBe(true);
  });

  it('loses and restores a node, flips readiness, and replaces a pod with a new uid under the same name', async () => {
    const { sim, call } = await start();
    const api = coreApi(sim.url);
    const first = await api.createNamespacedPod({ namespace: 'default', body: podBody('p1') });
    await waitFor('ready', () =>
      sim.pods()[0]?.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ? true : undefined,
    );
    expect((await call('kubelet/set-ready', { pod: 'p1', ready: false })).json).toMatchObject({
      status: { phase: 'Running', conditions: expect.arrayContaining([expect.objectContaining({ type: 'Ready', status: 'False' })]) },
    });
    expect((await call('kubelet/set-ready', { pod: 'p1', ready: true })).json).toMatchObject({
      status: { conditions: expect.arrayContaining([expect.objectContaining({ type: 'Ready', status: 'True' })]) },
    });
    await call('kubelet/lose-node', { node: 'sim-node-1', evictAfterMs: 60_000 });
    expect(sim.pods()[0]?.status.conditions?.find((c) => c.type === 'Ready')).toMatchObject({ status: 'False', reason: 'NodeLost' });
    await call('kubelet/restore-node', { node: 'sim-node-1' });
    expect(sim.pods()[0]?.status.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');

    const w = await recordWatch(sim.url, '/api/v1/namespaces/default/pods', { resourceVersion: String(sim.cluster.resourceVersion()) });
    const replaced = (await call('cluster/replace-pod', { pod: 'p1' })).json as { metadata: { uid: string; name: string } };
    expect(replaced.metadata.name).toBe('p1');
    expect(replaced.metadata.uid).not.toBe(first.metadata?.uid);
    await waitFor('DELETED then ADDED', () => (w.events.length >= 2 ? true : undefined));
    w.abort();
    expect(w.events.slice(0, 2).map((e) => [e.type, (e.object.metadata as { uid: string }).uid])).toEqual([
      ['DELETED', first.metadata?.uid],
      ['ADDED', replaced.metadata.uid],
    ]);
    await waitFor('the new pod ready', () =>
      sim.pods()[0]?.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ? true : undefined,
    );
  });

  it('restores an etcd snapshot: objects and resourceVersions go back, watches are cut, the kubelet carries on', async () => {
    const { sim, call } = await start();
    const api = coreApi(sim.url);
    await api.createNamespacedPod({ namespace: 'default', body: podBody('kept') });
    await waitFor('kept ready', () => (sim.pods()[0]?.status.phase === 'Running' ? true : undefined));
    const backup = (await call('cluster/snapshot')).json as { snapshot: number; resourceVersion: number };
    await api.createNamespacedPod({ namespace: 'default', body: podBody('lost') });
    await api.deleteNamespacedPod({ namespace: 'default', name: 'kept' });
    const w = await recordWatch(sim.url, '/api/v1/namespaces/default/pods', { resourceVersion: String(sim.cluster.resourceVersion()) });
    const later = sim.cluster.resourceVersion();
    expect((await call('cluster/restore', { snapshot: backup.snapshot })).json).toMatchObject({ resourceVersion: backup.resourceVersion });
    await w.ended;
    expect(sim.cluster.resourceVersion()).toBeLessThan(later);
    expect(sim.pods().map((p) => p.metadata.name)).toEqual(['kept']);
    await api.deleteNamespacedPod({ namespace: 'default', name: 'kept' });
    await waitFor('kept gone after a graceful delete', () => (sim.pods().length === 0 ? true : undefined));
    expect((await call('cluster/restore', { snapshot: 9 })).status).toBe(404);
  });

  it('runs the seeded schedule the in-process planner makes, and logs what struck when, in order', async () => {
    const { sim, call } = await start();
    const options = { durationMs: 60_000, seed: 5, meanGapMs: 1000, meanEpisodeMs: 500 };
    const res = await call('schedule', options);
    expect(res.json['plan']).toEqual(planFaults(options));
    await call('stop-schedule');
    await call('drop-watch-events', { fraction: 0.5 });
    const log = sim.faults.log();
    expect(log.map((r) => r.detail)).toEqual([
      'runSchedule durationMs=60000 seed=5 meanGapMs=1000 meanEpisodeMs=500 episodes=' + String((res.json['plan'] as unknown[]).length),
      'stopSchedule',
      'dropWatchEvents fraction=0.5',
    ]);
    expect(log.map((r) => Date.parse(r.at))).toEqual([...log.map((r) => Date.parse(r.at))].sort((a, b) => a - b));
    expect((await raw(`${control?.url ?? ''}/log`, 'GET')).json['log']).toEqual(log);
  });

  it('is started by spawnkeeper sim --faults, which prints both URLs and closes both', async () => {
    const lines: string[] = [];
    const sim = await runSimCli(['--faults', '--seed', '3'], { out: (l) => lines.push(l) });
    const controlUrl = /fault control API listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(lines.join('\n'))?.[1] ?? '';
    expect(lines[0]).toContain(sim?.url ?? 'missing');
    expect((await raw(`${controlUrl}/state`, 'GET')).json).toMatchObject({ simulator: sim?.url, seed: 3 });
    await sim?.close();
    await expect(fetch(`${controlUrl}/state`)).rejects.toThrow();
  });
});
