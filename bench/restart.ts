// Scenario 3: restart: from process start to serving, with every server restored and every timer re-armed.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import ts from 'typescript';
import { startSimulator } from '../src/sim/index.js';
import { runChild } from './child.js';
import { buildHistory, copyHistory } from './history.js';
import type { RestartPhases } from './restart-child.js';
import type { BenchOptions, Scenario } from './scenario.js';
import { repeat } from './scenario.js';
import { format, metric } from './stats.js';
import type { ScenarioResult } from './stats.js';
import { benchDir } from './support.js';

/** BUILD_DIR sits inside the checkout, so the child's `import … from 'spawnkeeper'` resolves to the package's own dist/. */
const BUILD_DIR = new URL('./.build/', import.meta.url);

/**
 * compileChild turns the restarting process's own few lines into JavaScript (types stripped, nothing
 * bundled): everything it imports is the compiled package in dist/ (`npm run bench` builds it
 * first), the code `npm start` and the `spawnkeeper` command run.
 */
function compileChild(): string {
  const source = readFileSync(new URL('./restart-child.ts', import.meta.url), 'utf8');
  const { outputText } = ts.transpileModule(source, {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: true },
  });
  mkdirSync(BUILD_DIR, { recursive: true });
  const outfile = new URL('restart-child.mjs', BUILD_DIR).pathname;
  writeFileSync(outfile, outputText);
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
      const compiled = compileChild();
      const reps = await repeat(options, 'restart', async (rep) => {
        const args = (name: string) => [copyHistory(history, dir.file(`${name}${rep + 1}.db`)).path, sim.url, String(history.timers)];
        const viaJs = await runChild<RestartPhases>(compiled, args('js'));
        const viaTsx = await runChild<RestartPhases>('./restart-child.ts', args('tsx'));
        return { ...viaJs, sources: viaTsx.ready, sourcesLoaded: viaTsx.loaded };
      });
      const total = metric(
        'process start → serving (servers restored, timers re-armed), the compiled build (dist/, plain node)',
        'ms',
        reps.map((r) => r.ready),
      );
      return {
        id: 'restart',
        title: '3. Restart',
        headline: total,
        rows: [
          metric(
            '  of which node + module loading',
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
            '  CPU time (user + system) the process used up to serving',
            'ms',
            reps.map((r) => r.cpu),
          ),
          metric(
            'same restart from the TypeScript sources under tsx (development only)',
            'ms',
            reps.map((r) => r.sources),
          ),
          metric(
            '  of which node + tsx + module loading',
            'ms',
            reps.map((r) => r.sourcesLoaded),
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
