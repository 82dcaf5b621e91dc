import { describe, expect, it } from 'vitest';
import { backoffDelay, equalJitter } from '../../machines/backoff.js';
import { InvalidDelayError, configureServerMachine, serverMachine } from '../../machines/server.machine.js';
import { parseTimerId } from '../../machines/timer-id.js';
import type { AnyStateNode } from 'xstate';
import { ManualClock, sleep } from '../../src/core/clock.js';
import { ConfigError } from '../../src/core/schema.js';
import { waitUntil } from '../../src/core/wait.js';
import { checkLeaseTimings } from '../../src/kube/lease.js';
import { OrphanSweeper } from '../../src/kube/sweeper.js';

describe('backoff', () => {
  it('doubles from the first wait per attempt and never exceeds its cap, however many attempts failed', () => {
    const b = { initialMs: 200, maxMs: 30_000 };
    expect([0, 1, 2, 3, 4, 5, 6, 7, 8].map((n) => backoffDelay(b, n))).toEqual([
      200, 400, 800, 1_600, 3_200, 6_400, 12_800, 25_600, 30_000,
    ]);
    for (const n of [9, 40, 1_000, Number.MAX_SAFE_INTEGER]) expect(backoffDelay(b, n)).toBe(30_000);
    expect(backoffDelay({ initialMs: 1, maxMs: Number.MAX_VALUE }, 10_000)).toBe(2 ** 30);
  });

  it('spreads a wait over its upper half with equal jitter', () => {
    expect(equalJitter(1_000, 0)).toBe(500);
    expect(equalJitter(1_000, 0.5)).toBe(750);
    expect(equalJitter(1_000, 0.999)).toBeLessThan(1_000);
  });

  it("gives the machine's re-create wait by the same schedule as the configured retryBackoff and retryBackoffMax", () => {
    const machine = configureServerMachine({ retryBackoff: 300, retryBackoffMax: 2_000 });
    const delay = machine.implementations.delays['retryBackoff'] as (a: { context: { attempt: number } }) => number;
    expect([0, 1, 2, 3, 10].map((attempt) => delay({ context: { attempt } }))).toEqual([300, 600, 1_200, 2_000, 2_000]);
  });
});

describe('timer ids', () => {
  it("reads the delay, the state and its path from every delayed transition's event of the server machine", () => {
    const seen: string[] = [];
    const visit = (node: AnyStateNode) => {
      for (const t of node.after) {
        expect(parseTimerId(t.eventType)).toEqual({ delay: String(t.delay), state: node.id, path: node.path.join('.') });
        seen.push(t.eventType);
      }
      for (const child of Object.values(node.states)) visit(child);
    };
    visit(serverMachine.root);
    expect(seen).toContain('xstate.after.startTimeout.server.spawn_pending');
    expect(seen.length).toBeGreaterThan(10);
  });

  it('reads nothing from an event that is not a delayed transition', () => {
    expect(parseTimerId('pod.observed')).toBeUndefined();
    expect(parseTimerId('server.start')).toBeUndefined();
  });
});

describe('invalid settings', () => {
  it('refuses a delay that is not a positive number with an InvalidDelayError naming it', () => {
    for (const bad of [0, -1, Number.NaN, Infinity]) {
      let caught: unknown;
      try {
        configureServerMachine({ pollInterval: bad });
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(InvalidDelayError);
      expect((caught as InvalidDelayError).delay).toBe('pollInterval');
    }
  });

  it('refuses lease timings that would let two hubs act at once with a ConfigError naming the lease', () => {
    let caught: unknown;
    try {
      checkLeaseTimings({ durationMs: 10_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    expect((caught as ConfigError).path).toBe('lease');
    expect((caught as ConfigError).message).toMatch(/renewDeadlineMs .* must be less than durationMs/);
  });
});

/** Box is a value that changes and tells its listeners, as the runtime tells of committed steps. */
class Box {
  value = 0;
  private readonly listeners = new Set<() => void>();
  set(v: number): void {
    this.value = v;
    for (const l of [...this.listeners]) l();
  }
  subscribe(changed: () => void): () => void {
    this.listeners.add(changed);
    return () => this.listeners.delete(changed);
  }
  get size(): number {
    return this.listeners.size;
  }
}

describe('waiting for a state', () => {
  const wait = (clock: ManualClock, box: Box, until: (v: number) => boolean, ms: number, signal?: AbortSignal) =>
    waitUntil({ clock, read: () => box.value, subscribe: (c) => box.subscribe(c), until, ms, signal });

  it('answers at once when the state already holds, and after the change that brings it otherwise, leaving no timer or listener', async () => {
    const clock = new ManualClock();
    const box = new Box();
    expect(await wait(clock, box, (v) => v === 0, 1_000)).toBe(0);
    const pending = wait(clock, box, (v) => v >= 2, 1_000);
    box.set(1);
    box.set(2);
    expect(await pending).toBe(2);
    expect(clock.pending()).toBe(0);
    expect(box.size).toBe(0);
  });

  it('gives up when its time passes on the injected clock, not on the wall clock', async () => {
    const clock = new ManualClock();
    const box = new Box();
    let settled = false;
    const pending = wait(clock, box, (v) => v === 5, 60_000).then((v) => {
      settled = true;
      return v;
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(settled).toBe(false);
    clock.advance(60_000);
    expect(await pending).toBeUndefined();
    expect(box.size).toBe(0);
  });

  it('ends early when its signal aborts, and at once when it already has or no time is left', async () => {
    const clock = new ManualClock();
    const box = new Box();
    const abort = new AbortController();
    const pending = wait(clock, box, (v) => v === 5, 60_000, abort.signal);
    abort.abort();
    expect(await pending).toBeUndefined();
    expect(await wait(clock, box, (v) => v === 5, 60_000, abort.signal)).toBeUndefined();
    expect(await wait(clock, box, (v) => v === 5, 0)).toBeUndefined();
    expect(clock.pending()).toBe(0);
  });
});

describe('stopping', () => {
  it('a sleep ends at once when its signal has already aborted, not after its whole wait', async () => {
    const clock = new ManualClock();
    const abort = new AbortController();
    abort.abort();
    let woke = false;
    const pending = sleep(clock, 60_000, abort.signal).then(() => (woke = true));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(woke).toBe(true);
    await pending;
    expect(clock.pending()).toBe(0);
  });

  it('a sweeper stopped while a call of its sweep is in flight ends without waiting out its interval', async () => {
    // The race behind a hub that ignored SIGTERM for a minute: the stop aborts the Secrets list, and the
    // loop's sleep then began on a signal that had already aborted.
    const clock = new ManualClock();
    const abort = new AbortController();
    const sweeper = new OrphanSweeper({
      store: { orphans: () => [], removeOrphan: () => undefined },
      pods: { deleteExact: () => Promise.resolve('gone' as const) },
      secrets: {
        listSecrets: (signal) =>
          new Promise((_, reject) => {
            abort.abort();
            reject(signal?.reason as Error);
          }),
        deleteSecret: () => Promise.resolve('gone' as const),
      },
      ourPods: () => [],
      stateOf: () => undefined,
      clock,
      intervalMs: 60_000,
    });
    let ended = false;
    const running = sweeper.start(abort.signal).then(() => (ended = true));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(ended).toBe(true);
    await running;
    expect(clock.pending()).toBe(0);
  });
});
