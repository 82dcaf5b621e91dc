// The chaos runner: `npm run chaos -- --seed S --duration D --users N [--kills K]`.
// The real hub runs as a child process on the simulator; a seeded schedule breaks the simulator and
// SIGKILLs the hub while a workload drives the REST API; then the faults stop and every guarantee
// (docs/world-model.md, the README's guarantees) is checked. The same seed gives the same fault and kill schedule.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configureServerMachine } from '../../machines/server.machine.js';
import type { CommandSpec } from '../../src/core/cli.js';
import { UsageError, helpText, integerOption, parseCommand, stringOption } from '../../src/core/cli.js';
import type { ServerDelays } from '../../machines/server.machine.js';
import { analyzeLiveness } from '../../src/runtime/liveness.js';
import { startSimulator } from '../../src/sim/index.js';
import { check } from './checks.js';
import { kubeconfigFor } from '../support/api-proxy.js';
import { HubProcess, freePort } from './hub-process.js';
import { Rivals, rivalTimes } from './rival.js';
import { Workload, mulberry32 } from './workload.js';

export interface ChaosOptions {
  seed: number;
  durationMs: number;
  users: number;
  /** kills: how many SIGKILLs to spread over the run (default: one every ~1.7 s). */
  kills?: number;
  /** rivals: how many competing hubs ("second hub" faults) to start and SIGKILL during the run (default: one every ~30 s, at least one). */
  rivals?: number;
  workers?: number;
}

/** CHAOS_DELAYS: the machine's delays for chaos runs, short so a run settles in seconds. */
export const CHAOS_DELAYS: ServerDelays = {
  startTimeout: 8_000,
  stopTimeout: 6_000,
  stopRetryInterval: 2_000,
  pollInterval: 500,
  requestTimeout: 1_500,
  failFastGrace: 1_000,
  retryBackoff: 200,
  retryBackoffMax: 1_500,
  unreadyTimeout: 8_000,
};
const RESYNC_MS = 3_000;
/** MIN_SERVING_MS: a started hub serves at least this long before the next SIGKILL. */
const MIN_SERVING_MS = 1_000;
const SWEEP_MS = 1_000;

function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (m === null) throw new UsageError(`--duration must be like 90s, 10m or 500ms, got ${JSON.stringify(text)}`);
  const n = Number(m[1]);
  return Math.round(n * { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 }[(m[2] ?? 's') as 'ms' | 's' | 'm' | 'h']);
}

/** CHAOS is `npm run chaos`: its flags and help. */
export const CHAOS: CommandSpec = {
  usage: 'npm run chaos -- [options]',
  summary: `Runs the real hub as a child process on the simulator under a seeded schedule of faults, SIGKILLs
and competing hubs while a workload drives its REST API; then stops the faults and checks every guarantee.
The same seed gives the same fault and kill schedule.`,
  options: {
    seed: { type: 'string', value: 'S', doc: 'seed of the faults, kills and workload (default 1)' },
    duration: { type: 'string', value: 'D', doc: 'how long the workload runs: 90s, 10m, 500ms (default 60s)' },
    users: { type: 'string', value: 'N', doc: 'users of the workload (default 20)' },
    kills: { type: 'string', value: 'K', doc: 'SIGKILLs spread over the run (default: one every ~1.7 s)' },
    rivals: { type: 'string', value: 'R', doc: 'competing hubs started and SIGKILLed (default: one every ~30 s, at least one)' },
    workers: { type: 'string', value: 'W', doc: 'concurrent workload workers (default 6)' },
  },
};

