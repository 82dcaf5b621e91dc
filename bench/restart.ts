// Scenario 3: restart: from process start to serving, with every server restored and every timer re-armed.
import { rmSync } from 'node:fs';
import { build } from 'esbuild';
import { startSimulator } from '../src/sim/index.js';
import { runChild } from './child.js';
import { buildHistory, copyHistory } from './history.js';
import type { RestartPhases } from './restart-child.js';
import type { BenchOptions, Scenario } from './scenario.js';
import { repeat } from './scenario.js';
import { format, metric } from './stats.js';
import type { ScenarioResult } from './stats.js';
import { benchDir } from './support.js';

/** BUILD_DIR sits two levels under the checkout, so the bundle finds node_modules and `../../migrations` as the sources do. */
const BUILD_DIR = new URL('./.build/', import.meta.url);

/**
 * compileChild bundles the restarting process to plain JavaScript (esbuild, the compiler tsx runs
 * on), to measure the same restart without tsx's per-module transform and resolve hooks.
 */
async function compileChild(): Promise<string> {
  const outfile = new URL('restart-child.mjs', BUILD_DIR).pathname;
  await build({
    entryPoints: [new URL('./restart-child.ts', import.meta.url).pathname],
    outfile,
    bundle: true,
    packages: 'external',
    platform: 'node',
    format: 'esm',
    target: 'node20',
    logLevel: 'silent',
  });
  return outfile;
}

export const restart: Scenario = {
  id: 'restart',
  async run(options: BenchOptions): Promise<ScenarioResult> {
    const servers = options.quick ? 1_000 : 10_000;
    const dir = benchDir('restart');
    const sim = await startSimulator({ kubelet: { scheduleMs: 0, createMs: 0, readyMs: 0 } });
    try {
      options.log(`  restart: writing the histories of ${format(servers)} servers`);
      const history = await buildHistory(dir.file('history.db'), servers);
      const compiled = await compileChild();
      const reps = await repeat(options, 'restart', async (rep) => {
        const args = (name: string) => [copyHistory(history, dir.file(`${name}${rep + 1}.db`)).path, sim.url, String(history.timers)];
        const viaTsx = await runChild<RestartPhases>('./restart-child.ts', args('tsx'));
        const viaJs = await runChild<RestartPhases>(compiled, args('js'));
        return { ...viaTsx, compiled: viaJs.ready, compiledLoaded: viaJs.loaded };
      });
      const total = metric(
        'process start → serving (servers restored, timers re-armed), run with tsx',
        'ms',
        reps.map((r) => r.ready),
      );
      return {
        id: 'restart',
        title: '3. Restart',
        headline: total,
        rows: [
          metric(
            '  of which node + tsx + module loading',
            'ms',
            reps.map((r) => r.loaded),
          ),
          metric(
            '  of which openDatabase (header, integrity, migrations)',
            'ms',
            reps.map((r) => r.opened - r.loaded),
          ),
          metric(
            '  of which createSpawnkeeper (restore, re-arm, re-queue)',
            'ms',
            reps.map((r) => r.ready - r.opened),
          ),
          metric(
            'same restart compiled to JavaScript (esbuild bundle, plain node)',
            'ms',
            reps.map((r) => r.compiled),
          ),
          metric(
            '  of which node + module loading',
            'ms',
            reps.map((r) => r.compiledLoaded),
          ),
        ],
        goals: [{ text: `< 1 s for ${format(servers)} servers (${format(total.median)} ms)`, met: total.median < 1_000 }],
        extra: {},
        params: { servers, events: history.events, timers: history.timers, outbox: history.outbox, databaseBytes: history.bytes },
      };
    } finally {
      await sim.close();
      dir.remove();
      rmSync(BUILD_DIR, { recursive: true, force: true });
    }
  },
};
