import { CoordinationV1Api } from '@kubernetes/client-node';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LeaseElector, checkLeaseTimings } from '../../src/kube/lease.js';
import { KubeLeaseStore } from '../../src/kube/lease-store.js';
import { systemClock } from '../../src/core/clock.js';
import type { Simulator } from '../../src/sim/index.js';
import { startSimulator } from '../../src/sim/index.js';
import { eventually } from '../support/live.js';
import { kubeConfig, leases } from './sim-helpers.js';

const TIMINGS = { durationMs: 2_000, renewDeadlineMs: 1_000, retryPeriodMs: 200 };

interface Running {
  readonly elector: LeaseElector;
  /** stop ends the loop as a crash would: no release. */
  stop(): Promise<void>;
}

describe('lease elector: client-go leader election on the simulator', () => {
  let sim: Simulator;
  const started: Running[] = [];
  const run = (identity: string): Running => {
    const elector = new LeaseElector({
      ...TIMINGS,
      store: new KubeLeaseStore(kubeConfig(sim.url).makeApiClient(CoordinationV1Api), 'default', 'spawnkeeper-hub'),
      identity,
      clock: systemClock,
    });
    const abort = new AbortController();
    const loop = elector.start(abort.signal);
    const r = {
      elector,
      stop: async () => {
        abort.abort();
        await loop;
      },
    };
    started.push(r);
    return r;
  };
  const lease = () => leases(sim)[0]?.spec;

  beforeEach(async () => {
    sim = await startSimulator({ seed: 5 });
  });
  afterEach(async () => {
    await Promise.all(started.splice(0).map((r) => r.stop()));
    await sim.close();
  });

  it('acquires a free lease at once and renews it every retry period', async () => {
    const a = run('hub-a');
    await eventually('acting', () => a.elector.acting, 2_000);
    expect(lease()).toMatchObject({ holderIdentity: 'hub-a', leaseDurationSeconds: 2, leaseTransitions: 0 });
    const first = lease()?.renewTime;
    await eventually('a renewal', () => lease()?.renewTime !== first, 1_000);
    expect(a.elector.status()).toMatchObject({ acting: true, holder: 'hub-a', transitions: 0, reason: null });
  });

  it('makes a second hub wait while the holder renews, and take over only a lease duration after the holder stopped', async () => {
    const a = run('hub-a');
    await eventually('a acting', () => a.elector.acting, 2_000);
    const b = run('hub-b');
    await new Promise((r) => setTimeout(r, TIMINGS.durationMs + 500));
    expect(b.elector.acting).toBe(false);
    expect(b.elector.status().reason).toContain('held by hub-a');
    await a.stop();
    const stoppedAt = Date.now();
    expect(a.elector.acting).toBe(true); // its own tenure runs to the renew deadline, well before the successor's
    await eventually('a stops acting', () => !a.elector.acting, TIMINGS.renewDeadlineMs + 100);
    await eventually('b acting', () => b.elector.acting, TIMINGS.durationMs * 3);
    expect(Date.now() - stoppedAt).toBeGreaterThanOrEqual(TIMINGS.durationMs - TIMINGS.retryPeriodMs);
    expect(lease()).toMatchObject({ holderIdentity: 'hub-b', leaseTransitions: 1 });
    expect(b.elector.epoch).toBe(1);
  });

  it('hands the lease over at once when the holder releases it at shutdown', async () => {
    const a = run('hub-a');
    await eventually('a acting', () => a.elector.acting, 2_000);
    const b = run('hub-b');
    await new Promise((r) => setTimeout(r, 300));
    await a.stop();
    await a.elector.release();
    expect(a.elector.acting).toBe(false);
    const releasedAt = Date.now();
    await eventually('b acting', () => b.elector.acting, TIMINGS.durationMs);
    expect(Date.now() - releasedAt).toBeLessThan(TIMINGS.durationMs);
    expect(lease()?.leaseTransitions).toBe(1);
  });

  it('stops acting within the renew deadline when the API is unreachable, and acts again in the same tenure when it returns', async () => {
    const a = run('hub-a');
    await eventually('acting', () => a.elector.acting, 2_000);
    await sim.faults.refuseConnections();
    const cutAt = Date.now();
    await eventually('stopped acting', () => !a.elector.acting, TIMINGS.renewDeadlineMs + 500);
    expect(Date.now() - cutAt).toBeLessThanOrEqual(TIMINGS.renewDeadlineMs + 100);
    expect(a.elector.status()).toMatchObject({ acting: false, losses: 1 });
    expect(a.elector.status().reason).toContain('could not renew');
    await sim.faults.acceptConnections();
    await eventually('acting again', () => a.elector.acting, 2_000);
    expect(a.elector.epoch).toBe(0);
    expect(lease()?.leaseTransitions).toBe(0);
  });

  it('lets exactly one of several hubs racing for a free lease win it', async () => {
    const hubs = ['hub-a', 'hub-b', 'hub-c', 'hub-d'].map(run);
    await eventually('a holder', () => hubs.some((h) => h.elector.acting), 2_000);
    for (let i = 0; i < 10; i++) {
      expect(hubs.filter((h) => h.elector.acting)).toHaveLength(1);
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(hubs.find((h) => h.elector.acting)?.elector.identity).toBe(lease()?.holderIdentity);
  });

  it('refuses timings under which a holder could still act when another takes over', () => {
    expect(() => checkLeaseTimings({ durationMs: 10_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 })).toThrow(
      /must be less than durationMs/,
    );
    expect(() => checkLeaseTimings({ durationMs: 15_000, renewDeadlineMs: 2_000, retryPeriodMs: 2_000 })).toThrow(/1.2 × retryPeriodMs/);
    expect(() => checkLeaseTimings({ durationMs: 1_500, renewDeadlineMs: 1_000, retryPeriodMs: 200 })).toThrow(/whole seconds/);
    expect(() => checkLeaseTimings({ durationMs: 15_000, renewDeadlineMs: -1, retryPeriodMs: 2_000 })).toThrow(/positive/);
    expect(() => checkLeaseTimings({ durationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 })).not.toThrow();
  });
});