/** parseChaosArgs reads the chaos runner's flags; a bad or unknown one is a UsageError naming it. */
export function parseChaosArgs(argv: readonly string[]): ChaosOptions & { help: boolean } {
  const { values, help } = parseCommand(CHAOS, argv);
  const count = (name: string) => integerOption(name, values[name], 0, 1_000_000);
  const duration = stringOption(values['duration']);
  const o: ChaosOptions & { help: boolean } = {
    seed: integerOption('seed', values['seed'], 0, 2 ** 32 - 1) ?? 1,
    durationMs: duration === undefined ? 60_000 : parseDuration(duration),
    users: count('users') ?? 20,
    help,
  };
  const kills = count('kills');
  const rivals = count('rivals');
  const workers = count('workers');
  if (kills !== undefined) o.kills = kills;
  if (rivals !== undefined) o.rivals = rivals;
  if (workers !== undefined) o.workers = workers;
  return o;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
}

/** killTimes spreads `n` kills over `durationMs` by the seed: the same seed, the same moments. */
export function killTimes(seed: number, durationMs: number, n: number): number[] {
  const random = mulberry32(seed ^ 0x6b696c6c);
  // Kills fall in the first 70%: the rest of the run keeps its faults without a fresh hub to hide behind.
  const times = Array.from({ length: n }, () => random() * durationMs * 0.7);
  return times.sort((a, b) => a - b);
}

