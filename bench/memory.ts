// Scenario 4: heap per idle server at 10,000 and 50,000 servers, after GC, in a fresh process.
import type { MemoryPoint } from './memory-child.js';
import { runChild } from './child.js';
import type { BenchOptions, Scenario } from './scenario.js';
import { repeat } from './scenario.js';
import { format, metric } from './stats.js';
import type { ScenarioResult } from './stats.js';
import { benchDir } from './support.js';

/** GOAL_BYTES is the goal's bound on heap per idle server (bench/README.md). */
const GOAL_BYTES = 2048;

export const memory: Scenario = {
  id: 'memory',
  async run(options: BenchOptions): Promise<ScenarioResult> {
    // The slope above a base of 1,000 servers leaves out what any runtime holds (compiled code, statements, maps' first tables).
    const base = 1_000;
    const [small, large] = options.quick ? [5_000, 10_000] : [10_000, 50_000];
    const reps = await repeat(options, 'memory', async (rep) => {
      const dir = benchDir('memory');
      try {
        const sizes = rep < 0 ? [base, 2 * base] : [base, small, large];
        const points = await runChild<MemoryPoint[]>('./memory-child.ts', [dir.file('memory.db'), sizes.join(',')], ['--expose-gc']);
        const [b, s, l] = points;
        if (b === undefined || s === undefined) throw new Error('memory: the child measured nothing');
        const per = (p: MemoryPoint | undefined, key: 'heapUsed' | 'rss') =>
          p === undefined ? Number.NaN : (p[key] - b[key]) / (p.servers - b.servers);
        return { small: per(s, 'heapUsed'), large: per(l, 'heapUsed'), rssLarge: per(l, 'rss') };
      } finally {
        dir.remove();
      }
    });
    const atLarge = metric(
      `heap per idle server at ${format(large)} servers`,
      'bytes',
      reps.map((r) => r.large),
    );
    const atSmall = metric(
      `heap per idle server at ${format(small)} servers`,
      'bytes',
      reps.map((r) => r.small),
    );
    return {
      id: 'memory',
      title: '4. Memory',
      headline: atLarge,
      rows: [
        atSmall,
        metric(
          `RSS per idle server at ${format(large)} servers (incl. SQLite cache)`,
          'bytes',
          reps.map((r) => r.rssLarge),
        ),
      ],
      goals: [
        {
          text: `≤ 2 KB per idle server (${format(Math.max(atLarge.median, atSmall.median))} B)`,
          met: Math.max(atLarge.median, atSmall.median) <= GOAL_BYTES,
        },
      ],
      extra: { atSmall, atLarge },
      params: { base, small, large, state: 'running, no timers' },
    };
  },
};
