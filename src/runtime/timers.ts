import type { Clock, TimerHandle } from './clock.js';

interface Entry {
  readonly key: string;
  readonly id: string;
  /** dueAt is on the clock's monotonic reading, never the wall clock. */
  readonly dueAt: number;
  readonly token: number;
  readonly event: { type: string };
  /** queued: the entry is still in the heap (cancelling it leaves a stale heap entry behind). */
  queued: boolean;
}

export type DueHandler = (key: string, id: string, token: number, event: { type: string }) => void;

/**
 * TimerTable holds the armed durable timers in memory (the rows live in SQLite) and wakes the
 * runtime when the earliest is due, through the injected clock. Due times are monotonic: a step of
 * the wall clock changes no timer (the wall-clock due times in the rows only re-arm after a
 * restart). A firing carries a token so a
 * timer that was cancelled or re-armed meanwhile is recognised as stale and dropped.
 * Cancelling leaves the entry in the heap; most timers are cancelled long before they are due
 * (a 300 s start timeout ends when the pod is ready), so the heap is rebuilt from the armed
 * entries whenever stale ones outnumber them, or it would grow with the event rate.
 */
export class TimerTable {
  private readonly armed = new Map<string, Map<string, Entry>>();
  private heap: Entry[] = [];
  private count = 0;
  private stale = 0;
  private nextToken = 1;
  private wake: { at: number; handle: TimerHandle } | undefined;
  private closed = false;

  constructor(
    private readonly clock: Clock,
    private readonly onDue: DueHandler,
  ) {}

  get size(): number {
    return this.count;
  }

  /** overdue counts armed timers whose time has passed (they fire at once; a high count means lag). */
  overdue(): number {
    const now = this.clock.monotonic();
    let n = 0;
    for (const m of this.armed.values()) for (const e of m.values()) if (e.dueAt <= now) n++;
    return n;
  }

  /** deadlines are a server's armed timers with their due times told on today's wall clock, for "pending until" displays. */
  deadlines(key: string): Array<{ id: string; dueAt: number }> {
    const toWall = this.clock.now() - this.clock.monotonic();
    return [...(this.armed.get(key)?.values() ?? [])].map((e) => ({ id: e.id, dueAt: e.dueAt + toWall }));
  }

  /** arm sets (or replaces) a server's timer `id`, due at `dueAt` on the monotonic clock. */
  arm(key: string, id: string, dueAt: number, event: { type: string }): void {
    const entry: Entry = { key, id, dueAt, token: this.nextToken++, event, queued: false };
    let timers = this.armed.get(key);
    if (timers === undefined) this.armed.set(key, (timers = new Map()));
    const replaced = timers.get(id);
    if (replaced === undefined) this.count++;
    else if (replaced.queued) this.stale++;
    timers.set(id, entry);
    this.push(entry);
    this.compactIfStale();
    this.schedule();
  }

  cancel(key: string, id: string): void {
    const timers = this.armed.get(key);
    const entry = timers?.get(id);
    if (timers === undefined || entry === undefined) return;
    timers.delete(id);
    this.count--;
    if (entry.queued) this.stale++;
    if (timers.size === 0) this.armed.delete(key);
    this.compactIfStale();
  }

  isArmed(key: string, id: string, token: number): boolean {
    return this.armed.get(key)?.get(id)?.token === token;
  }

  close(): void {
    this.closed = true;
    if (this.wake !== undefined) this.clock.clearTimeout(this.wake.handle);
    this.wake = undefined;
  }

  private schedule(): void {
    if (this.closed) return;
    const head = this.peekValid();
    if (head === undefined) return;
    if (this.wake !== undefined) {
      if (this.wake.at <= head.dueAt) return;
      this.clock.clearTimeout(this.wake.handle);
    }
    const at = head.dueAt;
    this.wake = { at, handle: this.clock.setTimeout(() => this.fire(), at - this.clock.monotonic()) };
  }

  private fire(): void {
    this.wake = undefined;
    if (this.closed) return;
    const now = this.clock.monotonic();
    for (let head = this.peekValid(); head !== undefined && head.dueAt <= now; head = this.peekValid()) {
      this.pop();
      this.onDue(head.key, head.id, head.token, head.event);
    }
    this.schedule();
  }

  private peekValid(): Entry | undefined {
    while (this.heap.length > 0) {
      const head = this.heap[0] as Entry;
      if (this.armed.get(head.key)?.get(head.id)?.token === head.token) return head;
      this.pop();
      this.stale--;
    }
    return undefined;
  }

  /** compactIfStale rebuilds the heap from the armed entries once stale entries are the majority. */
  private compactIfStale(): void {
    if (this.stale < 1024 || this.stale < this.count) return;
    // A fired entry awaiting its event's step is armed but no longer queued: it must not come back.
    this.heap = this.heap.filter((entry) => this.armed.get(entry.key)?.get(entry.id) === entry);
    this.stale = 0;
    for (let i = (this.heap.length >> 1) - 1; i >= 0; i--) this.siftDown(i);
  }

  private push(entry: Entry): void {
    const heap = this.heap;
    entry.queued = true;
    heap.push(entry);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(heap[i] as Entry, heap[parent] as Entry)) break;
      [heap[i], heap[parent]] = [heap[parent] as Entry, heap[i] as Entry];
      i = parent;
    }
  }

  private pop(): void {
    const heap = this.heap;
    const head = heap[0];
    if (head !== undefined) head.queued = false;
    const last = heap.pop();
    if (last === undefined || heap.length === 0) return;
    heap[0] = last;
    this.siftDown(0);
  }

  private siftDown(from: number): void {
    const heap = this.heap;
    let i = from;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < heap.length && before(heap[l] as Entry, heap[m] as Entry)) m = l;
      if (r < heap.length && before(heap[r] as Entry, heap[m] as Entry)) m = r;
      if (m === i) break;
      [heap[i], heap[m]] = [heap[m] as Entry, heap[i] as Entry];
      i = m;
    }
  }
}

function before(a: Entry, b: Entry): boolean {
  return a.dueAt < b.dueAt || (a.dueAt === b.dueAt && a.token < b.token);
}

/**
 * rearmWait is how long a timer restored after a restart waits: what its wall-clock due time says is
 * left, but never less than nothing (overdue timers fire at once) and never more than its own delay
 * (`bound`), so a wall clock that stepped back while the hub was down delays no timer.
 */
export function rearmWait(remaining: number, bound: number): number {
  return Math.min(Math.max(0, remaining), Math.max(0, bound));
}
