import { makeInformer } from '@kubernetes/client-node';
import type { V1Pod } from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import type { Simulator, SimulatorOptions } from '../../src/sim/index.js';
import { ManualClock, planFaults, startSimulator } from '../../src/sim/index.js';
import { coreApi, kubeConfig, podBody, recordWatch, statusOf, waitFor } from './sim-helpers.js';

const PODS = '/api/v1/namespaces/default/pods';
const idle = { scheduleMs: 60_000 };

describe('simulated API server: fault injection', () => {
  let sim: Simulator | undefined;
  const start = async (options: SimulatorOptions = {}): Promise<Simulator> => {
    sim = await startSimulator({ seed: 9, kubelet: idle, ...options });
    return sim;
  };
  afterEach(async () => {
    await sim?.close();
    sim = undefined;
  });
  const create = (s: Simulator, name: string): Promise<V1Pod> =>
    coreApi(s.url).createNamespacedPod({ namespace: 'default', body: podBody(name) });

  it('drops watch events silently while told to, and delivers again once cleared', async () => {
    const s = await start();
    const w = await recordWatch(s.url, PODS, { resourceVersion: String(s.cluster.resourceVersion()) });
    s.faults.dropWatchEvents(1);
    await create(s, 'lost-1');
    await create(s, 'lost-2');
    s.faults.dropWatchEvents(0);
    await create(s, 'seen');
    await waitFor('an event', () => w.events[0]);
    expect(w.isEnded()).toBe(false);
    w.abort();
    expect(w.events.map((e) => e.object.metadata?.name)).toEqual(['seen']);
    expect(s.faults.log().filter((r) => r.kind === 'drop')).toHaveLength(2);
  });

  it('holds watch events back by the set delay and still sends them in order', async () => {
    const clock = new ManualClock();
    const s = await start({ clock });
    const w = await recordWatch(s.url, PODS, { resourceVersion: String(s.cluster.resourceVersion()) });
    s.faults.delayWatchEvents(1_000);
    await create(s, 'first');
    clock.advance(500);
    s.faults.delayWatchEvents(0);
    await create(s, 'second');
    await new Promise((r) => setTimeout(r, 30));
    expect(w.events).toEqual([]);
    clock.advance(500);
    await waitFor('both events', () => (w.events.length === 2 ? true : undefined));
    w.abort();
    expect(w.events.map((e) => e.object.metadata?.name)).toEqual(['first', 'second']);
  });

  it('forgets a watch whose client left while its slow answer was held back', async () => {
    const clock = new ManualClock();
    const s = await start({ clock });
    s.faults.slowCalls({ fraction: 1, delayMs: 1_000, verbs: ['watch'] });
    const abort = new AbortController();
    const pending = fetch(`${s.url}${PODS}?watch=true`, { signal: abort.signal }).catch((e: unknown) => e);
    await waitFor('slow watch held', () => (s.faults.log().some((r) => r.kind === 'slow') ? true : undefined));
    abort.abort();
    expect(await pending).toBeInstanceOf(Error);
    await new Promise((r) => setTimeout(r, 30));
    clock.advance(1_000);
    expect(s.cluster.openWatches()).toBe(0);
  });

  it('cuts open watches with a reset, or ends them cleanly when asked', async () => {
    const s = await start();
    const reset = await recordWatch(s.url, PODS, {});
    const ok = await waitFor('one watch', () => (s.cluster.openWatches() === 1 ? true : undefined));
    expect(ok).toBe(true);
    expect(s.faults.cutWatches()).toBe(1);
    expect(await reset.ended).toBeInstanceOf(Error);
    const clean = await recordWatch(s.url, PODS, {});
    await waitFor('one watch', () => (s.cluster.openWatches() === 1 ? true : undefined));
    expect(s.faults.cutWatches({ clean: true })).toBe(1);
    expect(await clean.ended).toBeNull();
    expect(s.cluster.openWatches()).toBe(0);
  });

  it('stalls watches: open ones stay connected but silent, and new ones get headers and nothing more', async () => {
    const s = await start();
    await create(s, 'existing');
    const old = await recordWatch(s.url, PODS, { resourceVersion: String(s.cluster.resourceVersion()) });
    await waitFor('one watch', () => (s.cluster.openWatches() === 1 ? true : undefined));
    expect(s.faults.stallWatches()).toBe(1);
    const fresh = await recordWatch(s.url, PODS, {});
    await create(s, 'unseen');
    await new Promise((r) => setTimeout(r, 50));
    expect(old.events).toEqual([]);
    expect(fresh.events).toEqual([]);
    expect(old.isEnded() || fresh.isEnded()).toBe(false);
    await s.faults.clear();
    const after = await recordWatch(s.url, PODS, {});
    await waitFor('two ADDED', () => (after.events.length === 2 ? true : undefined));
    for (const w of [old, fresh, after]) w.abort();
    expect(after.events.map((e) => e.object.metadata?.name)).toEqual(['existing', 'unseen']);
  });

  it('expires open watches with an in-stream 410 ERROR', async () => {
    const s = await start();
    const w = await recordWatch(s.url, PODS, { resourceVersion: String(s.cluster.resourceVersion()) });
    await waitFor('one watch', () => (s.cluster.openWatches() === 1 ? true : undefined));
    expect(s.faults.expireWatches()).toBe(1);
    expect(await w.ended).toBeNull();
    expect(w.events).toEqual([
      { type: 'ERROR', object: expect.objectContaining({ kind: 'Status', code: 410, reason: 'Expired' }) as unknown },
    ]);
  });

  it('fails the next list with 410 Expired and then answers normally', async () => {
    const s = await start();
    const api = coreApi(s.url);
    s.faults.failNext(1, { status: 410, verbs: ['list'] });
    const err: unknown = await api.listNamespacedPod({ namespace: 'default' }).catch((e: unknown) => e);
    expect(statusOf(err)).toMatchObject({ kind: 'Status', code: 410, reason: 'Expired' });
    expect((await api.listNamespacedPod({ namespace: 'default' })).items).toEqual([]);
  });

  it('answers the next watch with HTTP 410, after which makeInformer relists', async () => {
    const s = await start();
    const api = coreApi(s.url);
    let lists = 0;
    const informer = makeInformer(kubeConfig(s.url), PODS, () => {
      lists += 1;
      return api.listNamespacedPod({ namespace: 'default' });
    });
    const errors: unknown[] = [];
    informer.on('error', (err: unknown) => errors.push(err));
    await informer.start();
    await waitFor('watching', () => (s.cluster.openWatches() === 1 ? true : undefined));
    s.faults.failNext(1, { status: 410, verbs: ['watch'] });
    s.faults.cutWatches({ clean: true });
    await waitFor('relisted and watching', () => (lists === 2 && s.cluster.openWatches() === 1 ? true : undefined));
    const errorsBeforeStop = [...errors];
    await informer.stop();
    expect(errorsBeforeStop).toEqual([]);
    expect(s.faults.log()).toContainEqual(expect.objectContaining({ kind: 'failNext', verb: 'watch', status: 410 }));
  });

  it('answers calls with 500 InternalError or 504 Timeout Status objects while told to', async () => {
    const s = await start();
    const api = coreApi(s.url);
    s.faults.failCalls({ fraction: 1 });
    const e500: unknown = await api.listNamespacedPod({ namespace: 'default' }).catch((e: unknown) => e);
    expect(statusOf(e500)).toMatchObject({ kind: 'Status', status: 'Failure', code: 500, reason: 'InternalError' });
    s.faults.failCalls({ fraction: 1, status: 504, verbs: ['create'] });
    const e504: unknown = await create(s, 'p1').catch((e: unknown) => e);
    expect(statusOf(e504)).toMatchObject({ code: 504, reason: 'Timeout' });
    expect((await api.listNamespacedPod({ namespace: 'default' })).items).toEqual([]);
    await s.faults.clear();
    expect((await create(s, 'p1')).metadata?.name).toBe('p1');
  });

  it('holds a slow call until the simulated delay has passed', async () => {
    const clock = new ManualClock();
    const s = await start({ clock });
    s.faults.slowCalls({ fraction: 1, delayMs: 5_000, verbs: ['get'] });
    await create(s, 'p1');
    let settled = false;
    const read = coreApi(s.url)
      .readNamespacedPod({ name: 'p1', namespace: 'default' })
      .finally(() => {
        settled = true;
      });
    await waitFor('slow call registered', () => (s.faults.log().some((r) => r.kind === 'slow') ? true : undefined));
    clock.advance(4_999);
    await new Promise((r) => setTimeout(r, 30));
    expect(settled).toBe(false);
    clock.advance(1);
    expect((await read).metadata?.name).toBe('p1');
  });

  it('refuses connections by closing the listening socket, then listens again on the same port', async () => {
    const s = await start();
    const w = await recordWatch(s.url, PODS, {});
    await s.faults.refuseConnections();
    expect(s.faults.isRefusing()).toBe(true);
    const refused: unknown = await fetch(`${s.url}/api`).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(Error);
    expect((refused as Error & { cause?: { code?: string } }).cause?.code).toBe('ECONNREFUSED');
    expect(await w.ended).toBeInstanceOf(Error);
    await s.faults.acceptConnections();
    const res = await fetch(`${s.url}/api`);
    expect(res.status).toBe(200);
  });

  it('reopens by itself after a timed refusal, and an informer restarted from its error handler recovers', async () => {
    const s = await start();
    const api = coreApi(s.url);
    const names = new Set<string>();
    const errors: unknown[] = [];
    const informer = makeInformer(kubeConfig(s.url), PODS, () => api.listNamespacedPod({ namespace: 'default' }));
    informer.on('add', (p: V1Pod) => names.add(p.metadata?.name ?? ''));
    informer.on('error', (err: unknown) => {
      errors.push(err);
      setTimeout(() => void informer.start().catch((e: unknown) => errors.push(e)), 20);
    });
    await informer.start();
    await waitFor('watching', () => (s.cluster.openWatches() === 1 ? true : undefined));
    await s.faults.refuseConnections(150);
    await waitFor('listening again', () => (s.faults.isRefusing() ? undefined : true));
    await create(s, 'after-outage');
    await waitFor('informer caught up', () => (names.has('after-outage') ? true : undefined));
    await informer.stop();
    expect(errors.length).toBeGreaterThan(0);
    expect(s.faults.log().map((r) => r.kind)).toContain('refuse');
  });

  it('makes the same fault decisions under the same seed, and different ones under another', async () => {
    const trace = async (seed: number): Promise<string> => {
      const s = await startSimulator({ seed, kubelet: idle });
      try {
        s.faults.failCalls({ fraction: 0.5, status: 503 });
        const api = coreApi(s.url);
        const codes: number[] = [];
        for (let i = 0; i < 24; i++) {
          codes.push(
            await api.listNamespacedPod({ namespace: 'default' }).then(
              () => 200,
              (e: unknown) => (e as { code: number }).code,
            ),
          );
        }
        return codes.join(',');
      } finally {
        await s.close();
      }
    };
    const a = await trace(1234);
    expect(await trace(1234)).toBe(a);
    expect(await trace(4321)).not.toBe(a);
    expect(a).toContain('503');
    expect(a).toContain('200');
  });

  it('plans a fault schedule as a pure function of its seed', () => {
    const options = { durationMs: 600_000, meanGapMs: 10_000, meanEpisodeMs: 3_000 };
    const plan = planFaults({ ...options, seed: 77 });
    expect(planFaults({ ...options, seed: 77 })).toEqual(plan);
    expect(planFaults({ ...options, seed: 78 })).not.toEqual(plan);
    expect(plan.length).toBeGreaterThan(10);
    for (let i = 1; i < plan.length; i++) {
      const prev = plan[i - 1];
      const cur = plan[i];
      expect(prev !== undefined && cur !== undefined && cur.atMs >= prev.atMs + prev.durationMs).toBe(true);
    }
    expect(plan.every((ep) => ep.atMs + ep.durationMs < options.durationMs)).toBe(true);
  });

  it('runs a seeded schedule on the simulated clock, starting and ending each episode on time', async () => {
    const clock = new ManualClock();
    const s = await start({ clock });
    const plan = s.faults.runSchedule({ durationMs: 60_000, kinds: ['failCalls'], fraction: 1, meanGapMs: 5_000, meanEpisodeMs: 2_000 });
    const first = plan[0];
    expect(first?.kind).toBe('failCalls');
    if (first === undefined) return;
    const api = coreApi(s.url);
    const list = (): Promise<number> =>
      api.listNamespacedPod({ namespace: 'default' }).then(
        () => 200,
        (e: unknown) => (e as { code: number }).code,
      );
    clock.advance(first.atMs - 1);
    expect(await list()).toBe(200);
    clock.advance(1);
    expect(await list()).toBe(first.status);
    clock.advance(first.durationMs);
    expect(await list()).toBe(200);
    s.faults.stopSchedule();
  });

  it('clears every fault at once', async () => {
    const s = await start();
    s.faults.dropWatchEvents(1);
    s.faults.failCalls({ fraction: 1 });
    s.faults.slowCalls({ fraction: 1, delayMs: 60_000 });
    s.faults.failNext(5);
    s.faults.stallWatches();
    await s.faults.refuseConnections();
    await s.faults.clear();
    expect(s.faults.isRefusing()).toBe(false);
    const w = await recordWatch(s.url, PODS, { resourceVersion: String(s.cluster.resourceVersion()) });
    await create(s, 'p1');
    await waitFor('event', () => w.events[0]);
    w.abort();
    expect(w.events[0]?.object.metadata?.name).toBe('p1');
  });
});
