/** Clock is the only way time enters the runtime: tests drive a ManualClock, production the system's. */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

export type TimerHandle = unknown;

/** systemClock reads the wall clock and uses Node's timers (unref'd: timers never keep a process alive). */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => {
    const handle = setTimeout(fn, Math.max(0, ms));
    handle.unref();
    return handle;
  },
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

interface Scheduled {
  id: number;
  dueAt: number;
  fn: () => void;
}

/**
 * ManualClock is virtual time: nothing fires until `advance` moves it, and then every callback fires
 * at its own due time, in order, with `settle` awaited between them so chained timers cascade.
 */
export class ManualClock implements Clock {
  private current: number;
  private nextId = 1;
  private readonly scheduled = new Map<number, Scheduled>();

  constructor(start = 1_700_000_000_000) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const id = this.nextId++;
    this.scheduled.set(id, { id, dueAt: this.current + Math.max(0, ms), fn });
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
   * advance moves time forward by `ms`, firing each due callback at its own time, in (due, creation)
   * order. With `settle`, it awaits it after each callback so chained work can run; without, all of
   * it happens before advance returns.
   */
  advance(ms: number): void;
  advance(ms: number, settle: () => Promise<void>): Promise<void>;
  advance(ms: number, settle?: () => Promise<void>): void | Promise<void> {
    const target = this.current + Math.max(0, ms);
    if (settle === undefined) {
      for (let due = this.takeDue(target); due !== undefined; due = this.takeDue(target)) due.fn();
      this.current = target;
      return;
    }
    return (async () => {
      for (let due = this.takeDue(target); due !== undefined; due = this.takeDue(target)) {
        due.fn();
        await settle();
      }
      this.current = target;
      await settle();
    })();
  }

  private takeDue(limit: number): Scheduled | undefined {
    const due = this.earliestDue(limit);
    if (due === undefined) return undefined;
    this.scheduled.delete(due.id);
    this.current = Math.max(this.current, due.dueAt);
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
