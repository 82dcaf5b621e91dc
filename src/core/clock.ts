import { performance } from 'node:perf_hooks';
import { onAbort } from './abort.js';

/**
 * Clock is the only way time enters the runtime: tests drive a ManualClock, production the system's.
 * It has two readings. `now()` is wall time (ms since the epoch): it stamps events and is what
 * people read, and it may step forward or back (NTP, a VM resumed, an operator). `monotonic()`
 * never steps: every in-process wait and every "has this long passed" decision is measured on it,
 * and `setTimeout` waits on it.
 */
export interface Clock {
  now(): number;
  /** monotonic is ms on a clock that never steps; only differences between two readings mean anything. */
  monotonic(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

export type TimerHandle = unknown;

/**
 * systemClock reads the wall clock and performance.now(), and uses Node's timers, which already wait
 * on a monotonic clock (unref'd: timers never keep a process alive).
 */
export const systemClock: Clock = {
  now: () => Date.now(),
  monotonic: () => performance.now(),
  setTimeout: (fn, ms) => {
    const handle = setTimeout(fn, Math.max(0, ms));
    handle.unref();
    return handle;
  },
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/** sleep waits on the injected clock; an abort ends it early. */
export function sleep(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted === true) return Promise.resolve();
  return new Promise((resolve) => {
    const handle = clock.setTimeout(() => {
      off();
      resolve();
    }, ms);
    const off = onAbort(signal, () => {
      clock.clearTimeout(handle);
      resolve();
    });
  });
}

interface Scheduled {
  id: number;
  dueAt: number;
  fn: () => void;
}

/**
 * ManualClock is virtual time: nothing fires until `advance` moves it, and then every callback fires
 * at its own due time, in order, with `settle` awaited between them so chained timers cascade.
 * `stepWall` moves the wall clock alone, forward or back, as NTP or an operator would: monotonic
 * time, and so every callback, stays where it was.
 */
export class ManualClock implements Clock {
  private mono: number;
  /** wallOffset is wall time minus monotonic time; only stepWall changes it. */
  private wallOffset: number;
  private nextId = 1;
  private readonly scheduled = new Map<number, Scheduled>();

  /** The wall clock starts at `start`, the monotonic one at `monotonicStart` (by default far apart, so mixing the two shows). */
  constructor(start = 1_700_000_000_000, monotonicStart = 0) {
    this.mono = monotonicStart;
    this.wallOffset = start - monotonicStart;
  }

  now(): number {
    return this.mono + this.wallOffset;
  }

  monotonic(): number {
    return this.mono;
  }

  /** stepWall steps the wall clock by `ms` (negative: back) and fires nothing. */
  stepWall(ms: number): void {
    this.wallOffset += ms;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const id = this.nextId++;
    this.scheduled.set(id, { id, dueAt: this.mono + Math.max(0, ms), fn });
    return id;
  }

  clearTimeout(handle: TimerHandle): void {
    if (typeof handle === 'number') this.scheduled.delete(handle);
  }

  /** pending is how many callbacks wait for time to move; a test can check nothing was left behind. */
  pending(): number {
    return this.scheduled.size;
  }

  /**
   * advance moves time (both readings) forward by `ms`, firing each due callback at its own time, in
   * (due, creation) order. With `settle`, it awaits it after each callback so chained work can run;
   * without, all of it happens before advance returns.
   */
  advance(ms: number): void;
  advance(ms: number, settle: () => Promise<void>): Promise<void>;
  advance(ms: number, settle?: () => Promise<void>): void | Promise<void> {
    const target = this.mono + Math.max(0, ms);
    if (settle === undefined) {
      for (let due = this.takeDue(target); due !== undefined; due = this.takeDue(target)) due.fn();
      this.mono = target;
      return;
    }
    return (async () => {
      await settle(); // as an event loop does, let what is already under way finish before any timer fires
      for (let due = this.takeDue(target); due !== undefined; due = this.takeDue(target)) {
        due.fn();
        await settle();
      }
      this.mono = target;
      await settle();
    })();
  }

  private takeDue(limit: number): Scheduled | undefined {
    const due = this.earliestDue(limit);
    if (due === undefined) return undefined;
    this.scheduled.delete(due.id);
    this.mono = Math.max(this.mono, due.dueAt);
    return due;
  }

  private earliestDue(limit: number): Scheduled | undefined {
    let best: Scheduled | undefined;
    for (const s of this.scheduled.values()) {
      if (s.dueAt > limit) continue;
      if (best === undefined || s.dueAt < best.dueAt || (s.dueAt === best.dueAt && s.id < best.id)) best = s;
    }
    return best;
  }
}
