/**
 * SimClock is the only source of time for the simulator, so tests and chaos runs can drive every
 * delay (kubelet stages, watch timeouts, fault periods, slow answers) without waiting for real time.
 */
export interface SimClock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** realClock uses the process timers; it is the default when no clock is injected. */
export const realClock: SimClock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => {
    clearTimeout(handle as ReturnType<typeof setTimeout>);
  },
};

interface ManualTimer {
  readonly id: number;
  readonly due: number;
  readonly fn: () => void;
}

/**
 * ManualClock moves only when told to, so a test can jump over a 300 s eviction delay or a grace
 * period in one call and still see every timer fire in due order.
 */
export class ManualClock implements SimClock {
  private time: number;
  private nextId = 1;
  private timers: ManualTimer[] = [];

  constructor(startMs = Date.UTC(2024, 0, 1)) {
    this.time = startMs;
  }

  now(): number {
    return this.time;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    const timer = { id: this.nextId++, due: this.time + Math.max(0, ms), fn };
    this.timers.push(timer);
    return timer.id;
  }

  clearTimeout(handle: unknown): void {
    this.timers = this.timers.filter((t) => t.id !== handle);
  }

  /** pending counts armed timers; a test can check that nothing was left behind. */
  pending(): number {
    return this.timers.length;
  }

  /** advance moves time forward by ms, firing due timers one by one in (due, creation) order. */
  advance(ms: number): void {
    const target = this.time + Math.max(0, ms);
    for (;;) {
      const next = this.earliestDue(target);
      if (next === undefined) break;
      this.timers = this.timers.filter((t) => t !== next);
      this.time = Math.max(this.time, next.due);
      next.fn();
    }
    this.time = target;
  }

  private earliestDue(limit: number): ManualTimer | undefined {
    let best: ManualTimer | undefined;
    for (const t of this.timers) {
      if (t.due > limit) continue;
      if (best === undefined || t.due < best.due || (t.due === best.due && t.id < best.id)) best = t;
    }
    return best;
  }
}

/**
 * TimerSet remembers the handles it armed, so closing the simulator cancels every pending delay
 * at once instead of leaving callbacks to fire into a closed server.
 */
export class TimerSet {
  private readonly handles = new Set<unknown>();

  /** `onError` hears of a callback that threw; a simulator bug must not crash the process hosting it. */
  constructor(private readonly clock: SimClock, private readonly onError: (err: unknown) => void = () => undefined) {}

  after(ms: number, fn: () => void): () => void {
    let handle: unknown = undefined;
    const cancel = (): void => {
      this.clock.clearTimeout(handle);
      this.handles.delete(handle);
    };
    handle = this.clock.setTimeout(() => {
      this.handles.delete(handle);
      try {
        fn();
      } catch (err) {
        this.onError(err);
      }
    }, ms);
    this.handles.add(handle);
    return cancel;
  }

  clear(): void {
    for (const h of this.handles) this.clock.clearTimeout(h);
    this.handles.clear();
  }
}
