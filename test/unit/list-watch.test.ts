import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import { WatchEnded, runListWatch } from '../../src/kube/list-watch.js';

const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Calls records what the loop asked of its list and watch, and when on the injected clock. */
type Call = readonly [what: string, at: number, rv?: string];

describe('the list/watch loop', () => {
  it('retries a failing list after a capped, jittered backoff on the injected clock, watches from the list, resumes a closed watch from its newest version, and relists at once after 410', async () => {
    const clock = new ManualClock(0, 0);
    const abort = new AbortController();
    const calls: Call[] = [];
    const failures: Array<[number, number]> = [];
    let lists = 0;
    let watches = 0;
    const done = runListWatch(
      {
        clock,
        backoff: { initialMs: 200, maxMs: 300 },
        random: () => 0, // the lower edge of equal jitter: half of each capped wait
        list: () => {
          calls.push(['list', clock.monotonic()]);
          lists++;
          if (lists <= 3) return Promise.reject(new Error(`list failed ${lists}`));
          return Promise.resolve(`list-${lists}`);
        },
        watch: (rv) => {
          calls.push(['watch', clock.monotonic(), rv]);
          watches++;
          if (watches === 1) return Promise.resolve('after-close'); // the server closed it
          if (watches === 2) return Promise.reject(new WatchEnded('expired'));
          abort.abort();
          return Promise.reject(new Error('aborted'));
        },
        onFailure: (_message, n, retryInMs) => failures.push([n, retryInMs]),
      },
      abort.signal,
    );
    await settle();
    expect(calls).toEqual([['list', 0]]); // nothing more until the clock moves: no real timer
    await clock.advance(1_000, settle);
    await done;
    expect(failures).toEqual([
      [1, 100],
      [2, 150],
      [3, 150],
    ]);
    expect(calls).toEqual([
      ['list', 0],
      ['list', 100],
      ['list', 250],
      ['list', 400],
      ['watch', 400, 'list-4'],
      ['watch', 400, 'after-close'],
      ['list', 400],
      ['watch', 400, 'list-5'],
    ]);
    expect(clock.pending()).toBe(0);
  });

  it('without a list, watches from no version at first and after an error, and pauses after a closed watch on the injected clock', async () => {
    const clock = new ManualClock(0, 0);
    const abort = new AbortController();
    const calls: Call[] = [];
    let watches = 0;
    const done = runListWatch(
      {
        clock,
        backoff: { initialMs: 200, maxMs: 5_000 },
        random: () => 0,
        closedPauseMs: 100,
        watch: (rv) => {
          calls.push(['watch', clock.monotonic(), rv]);
          watches++;
          if (watches === 1) return Promise.resolve('seen-7');
          if (watches === 2) return Promise.reject(new Error('500'));
          abort.abort();
          return Promise.reject(new Error('aborted'));
        },
      },
      abort.signal,
    );
    await clock.advance(1_000, settle);
    await done;
    expect(calls).toEqual([
      ['watch', 0, undefined],
      ['watch', 100, 'seen-7'],
      ['watch', 200, undefined],
    ]);
  });
});
