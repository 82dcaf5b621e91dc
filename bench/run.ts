// The benchmark runner: `npx tsx bench/run.ts [--quick] [--only id,id] [--reps n] [--no-baselines]` (--help lists them).
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { performance } from 'node:perf_hooks';
import Database from 'better-sqlite3';
import type { CommandSpec } from '../src/core/cli.js';
import { UsageError, helpText, integerOption, parseCommand, stringOption } from '../src/core/cli.js';
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

/** BENCH is `npm run bench`: its flags and help. */
const BENCH: CommandSpec = {
  usage: 'npm run bench -- [options]',
  summary: `Measures each goal of bench/README.md against what this machine can do at best, side by side;
prints a table and writes bench/results/latest.json.`,
  options: {
    quick: { type: 'boolean', doc: 'a smoke run (one rep after a warm-up, smaller sizes); asserts no timing' },
    only: { type: 'string', value: 'ID,ID', doc: `run only these scenarios: ${SCENARIOS.map((s) => s.id).join(', ')}` },
    reps: { type: 'string', value: 'N', doc: 'repetitions after the warm-up (default 5, 1 with --quick)' },
    'no-baselines': { type: 'boolean', doc: "skip the baselines: spawnkeeper's own work only, for a profile" },
  },
};

function parseBenchArgs(argv: readonly string[]): Args & { help: boolean } {
  const { values, help } = parseCommand(BENCH, argv);
  const only = stringOption(values['only']);
  const ids = only === undefined ? undefined : new Set(only.split(','));
  const unknown = [...(ids ?? [])].filter((id) => !SCENARIOS.some((s) => s.id === id));
  if (unknown.length > 0) throw new UsageError(`--only: no scenario ${unknown.join(', ')}`);
  return {
    quick: values['quick'] === true,
    only: ids,
    reps: integerOption('reps', values['reps'], 1, 1_000),
    baselines: values['no-baselines'] !== true,
    help,
  };
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
  let args: ReturnType<typeof parseBenchArgs>;
  try {
    args = parseBenchArgs(process.argv.slice(2));
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`bench: ${err.message} (see npm run bench -- --help)\n`);
    process.exitCode = 2;
    return;
  }
  if (args.help) {
    process.stdout.write(`${helpText(BENCH)}\n`);
    return;
  }
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
