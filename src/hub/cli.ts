import { InvalidNameError } from '../kube/names.js';
import { SimUsageError, runSimCli } from '../sim/index.js';
import { DatabaseRefusedError } from '../store/database.js';
import { HISTORY_USAGE, REPLAY_USAGE, TOKEN_USAGE, historyCommand, replayCommand, tokenCommand } from './cli-db.js';
import type { CliIo } from './cli-io.js';
import { processIo } from './cli-io.js';
import { STATUS_USAGE, statusCommand } from './cli-status.js';
import { ConfigError, configHelp, parseArgs, resolveConfig } from './config.js';
import { VERSION } from './hub.js';
import { createLogger } from './log.js';
import type { RunningHub } from './serve.js';
import { startHub } from './serve.js';
import type { HubConfig } from './settings.js';

/** USAGE lists the commands, so `spawnkeeper --help` is the map of the tool. */
export const USAGE = `usage: spawnkeeper COMMAND [options]   (spawnkeeper COMMAND --help for each)
  serve     run the hub (the default; without --kubeconfig or --in-cluster, on an embedded simulated cluster)
  sim       run the simulated Kubernetes API server alone
  status    ask a running hub for its health and servers
  history   print a server's event timeline from the database
  replay    --check: fold every event log and compare it with the stored snapshots
  token     mint an API token into the database`;

/** SERVE_USAGE is generated from the settings table, so the help cannot drift from the parser. */
export const SERVE_USAGE = `usage: spawnkeeper serve [--config FILE] [options]
  Settings come from defaults, then the JSON file (--config or $SPAWNKEEPER_CONFIG, snake_case
  keys), then SPAWNKEEPER_* variables, then flags; each wins over the one before. Durations are seconds.
${configHelp()}`;

function banner(io: CliIo, running: RunningHub, config: HubConfig): void {
  io.out(`spawnkeeper ${VERSION}: JupyterHub REST API at ${running.url}/hub/api`);
  io.out(`  cluster:  ${running.sim === undefined ? (config.inCluster ? 'in-cluster service account' : `kubeconfig ${config.kubeconfig}`) : `embedded simulator at ${running.sim.url}`} (namespace ${config.namespace})`);
  io.out(`  database: ${config.db}`);
  if (running.generatedToken !== undefined) {
    io.out(`  admin token (generated; shown only this once, keep it): ${running.generatedToken}`);
  } else if (config.adminToken !== '') {
    io.out('  admin token: the value of SPAWNKEEPER_ADMIN_TOKEN');
  } else {
    io.out('  admin token: the one printed at the first start (lost it? `spawnkeeper token --admin --db ...`)');
  }
  io.out(`  try:      curl -H "Authorization: token $TOKEN" ${running.url}/hub/api/users`);
}

/** serveCommand runs the hub until SIGTERM or SIGINT (exit 0) or prolonged unhealth (exit 1). */
async function serveCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const args = parseArgs(argv);
  if (args.help) {
    io.out(SERVE_USAGE);
    return 0;
  }
  if (args.positionals.length > 0) throw new ConfigError(`unexpected argument ${args.positionals[0] ?? ''}`);
  const config = resolveConfig({ args, env: io.env });
  const logger = createLogger({ level: config.logLevel, format: config.logFormat });
  let exitCode = 0;
  let stop: () => void = () => undefined;
  const stopped = new Promise<void>((resolve) => (stop = resolve));
  const running = await startHub(config, {
    logger,
    onUnhealthyExit: () => {
      exitCode = 1;
      stop();
    },
  });
  banner(io, running, config);
  const onSignal = (signal: NodeJS.Signals) => {
    logger.info({ signal }, 'shutting down: no new requests; servers keep running and are picked up at the next start');
    stop();
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  try {
    await stopped;
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    await running.close();
    logger.info('stopped');
    logger.flush();
  }
  return exitCode;
}

/** simCommand runs the simulator until SIGTERM or SIGINT. */
async function simCommand(argv: string[], io: CliIo): Promise<number> {
  const sim = await runSimCli(argv, { out: (line) => io.out(line) });
  if (sim === undefined) return 0;
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', () => resolve());
    process.once('SIGINT', () => resolve());
  });
  await sim.close();
  return 0;
}

/**
 * main runs one command and resolves to the process exit code: 0 success, 1 failure, 2 bad usage
 * or configuration (with the reason on stderr).
 */
export async function main(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  const [first, ...rest] = argv;
  const command = first === undefined || first.startsWith('-') ? 'serve' : first;
  const args = first === undefined || first.startsWith('-') ? [...argv] : rest;
  try {
    switch (command) {
      case 'serve':
        if (first === '--help' || first === '-h') {
          io.out(`${USAGE}\n\n${SERVE_USAGE}`);
          return 0;
        }
        return await serveCommand(args, io);
      case 'sim':
        return await simCommand(args, io);
      case 'status':
        return await statusCommand(args, io);
      case 'history':
        return historyCommand(args, io);
      case 'replay':
        return replayCommand(args, io);
      case 'token':
        return tokenCommand(args, io);
      case 'help':
        io.out([USAGE, SERVE_USAGE, STATUS_USAGE, HISTORY_USAGE, REPLAY_USAGE, TOKEN_USAGE].join('\n\n'));
        return 0;
      default:
        io.err(`unknown command ${command}\n${USAGE}`);
        return 2;
    }
  } catch (err) {
    if (err instanceof ConfigError || err instanceof SimUsageError || err instanceof InvalidNameError) {
      io.err(`spawnkeeper ${command}: ${err.message}`);
      return 2;
    }
    if (err instanceof DatabaseRefusedError) {
      io.err(`spawnkeeper ${command}: ${err.message}`);
      return 1;
    }
    io.err(`spawnkeeper ${command} failed: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  }
}

/**
 * run is the process entry: it sets the exit code from `main`, and makes sure the process ends even
 * if a stray handle (a keep-alive socket) would hold it open after a clean shutdown.
 */
export async function run(argv: readonly string[]): Promise<void> {
  const code = await main(argv);
  process.exitCode = code;
  setTimeout(() => process.exit(code), 2_000).unref();
}
