import type { ScenarioResult } from './stats.js';

/** BenchOptions are what the runner tells every scenario: `quick` means smaller sizes and fewer reps. */
export interface BenchOptions {
  readonly quick: boolean;
  /** reps counted in the figures; a warm-up rep runs first and is dropped. */
  readonly reps: number;
  /** baselines: false skips the same-run baselines, so a CPU profile shows spawnkeeper's own work alone. */
  readonly baselines: boolean;
  readonly log: (line: string) => void;
}

/** Scenario is one numbered benchmark scenario (bench/README.md), run by bench/run.ts. */
export interface Scenario {
  readonly id: string;
  run(options: BenchOptions): Promise<ScenarioResult>;
}

/**
 * repeat runs one warm-up rep and then `reps` measured reps, in order, and returns the measured
 * ones: the warm-up pays for JIT compilation and SQLite's first page loads.
 */
export async function repeat<T>(options: BenchOptions, name: string, rep: (index: number) => Promise<T>): Promise<T[]> {
  await rep(-1);
  const out: T[] = [];
  for (let i = 0; i < options.reps; i++) {
    out.push(await rep(i));
    options.log(`  ${name}: rep ${i + 1}/${options.reps} done`);
  }
  return out;
}
