import type { Clock } from '../../src/runtime/clock.js';
import { systemClock } from '../../src/runtime/clock.js';

/**
 * SteppedClock is real time whose wall clock a test can step, forward or back, as NTP or an
 * operator would while the hub runs; its monotonic reading and its timers are the system's own.
 */
export class SteppedClock implements Clock {
  private offset = 0;

  constructor(private readonly base: Clock = systemClock) {}

  now(): number {
    return this.base.now() + this.offset;
  }

  monotonic(): number {
    return this.base.monotonic();
  }

  stepWall(ms: number): void {
    this.offset += ms;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    return this.base.setTimeout(fn, ms);
  }

  clearTimeout(handle: unknown): void {
    this.base.clearTimeout(handle);
  }
}
