// The benchmark runner: `npx tsx bench/run.ts [--quick] [--only id,id] [--reps n]`.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { performance } from 'node:perf_hooks';
import Database from 'better-sqlite3';
import type { BenchOptions, Scenario } from './scenario.js';
import type { ScenarioResult } from './stats.js';
import { round, summary, table } from './stats.js';
import { api } from './api.js';
import { memory } from './memory.js';
import { outage } from './outage.js';
import { pipeline } from './pipeline.js';
import { relist } from './relist.js';
import { restart } from './restart.js';
import { soak } from './soak.js';

/** SCENARIOS are the benchmark scenarios of bench/README.md, in its order. */
const SCENARIOS: readonly Scenario[] = [pipeline, relist, restart, memory, api, outage, soak];

interface Args {
  quick: boolean;
  only: Set<string> | undefined;
  reps: number | undefined;
  baselines: boolean;
}

function parseArgs(argv: readonly string[]): Args {
  const args: Args = { quick: false, only: undefined, reps: undefined, baselines: true };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--quick') args.quick = true;
    else if (a === '--only') args.only = new Set((argv[++i] ?? '').split(','));
    else if (a === '--reps') args.reps = Number(argv[++i]);
    else if (a === '--no-baselines') args.baselines = false;
    else throw new Error(`unknown argument ${String(a)}; usage: bench/run.ts [--quick] [--only id,id] [--reps n] [--no-baselines]`);
  }
  return args;
}

/** toJson is one scenario in latest.json: its headline's median/min/max/unit at the top, then the rest. */
function toJson(r: ScenarioResult): Record<string, unknown> {
  return {
    title: r.title,
    metric: r.headline.label,
    ...summary(r.headline),
    ...Object.fromEntries(Object.entries(r.extra).map(([k, v]) => [k, typeof v === 'number' ? round(v) : jsonValue(v)])),
    rows: r.rows.map((m) => ({ label: m.label, ...summary(m) })),
    goals: r.goals,
    params: r.params,
  };
}

/** jsonValue turns nested metrics into summaries and leaves other values as they are. */
function jsonValue(v: unknown): unknown {
  if (typeof v !== 'object' || v === null) return v;
  if ('samples' in v && 'label' in v) return summary(v as Parameters<typeof summary>[0]);
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, jsonValue(x)]));
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const started = performance.now();
  const options: BenchOptions = {
    quick: args.quick,
    reps: args.reps ?? (args.quick ? 1 : 5),
    baselines: args.baselines,
    log: (line) => process.stderr.write(`${line}\n`),
  };
  const results: ScenarioResult[] = [];
  for (const scenario of SCENARIOS) {
    if (args.only !== undefined && !args.only.has(scenario.id)) continue;
    options.log(`${scenario.id}…`);
    const t0 = performance.now();
    results.push(await scenario.run(options));
    options.log(`  ${scenario.id}: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }
  const seconds = (performance.now() - started) / 1000;
  const out = {
    quick: args.quick,
    reps: options.reps,
    date: new Date().toISOString(),
    seconds: round(seconds),
    machine: {
      node: process.version,
      cpus: cpus().length,
      cpu: cpus()[0]?.model ?? 'unknown',
      memoryGiB: round(totalmem() / 2 ** 30),
      sqlite: sqliteVersion(),
    },
    scenarios: Object.fromEntries(results.map((r) => [r.id, toJson(r)])),
  };
  const dir = new URL('./results/', import.meta.url);
  mkdirSync(dir, { recursive: true });
  writeFileSync(new URL('latest.json', dir), `${JSON.stringify(out, null, 2)}\n`);
  process.stdout.write(
    `${table(results)}\n\n${results.length} scenarios in ${seconds.toFixed(1)} s (${args.quick ? 'quick' : 'full'}, ${options.reps} rep${options.reps === 1 ? '' : 's'} after a warm-up); written to bench/results/latest.json\n`,
  );
}

function sqliteVersion(): string {
  const db = new Database(':memory:');
  try {
    return (db.prepare('SELECT sqlite_version() AS v').get() as { v: string }).v;
  } finally {
    db.close();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
