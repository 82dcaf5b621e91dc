import { reflectorMachine } from '../../../machines/reflector.machine.js';
import { serverMachine } from '../../../machines/server.machine.js';
import { InvalidNameError } from '../../kube/names.js';
import { DatabaseRefusedError } from '../../store/database.js';
import { DatabaseLockedError } from '../../store/lock.js';
import {
  EXPORT_DB_USAGE,
  HISTORY_USAGE,
  REPLAY_USAGE,
  TOKEN_USAGE,
  exportDbCommand,
  historyCommand,
  replayCommand,
  tokenCommand,
} from './db.js';
import type { CliIo } from './io.js';
import { processIo } from './io.js';
import { STATUS_USAGE, statusCommand } from './status.js';
import type { HubCommandSpec } from '../config.js';
import { ConfigError, commandSpec, parseArgs, resolveConfig } from '../config.js';
import { UsageError, helpText } from '../../core/cli.js';
import { VACUUM_USAGE, vacuumCommand } from './vacuum.js';
import type { ExportFormat } from './export-machine.js';
import { exportMachine } from './export-machine.js';
import { VERSION } from '../hub.js';
import { startInspection } from '../dashboard/inspection.js';
import { createLogger } from '../log.js';
import type { RunningHub } from '../serve.js';
import { startHub } from '../serve.js';
import type { HubConfig } from '../settings.js';

/** USAGE lists the commands, so `spawnkeeper --help` is the map of the tool. */
export const USAGE = `usage: spawnkeeper COMMAND [options]   (spawnkeeper COMMAND --help for each)
  serve     run the hub (the default; without --kubeconfig or --in-cluster, on an embedded simulated cluster)
  sim       run the simulated Kubernetes API server alone
  status    ask a running hub for its health and servers
  history   print a server's event timeline from the database
  replay    --check: fold every event log and compare it with the stored snapshots
  export    print servers and their event logs from the database as JSON lines
  token     mint an API token into the database (stop the hub first: it writes)
  vacuum    give the pages retention freed back to the file system (in place, or --into a copy)
  export-machine  print a machine for the Stately editor, as JSON or as a Mermaid diagram`;

/** EXPORT_MACHINE is `spawnkeeper export-machine`: a machine for the Stately editor or for docs. */
const EXPORT_MACHINE: HubCommandSpec = {
  usage: 'spawnkeeper export-machine [options] [server|reflector]',
  summary: 'Prints a machine (the server machine unless reflector is named).',
  options: {
    format: {
      type: 'string',
      value: 'stately|json|mermaid',
      doc: 'stately (the default): createMachine({...}) code that the Stately editor imports;\njson: the normalised definition; mermaid: a state diagram for docs',
    },
  },
  positionals: true,
  settings: 'none',
};
export const EXPORT_USAGE = helpText(commandSpec(EXPORT_MACHINE));

/** SERVE is `spawnkeeper serve`; its settings flags come from the settings table, so the help cannot drift from the parser. */
const SERVE: HubCommandSpec = {
  usage: 'spawnkeeper serve [options]',
  summary: `Runs the hub (the default command); without --kubeconfig or --in-cluster, on an embedded simulated cluster.
Settings come from defaults, then the JSON file (--config or $SPAWNKEEPER_CONFIG, snake_case keys),
then SPAWNKEEPER_* variables, then flags; each wins over the one before. Durations are seconds.`,
  options: {
    inspect: {
      type: 'boolean',
      inline: true,
      value: 'WS-URL',
      doc: "stream every server's registration, events and snapshots to the Stately inspector;\nwith no URL a local relay on 127.0.0.1:8080 starts and the page to open is printed, with its key\n(a relay that cannot listen is reported; the hub goes on)",
    },
    'inspect-host': {
      type: 'string',
      value: 'HOST',
      doc: "the relay's address (default 127.0.0.1; another host lets anyone who can reach it\nand holds the page's key see every server)",
    },
    'inspect-port': { type: 'string', value: 'N', doc: "the relay's port (default 8080)" },
  },
  positionals: true,
  settings: 'all',
};
export const SERVE_USAGE = helpText(commandSpec(SERVE));

function banner(io: CliIo, running: RunningHub, config: HubConfig): void {
  io.out(`spawnkeeper ${VERSION}: JupyterHub REST API at ${running.url}/hub/api`);
  io.out(
    `  cluster:  ${running.sim === undefined ? (config.inCluster ? 'in-cluster service account' : `kubeconfig ${config.kubeconfig}`) : `embedded simulator at ${running.sim.url}`} (namespace ${config.namespace})`,
  );
  if (running.sim !== undefined && config.simKubelet === 'process') {
    const command = config.sim.kubelet?.command?.join(' ') ?? 'the built-in single-user server';
    io.out(`  pods:     real local processes, each at a loopback address of its own (${command})`);
  }
  io.out(`  database: ${config.db}`);
  if (running.generatedToken !== undefined) {
    // Never onto the log stream: stdout may be collected. A terminal shows it; a file keeps it.
    if (io.tty === true) io.out(`  admin token (generated; shown only this once, keep it): ${running.generatedToken}`);
    io.out(
      running.adminTokenFile === undefined
        ? '  admin token: generated, not shown (no terminal, no database folder): set SPAWNKEEPER_ADMIN_TOKEN'
        : `  admin token: generated, written to ${running.adminTokenFile} (mode 0600)`,
    );
  } else if (config.adminToken !== '') {
    io.out('  admin token: the value of SPAWNKEEPER_ADMIN_TOKEN');
  } else {
    io.out('  admin token: the one generated at the first start (lost it? `spawnkeeper token --admin --db ...`)');
  }
  io.out(`  try:      curl -H "Authorization: token $TOKEN" ${running.url}/hub/api/users`);
}

