import type { Clock } from '../../core/clock.js';

/**
 * SimClock is the only source of time for the simulator, so tests and chaos runs can drive every
 * delay (kubelet stages, watch timeouts, fault periods, slow answers): the runtime's Clock, shared.
 */
export type SimClock = Clock;
export { ManualClock, systemClock as realClock } from '../../core/clock.js';

/**
 * TimerSet remembers the handles it armed, so closing the simulator cancels every pending delay
 * at once instead of leaving callbacks to fire into a closed server.
 */
export class TimerSet {
  private readonly handles = new Set<unknown>();

  /** `onError` hears of a callback that threw; a simulator bug must not crash the process hosting it. */
  constructor(
    private readonly clock: SimClock,
    private readonly onError: (err: unknown) => void = () => undefined,
  ) {}

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
