import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import { TimerTable } from '../../src/runtime/timers.js';

interface Fired {
  key: string;
  id: string;
  at: number;
}

function table(clock: ManualClock, fired: Fired[], consume = true): TimerTable {
  const t: TimerTable = new TimerTable(clock, (key, id, token) => {
    if (!t.isArmed(key, id, token)) return;
    fired.push({ key, id, at: clock.now() });
    if (consume) t.cancel(key, id); // the runtime consumes a fired timer when it steps its event
  });
  return t;
}

describe('durable timer table', () => {
  it('fires only the timers still armed, each once, in due order, after most were cancelled or re-armed', () => {
    const clock = new ManualClock(0);
    const fired: Fired[] = [];
    const t = table(clock, fired);
    for (let i = 0; i < 5_000; i++) t.arm(`s${i}`, 'start', 1_000 + i, { type: 'start' });
    for (let i = 0; i < 5_000; i++) if (i % 10 !== 0) t.cancel(`s${i}`, 'start');
    for (let i = 0; i < 5_000; i += 20) t.arm(`s${i}`, 'start', 100_000 + i, { type: 'start' }); // re-armed later
    expect(t.size).toBe(500);
    clock.advance(200_000);
    const expected = [
      ...Array.from({ length: 500 }, (_, j) => j * 10)
        .filter((i) => i % 20 !== 0)
        .map((i) => ({ key: `s${i}`, id: 'start', at: 1_000 + i })),
      ...Array.from({ length: 250 }, (_, j) => j * 20).map((i) => ({ key: `s${i}`, id: 'start', at: 100_000 + i })),
    ];
    expect(fired).toEqual(expected);
    expect(t.size).toBe(0);
    expect(clock.pending()).toBe(0);
  });

  it('does not fire again a timer that fired but whose event was not stepped yet when the heap was rebuilt', () => {
    const clock = new ManualClock(0);
    const fired: Fired[] = [];
    const t = table(clock, fired, false);
    t.arm('a', 'poll', 10, { type: 'poll' });
    clock.advance(10); // fired, still armed until the runtime steps it
    for (let i = 0; i < 3_000; i++) {
      t.arm(`b${i}`, 'x', 50, { type: 'x' });
      t.cancel(`b${i}`, 'x'); // enough stale entries to rebuild the heap
    }
    t.arm('c', 'late', 100, { type: 'late' });
    clock.advance(200);
    expect(fired.map((f) => f.key)).toEqual(['a', 'c']);
  });

  it('counts armed timers and overdue ones without walking a stale heap', () => {
    const clock = new ManualClock(0);
    const t = table(clock, [], false);
    t.arm('a', 'one', 10, { type: 'one' });
    t.arm('a', 'one', 20, { type: 'one' }); // re-arming replaces
    t.arm('a', 'two', 30, { type: 'two' });
    t.arm('b', 'one', 40, { type: 'one' });
    t.cancel('b', 'one');
    t.cancel('b', 'missing');
    expect(t.size).toBe(2);
    clock.advance(25); // 'one' fired and waits for its step: armed, overdue
    expect(t.overdue()).toBe(1);
    expect(t.deadlines('a')).toEqual([
      { id: 'one', dueAt: 20 },
      { id: 'two', dueAt: 30 },
    ]);
  });

  it('fires on monotonic time while the wall clock steps back and forward, and tells deadlines on the wall clock', () => {
    const clock = new ManualClock(1_000_000, 0);
    const fired: Fired[] = [];
    const t = table(clock, fired);
    t.arm('a', 'start', 60_000, { type: 'start' });
    clock.stepWall(-3_600_000); // an hour back: the timer must not wait an hour more
    clock.advance(59_999);
    expect(fired).toEqual([]);
    expect(t.deadlines('a')).toEqual([{ id: 'start', dueAt: 1_000_000 - 3_600_000 + 60_000 }]);
    clock.advance(1);
    expect(fired.map((f) => f.id)).toEqual(['start']);
    t.arm('a', 'poll', clock.monotonic() + 2_000, { type: 'poll' });
    clock.stepWall(+600_000); // ten minutes forward: nothing becomes due
    clock.advance(1_999);
    expect(fired).toHaveLength(1);
    expect(t.overdue()).toBe(0);
    clock.advance(1);
    expect(fired.map((f) => f.id)).toEqual(['start', 'poll']);
  });
});