/** serveCommand runs the hub until SIGTERM or SIGINT (exit 0) or prolonged unhealth (exit 1). */
async function serveCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const args = parseArgs(argv, SERVE);
  if (args.help) {
    io.out(SERVE_USAGE);
    return 0;
  }
  let inspect = args.options.get('--inspect');
  if (inspect === 'true' && /^wss?:\/\//.test(args.positionals[0] ?? '')) inspect = args.positionals.shift();
  if (args.positionals.length > 0) throw new ConfigError(`unexpected argument ${args.positionals[0] ?? ''}`);
  if (inspect !== undefined && inspect !== 'true' && !/^wss?:\/\/\S+$/.test(inspect))
    throw new ConfigError(`--inspect takes a ws:// or wss:// URL, not ${JSON.stringify(inspect)}`);
  const inspectPort = args.options.get('--inspect-port') ?? '8080';
  if (!/^\d{1,5}$/.test(inspectPort) || Number(inspectPort) > 65535)
    throw new ConfigError(`--inspect-port must be a port from 0 to 65535, not ${JSON.stringify(inspectPort)}`);
  const relay = { host: args.options.get('--inspect-host') ?? '127.0.0.1', port: Number(inspectPort) };
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
  // Signals are handled before the banner tells anyone the hub is there.
  const onSignal = (signal: NodeJS.Signals) => {
    logger.info({ signal }, 'shutting down: no new requests; servers keep running and are picked up at the next start');
    stop();
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  banner(io, running, config);
  const inspection =
    inspect === undefined ? undefined : await startInspection(running.sk, inspect === 'true' ? relay : { url: inspect }, io);
  try {
    await stopped;
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    inspection?.stop();
    await running.close();
    logger.info('stopped');
    logger.flush();
  }
  return exitCode;
}

/** exportCommand prints a machine in one of the export formats. */
function exportCommand(argv: readonly string[], io: CliIo): number {
  const args = parseArgs(argv, EXPORT_MACHINE);
  if (args.help) {
    io.out(EXPORT_USAGE);
    return 0;
  }
  const format = args.options.get('--format') ?? 'stately';
  if (format !== 'stately' && format !== 'json' && format !== 'mermaid')
    throw new ConfigError(`--format is stately, json or mermaid, not ${JSON.stringify(format)}`);
  const [which = 'server', ...rest] = args.positionals;
  if ((which !== 'server' && which !== 'reflector') || rest.length > 0)
    throw new ConfigError(
      `unexpected argument ${JSON.stringify(which === 'server' || which === 'reflector' ? rest[0] : which)}\n${EXPORT_USAGE}`,
    );
  io.out(exportMachine(which === 'server' ? serverMachine : reflectorMachine, format satisfies ExportFormat).trimEnd());
  return 0;
}

/** simCommand runs the simulator until SIGTERM or SIGINT; the simulator's modules load only for this command. */
async function simCommand(argv: string[], io: CliIo): Promise<number> {
  const { runSimCli, SimUsageError } = await import('../../sim/index.js');
  const sim = await runSimCli(argv, { out: (line) => io.out(line) }).catch((err: unknown) => {
    throw err instanceof SimUsageError ? new UsageError(err.message) : err;
  });
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
      case 'export':
        return exportDbCommand(args, io);
      case 'token':
        return tokenCommand(args, io);
      case 'vacuum':
        return vacuumCommand(args, io);
      case 'export-machine':
        return exportCommand(args, io);
      case 'help':
        io.out(
          [USAGE, SERVE_USAGE, STATUS_USAGE, HISTORY_USAGE, REPLAY_USAGE, EXPORT_DB_USAGE, TOKEN_USAGE, VACUUM_USAGE, EXPORT_USAGE].join(
            '\n\n',
          ),
        );
        return 0;
      default:
        io.err(`unknown command ${command}\n${USAGE}`);
        return 2;
    }
  } catch (err) {
    if (err instanceof ConfigError || err instanceof UsageError || err instanceof InvalidNameError) {
      io.err(`spawnkeeper ${command}: ${err.message}`);
      return 2;
    }
    if (err instanceof DatabaseRefusedError || err instanceof DatabaseLockedError) {
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