export async function runChaos(o: ChaosOptions): Promise<boolean> {
  const dir = mkdtempSync(join(tmpdir(), 'spawnkeeper-chaos-'));
  const sim = await startSimulator({ seed: o.seed, kubelet: { scheduleMs: 30, createMs: 50, readyMs: 150, stopMs: 50 } });
  const kubeconfig = join(dir, 'kubeconfig.json');
  writeFileSync(kubeconfig, kubeconfigFor(sim.url));
  const config = join(dir, 'hub.json');
  writeFileSync(
    config,
    JSON.stringify({
      slow_spawn_timeout: 0.2,
      slow_stop_timeout: 0.2,
      concurrent_spawn_limit: 0,
      unhealthy_after: 5,
      spawnkeeper: {
        delays: CHAOS_DELAYS,
        durability: 'full',
        reflector: { resyncMs: RESYNC_MS, silenceMs: 4_000, watchTimeoutSeconds: 20, backoffMaxMs: 1_000 },
        sweeper: { intervalMs: SWEEP_MS, graceMs: 5_000 },
      },
    }),
  );
  const token = `chaos-admin-${o.seed}-${Date.now()}-0123456789abcdef`; // admin tokens have at least 32 characters
  const hub = new HubProcess({ port: await freePort(), db: join(dir, 'hub.db'), kubeconfig, config, token, logFile: join(dir, 'hub.log') });
  const bound = analyzeLiveness(configureServerMachine(CHAOS_DELAYS)).bound + RESYNC_MS + 2 * SWEEP_MS;
  const command = `npm run chaos -- --seed ${o.seed} --duration ${Math.round(o.durationMs / 1000)}s --users ${o.users}${o.kills === undefined ? '' : ` --kills ${o.kills}`}${o.rivals === undefined ? '' : ` --rivals ${o.rivals}`}`;
  const rivals = await Rivals.start({ simUrl: sim.url, dir, config, token });
  console.log(`chaos: seed ${o.seed}, ${o.durationMs / 1000} s, ${o.users} users; files in ${dir}`);
  let ok = false;
  try {
    await hub.start();
    const workload = new Workload(() => hub.url, token, o.users, mulberry32(o.seed));
    await workload.createUsers();
    const began = Date.now();
    const until = began + o.durationMs;
    const plan = sim.faults.runSchedule({ durationMs: o.durationMs, meanGapMs: 2_500, meanEpisodeMs: 1_500, slowDelayMs: 2_000 });
    const failures = sim.kubelet.addRule({ fraction: 0.15, mode: { kind: 'imagePull' } });
    const stuck = sim.kubelet.addRule({ fraction: 0.1, mode: { kind: 'stuckTerminating', forMs: 8_000 } });
    const crashes = sim.kubelet.addRule({ fraction: 0.05, mode: { kind: 'oomKilled', afterMs: 1_500 } });
    // Pods that stay Pending with no error at all (a node that never pulls): only a start timeout ends those.
    const neverReady = sim.kubelet.addRule({ fraction: 0.05, mode: { kind: 'slow', readyMs: 3_600_000 } });
    const kills = killTimes(o.seed, o.durationMs, o.kills ?? Math.round(o.durationMs / 1_700));
    let killing = true;
    const killer = (async () => {
      for (const at of kills) {
        // However slow a start (a loaded machine), each hub serves a while before its SIGKILL.
        const wait = Math.max(began + at, hub.servingSince + MIN_SERVING_MS) - Date.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        await hub.kill();
        await hub.start();
      }
      killing = false;
    })();
    const rivalRun = rivals.run(rivalTimes(o.seed, o.durationMs, o.rivals ?? Math.max(1, Math.round(o.durationMs / 30_000))), began);
    // The workload goes on until the planned duration has passed and every planned kill was made.
    await Promise.all([workload.run(() => Date.now() < until || killing, o.workers ?? 6), killer, rivalRun]);
    const ranMs = Date.now() - began;
    // The faults stop; the hub keeps running; everything must settle within the bound.
    sim.faults.stopSchedule();
    await sim.faults.clear();
    failures();
    stuck();
    crashes();
    neverReady();
    for (const p of sim.pods()) if (p.metadata.deletionTimestamp !== undefined) sim.kubelet.releaseFinalizers(p.metadata.name);
    if (!hub.running) await hub.start();
    const report = await check({ hub, sim, token, db: join(dir, 'hub.db'), ledger: workload.ledger, bound, users: workload.userNames });
    report.problems.push(...rivals.problems());
    const acked = workload.ledger.filter((e) => e.status >= 200 && e.status < 300).length;
    const faults = new Map<string, number>();
    for (const f of sim.faults.log()) faults.set(f.kind, (faults.get(f.kind) ?? 0) + 1);
    console.log(
      [
        `chaos summary (seed ${o.seed}, workload ran ${(ranMs / 1000).toFixed(0)} s):`,
        `  operations ${workload.ledger.length}, acknowledged ${acked}, unanswered ${workload.ledger.filter((e) => e.status === 0).length}, 5xx ${workload.ledger.filter((e) => e.status >= 500).length}`,
        `  faults ${[...faults].map(([k, n]) => `${k} ${n}`).join(', ')} (${plan.length} episodes planned)`,
        `  SIGKILLs ${hub.kills}, hub starts ${hub.starts} (median ${median(hub.startMs)} ms to serve); second hubs started and SIGKILLed ${rivals.started}`,
        `  servers ${report.servers}, events ${report.events}, max time pending ${(report.maxPendingMs / 1000).toFixed(1)} s, settled ${(report.settleMs / 1000).toFixed(1)} s after the faults stopped (bound ${(bound / 1000).toFixed(1)} s)`,
      ].join('\n'),
    );
    for (const p of report.problems) console.log(`  PROBLEM: ${p}`);
    ok = report.problems.length === 0;
    const code = await hub.stop();
    if (code !== 0) {
      console.log(`  PROBLEM: the hub exited with ${code} on SIGTERM`);
      ok = false;
    }
  } catch (err) {
    console.log(`  PROBLEM: ${(err as Error).stack ?? String(err)}`);
  } finally {
    await hub.kill();
    hub.close();
    await rivals.close();
    await sim.close();
  }
  console.log(ok ? `chaos: seed ${o.seed} passed` : `chaos: seed ${o.seed} FAILED; reproduce with: ${command}`);
  return ok;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    const options = parseChaosArgs(process.argv.slice(2));
    if (options.help) process.stdout.write(`${helpText(CHAOS)}\n`);
    else process.exitCode = (await runChaos(options)) ? 0 : 1;
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`chaos: ${err.message} (see npm run chaos -- --help)\n`);
    process.exitCode = 2;
  }
}
