/** Clock is the only way time enters the runtime: tests drive a ManualClock, production the system's. */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

export type TimerHandle = { readonly id: number } | ReturnType<typeof setTimeout>;

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
    return { id };
  }

  clearTimeout(handle: TimerHandle): void {
    if (typeof handle === 'object' && handle !== null && 'id' in handle && typeof handle.id === 'number') {
      this.scheduled.delete(handle.id);
    }
  }

  /** pending is how many callbacks wait for time to move. */
  get pending(): number {
    return this.scheduled.size;
  }

  /** nextDueAt is when the earliest callback fires, if any. */
  nextDueAt(): number | undefined {
    let best: Scheduled | undefined;
    for (const s of this.scheduled.values()) if (best === undefined || s.dueAt < best.dueAt || (s.dueAt === best.dueAt && s.id < best.id)) best = s;
    return best?.dueAt;
  }

  /** advance moves time forward by `ms`, firing each due callback at its time and settling after each. */
  async advance(ms: number, settle: () => Promise<void> = async () => undefined): Promise<void> {
    const target = this.current + ms;
    for (;;) {
      const due = this.earliestDue(target);
      if (due === undefined) break;
      this.scheduled.delete(due.id);
      this.current = Math.max(this.current, due.dueAt);
      due.fn();
      await settle();
    }
    this.current = target;
    await settle();
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
