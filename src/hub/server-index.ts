import type { Logger } from 'pino';
import type { Committed } from '../runtime/runtime.js';
import type { ServerStatus, Spawnkeeper, TopState } from '../spawnkeeper.js';

/** Transition is a change of a server's top-level state, with when its spawn or stop began. */
export interface Transition {
  readonly status: ServerStatus;
  readonly step: Committed;
  readonly before: TopState;
  readonly after: TopState;
  /** startedAt: when the state being left began (the spawn's or stop's start), if known. */
  readonly startedAt: number | undefined;
}

/** TOP_STATES are the states the API and metrics count by, in lifecycle order. */
export const TOP_STATES: readonly TopState[] = ['stopped', 'spawn_pending', 'running', 'stop_pending', 'failed'];

/** topState cuts a full state path (`spawn_pending.waiting`) to its top-level state. */
export function topState(detail: string): TopState {
  const dot = detail.indexOf('.');
  return (dot === -1 ? detail : detail.slice(0, dot)) as TopState;
}

/**
 * ServerIndex keeps what the API asks for often without walking every server: counts per state,
 * each user's servers and when each pending state began; it tells listeners of every transition.
 */
export class ServerIndex {
  private readonly state = new Map<string, TopState>();
  private readonly byUser = new Map<string, Set<string>>();
  private readonly enteredAt = new Map<string, number>();
  private readonly counts = new Map<TopState, number>(TOP_STATES.map((s) => [s, 0]));
  private readonly listeners = new Set<(t: Transition) => void>();
  private readonly watchers = new Map<string, Set<(s: ServerStatus) => void>>();
  private readonly off: () => void;
  private readonly offForget: () => void;

  constructor(
    sk: Spawnkeeper,
    private readonly logger?: Logger,
  ) {
    for (const s of sk.list()) {
      this.set(s.key, s.user, s.state);
      if (s.state === 'spawn_pending' || s.state === 'stop_pending') this.enteredAt.set(s.key, s.since);
    }
    this.off = sk.subscribe((status, step) => this.onStep(status, step));
    this.offForget = sk.onForget((key) => this.remove(key));
  }

  /** onTransition registers a listener; listeners must not throw (they run inside the runtime's commit loop). */
  onTransition(listener: (t: Transition) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** watch tells `listener` of every committed step of one server, with its status after the step. */
  watch(key: string, listener: (s: ServerStatus) => void): () => void {
    let set = this.watchers.get(key);
    if (set === undefined) this.watchers.set(key, (set = new Set()));
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0 && this.watchers.get(key) === set) this.watchers.delete(key);
    };
  }

  count(state: TopState): number {
    return this.counts.get(state) ?? 0;
  }

  /** active counts servers pending or ready, JupyterHub's `active`. */
  active(): number {
    return this.count('spawn_pending') + this.count('running') + this.count('stop_pending');
  }

  stateOf(key: string): TopState | undefined {
    return this.state.get(key);
  }

  /** keysOf lists a user's servers known to the runtime. */
  keysOf(user: string): string[] {
    return [...(this.byUser.get(user) ?? [])];
  }

  /** spawnStartedAt is when the current spawn began, for progress filters and the `started` field. */
  spawnStartedAt(key: string): number | undefined {
    return this.state.get(key) === 'spawn_pending' ? this.enteredAt.get(key) : undefined;
  }

  close(): void {
    this.off();
    this.offForget();
    this.listeners.clear();
    this.watchers.clear();
  }

  /** remove forgets a server retention dropped (its user was deleted long ago). */
  private remove(key: string): void {
    const prev = this.state.get(key);
    if (prev === undefined) return;
    this.counts.set(prev, (this.counts.get(prev) ?? 1) - 1);
    this.state.delete(key);
    this.enteredAt.delete(key);
    const user = key.slice(0, key.indexOf('/'));
    this.byUser.get(user)?.delete(key);
    if (this.byUser.get(user)?.size === 0) this.byUser.delete(user);
  }

  private set(key: string, user: string, next: TopState): void {
    const prev = this.state.get(key);
    if (prev !== undefined) this.counts.set(prev, (this.counts.get(prev) ?? 1) - 1);
    this.counts.set(next, (this.counts.get(next) ?? 0) + 1);
    this.state.set(key, next);
    let keys = this.byUser.get(user);
    if (keys === undefined) this.byUser.set(user, (keys = new Set()));
    keys.add(key);
  }

  private onStep(status: ServerStatus, step: Committed): void {
    this.transition(status, step);
    for (const listener of [...(this.watchers.get(status.key) ?? [])]) {
      try {
        listener(status);
      } catch (err) {
        this.logger?.error({ err, server: status.key }, 'a server watcher failed');
      }
    }
  }

  private transition(status: ServerStatus, step: Committed): void {
    const before = this.state.get(status.key) ?? topState(step.before);
    const after = status.state;
    if (before === after && this.state.has(status.key)) return;
    this.set(status.key, status.user, after);
    const startedAt = this.enteredAt.get(status.key);
    if (after === 'spawn_pending' || after === 'stop_pending') this.enteredAt.set(status.key, step.ts);
    else this.enteredAt.delete(status.key);
    if (before === after) return;
    const t: Transition = { status, step, before, after, startedAt };
    for (const listener of this.listeners) {
      try {
        listener(t);
      } catch (err) {
        this.logger?.error({ err, server: status.key }, 'a transition listener failed');
      }
    }
  }
}
