import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Spawnkeeper } from '../../src/index.js';
import { ConfigError, RuntimeClosedError, WaitTimeoutError, createSpawnkeeper, kubeConfigFor } from '../../src/index.js';
import type { Simulator } from '../../src/sim/index.js';
import { startSimulator } from '../../src/sim/index.js';
import { tempDir } from '../support/harness.js';
import { FAST_KUBELET, TEST_ENGINE } from './hub-helpers.js';

describe('the engine as a package user sees it', () => {
  let sim: Simulator;
  let tmp: ReturnType<typeof tempDir>;
  let sk: Spawnkeeper;
  beforeAll(async () => {
    sim = await startSimulator({ seed: 12, kubelet: FAST_KUBELET });
    tmp = tempDir('spawnkeeper-facade-');
    sk = await createSpawnkeeper({ db: `${tmp.dir}/sk.db`, cluster: kubeConfigFor(sim.url), config: TEST_ENGINE });
  });
  afterAll(async () => {
    await sk.close();
    await sim.close();
    tmp.cleanup();
  });

  it('shows methods and its settings only, none of its parts', () => {
    expect(Object.keys(sk).sort()).toEqual(
      [
        'close',
        'config',
        'get',
        'health',
        'history',
        'historyStats',
        'list',
        'onForget',
        'replayCheck',
        'retireWhen',
        'start',
        'stats',
        'stop',
        'subscribe',
        'timers',
        'waitFor',
      ].sort(),
    );
    for (const part of ['runtime', 'store', 'reflector', 'sweeper', 'lease', 'retention', 'historyStore']) expect(part in sk).toBe(false);
  });

  it('tells status, timers, health and stats through its own types', async () => {
    const before = sk.stats();
    const pending = await sk.start('fay');
    expect(pending.state).toBe('spawn_pending');
    expect(sk.timers('fay').map((t) => [t.delay, t.state])).toContainEqual(['startTimeout', 'server.spawn_pending']);
    // Due times are told in wall time, converted from the monotonic clock at each reading: equal within a few ms.
    const startDue = sk.timers('fay').find((t) => t.delay === 'startTimeout')?.dueAt ?? NaN;
    expect(Math.abs((pending.deadline ?? NaN) - startDue)).toBeLessThan(50);
    const running = await sk.waitFor('fay', '', (s) => s.ready, 10_000);
    expect(running.failure).toBeNull();
    expect(running.podUid).toBe(sim.pods().find((p) => p.metadata.name === running.podName)?.metadata.uid);
    const after = sk.stats();
    expect(after.commits).toBeGreaterThan(before.commits);
    expect(after.events).toBeGreaterThan(before.events);
    expect(after.watch.events).toBeGreaterThan(0);
    const health = sk.health();
    expect(health.failure).toBeNull();
    expect(health.servers).toBe(1);
  });

  it('ends a wait that runs out with a WaitTimeoutError that names the state the server is in', async () => {
    const err = await sk.waitFor('fay', '', (s) => s.state === 'failed', 30).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WaitTimeoutError);
    expect((err as WaitTimeoutError).detail).toBe('running.ready');
  });

  it('refuses a bad delay with a ConfigError naming its path before it opens the database', async () => {
    const db = `${tmp.dir}/never.db`;
    const err = await createSpawnkeeper({ db, cluster: kubeConfigFor(sim.url), config: { delays: { pollInterval: -5 } } }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).path).toBe('delays.pollInterval');
    expect(existsSync(db)).toBe(false);
  });

  it('drops a server retireWhen names once its history is older than the age, tells onForget, and counts it in historyStats', async () => {
    const other = await createSpawnkeeper({
      db: `${tmp.dir}/retire.db`,
      cluster: kubeConfigFor(sim.url),
      config: { ...TEST_ENGINE, instance: 'retire', retention: { maxAgeMs: 0, lifecycles: 1, intervalMs: 20 } },
    });
    try {
      const fresh = other.historyStats();
      expect(fresh.bytes).toBeGreaterThan(0);
      expect(fresh.totals.droppedServers).toBe(0);
      await other.start('hal');
      await other.waitFor('hal', '', (s) => s.ready, 10_000);
      await other.start('ivy');
      await other.waitFor('ivy', '', (s) => s.ready, 10_000);
      await other.stop('hal');
      await other.waitFor('hal', '', (s) => s.state === 'stopped', 10_000);
      const forgotten = new Promise<string>((resolve) => other.onForget(resolve));
      const asked: [string, string][] = [];
      other.retireWhen((user, name) => {
        asked.push([user, name]);
        return user === 'hal';
      });
      expect(await forgotten).toBe('hal/');
      expect(asked).toContainEqual(['hal', '']);
      expect(other.get('hal')).toBeUndefined();
      expect(other.get('ivy')?.state).toBe('running');
      // The pass adds to the totals as it ends, after it has dropped the server.
      await vi.waitFor(() => expect(other.historyStats().totals.droppedServers).toBe(1), { timeout: 5_000 });
      const stats = other.historyStats();
      expect(stats.lastPassMs).not.toBeNull();
      expect(stats.counts?.events).toBeGreaterThan(0);
    } finally {
      await other.close();
    }
  });

  it('refuses commands once closed with a RuntimeClosedError', async () => {
    const other = await createSpawnkeeper({
      db: `${tmp.dir}/closed.db`,
      cluster: kubeConfigFor(sim.url),
      config: { ...TEST_ENGINE, instance: 'closed' },
    });
    await other.close();
    await expect(other.start('gus')).rejects.toBeInstanceOf(RuntimeClosedError);
  });
});
