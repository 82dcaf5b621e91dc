import type { CommandSpec } from '../core/cli.js';
import { UsageError, helpText, integerOption, parseCommand, stringOption } from '../core/cli.js';
import type { ControlServer } from './faults/control-server.js';
import { startControlServer } from './faults/control-server.js';
import type { Simulator } from './simulator.js';
import { startSimulator } from './simulator.js';

const SIM: CommandSpec = {
  usage: 'spawnkeeper sim [options] [--processes [-- COMMAND ARGS…]]',
  summary: 'Runs the simulated Kubernetes API server alone, on 127.0.0.1, until SIGTERM or SIGINT.',
  options: {
    port: { type: 'string', value: 'N', doc: 'port on 127.0.0.1 (0 or absent: any free port)' },
    namespace: { type: 'string', value: 'NS', doc: 'namespace to create besides "default"' },
    seed: { type: 'string', value: 'S', doc: 'seed for uids and every fault decision (a non-negative integer; default 1)' },
    faults: { type: 'boolean', doc: 'also serve the fault control API on 127.0.0.1 (see docs/simulator.md)' },
    'faults-port': { type: 'string', value: 'N', doc: 'its port (0 or absent: any free port); implies --faults' },
    processes: {
      type: 'boolean',
      doc: 'run each pod as a real local process (the process kubelet, docs/simulator.md); after --, the command that stands in for every image (default: a built-in server)',
    },
  },
};

export const SIM_USAGE = helpText(SIM);

export interface SimArgs {
  port: number;
  namespace: string;
  seed: number;
  /** The fault control API's port (0: any), or undefined when it is not served. */
  faultsPort?: number;
  /** The process kubelet's command ([] for the built-in server), or undefined for simulated containers. */
  processes?: string[];
  help: boolean;
}

/** SimUsageError is a bad command line; its message names the flag and ends with the usage. */
export class SimUsageError extends Error {
  constructor(problem: string) {
    super(`${problem}\n${SIM_USAGE}`);
    this.name = 'SimUsageError';
  }
}

/** parseSimArgs reads `--flag value` and `--flag=value` forms (node's parseArgs, strict); anything unknown is an error, not ignored. */
export function parseSimArgs(argv: readonly string[]): SimArgs {
  try {
    // What follows `--` is the process kubelet's command, not flags.
    const dash = argv.indexOf('--');
    const { values, help } = parseCommand(SIM, dash < 0 ? argv : argv.slice(0, dash));
    const namespace = stringOption(values['namespace']) ?? 'default';
    if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(namespace) || namespace.length > 63)
      throw new UsageError(`--namespace must be a DNS-1123 label, got "${namespace}"`);
    const args: SimArgs = {
      port: integerOption('port', values['port'], 0, 65535) ?? 0,
      namespace,
      seed: integerOption('seed', values['seed'], 0, 2 ** 32 - 1) ?? 1,
      help,
    };
    const faultsPort = integerOption('faults-port', values['faults-port'], 0, 65535) ?? (values['faults'] === true ? 0 : undefined);
    if (faultsPort !== undefined) args.faultsPort = faultsPort;
    if (values['processes'] === true) args.processes = [];
    if (dash >= 0) {
      const command = argv.slice(dash + 1);
      if (args.processes === undefined) throw new UsageError('a command after -- needs --processes');
      if (command.length === 0) throw new UsageError('-- must be followed by a command');
      args.processes = command;
    }
    return args;
  } catch (err) {
    if (err instanceof UsageError) throw new SimUsageError(err.message);
    throw err;
  }
}

export interface SimCliIo {
  out: (line: string) => void;
}

/**
 * runSimCli starts the simulator from command-line flags and prints its URL (and, with --faults,
 * the control API's); it resolves to the running simulator, whose close ends both, or undefined
 * after --help, and throws SimUsageError on bad flags.
 */
export async function runSimCli(
  argv: string[],
  io: SimCliIo = { out: (line) => void process.stdout.write(`${line}\n`) },
): Promise<Simulator | undefined> {
  const args = parseSimArgs(argv);
  if (args.help) {
    io.out(SIM_USAGE);
    return undefined;
  }
  const processes = args.processes === undefined ? {} : { processes: args.processes.length === 0 ? {} : { command: args.processes } };
  const sim = await startSimulator({ port: args.port, namespace: args.namespace, seed: args.seed, ...processes });
  io.out(`simulated Kubernetes API server listening on ${sim.url} (namespace ${sim.namespace}, seed ${sim.seed})`);
  if (args.processes !== undefined)
    io.out(`pods run as local processes: ${args.processes.length === 0 ? 'the built-in single-user server' : args.processes.join(' ')}`);
  if (args.faultsPort === undefined) return sim;
  let control: ControlServer;
  try {
    control = await startControlServer(sim, { port: args.faultsPort });
  } catch (err) {
    await sim.close();
    throw err;
  }
  io.out(`fault control API listening on ${control.url} (GET ${control.url}/ lists the calls)`);
  return {
    ...sim,
    close: async () => {
      await control.close();
      await sim.close();
    },
  };
}
