import type { ControlServer } from './faults/control-server.js';
import { startControlServer } from './faults/control-server.js';
import type { Simulator } from './simulator.js';
import { startSimulator } from './simulator.js';

export const SIM_USAGE = `usage: sim [--port N] [--namespace NS] [--seed S] [--faults [--faults-port N]] [--processes [-- COMMAND ARGS…]]
  --port N          port on 127.0.0.1 (0 or absent: any free port)
  --namespace NS    namespace to create besides "default"
  --seed S          seed for uids and every fault decision (a non-negative integer)
  --faults          also serve the fault control API on 127.0.0.1 (see docs/simulator.md)
  --faults-port N   its port (0 or absent: any free port); implies --faults
  --processes       run each pod as a real local process (the process kubelet, docs/simulator.md);
                    after --, the command that stands in for every image (default: a built-in server)`;

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

function integerFlag(flag: string, value: string | undefined, max: number): number {
  if (value === undefined || value.startsWith('--')) throw new SimUsageError(`${flag} needs a value`);
  if (!/^[0-9]+$/.test(value) || Number(value) > max)
    throw new SimUsageError(`${flag} must be an integer from 0 to ${max}, got "${value}"`);
  return Number(value);
}

/** parseSimArgs reads `--flag value` and `--flag=value` forms; anything unknown is an error, not ignored. */
export function parseSimArgs(argv: readonly string[]): SimArgs {
  const args: SimArgs = { port: 0, namespace: 'default', seed: 1, help: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    const eq = arg.indexOf('=');
    const flag = arg.startsWith('--') && eq > 0 ? arg.slice(0, eq) : arg;
    const inline = arg.startsWith('--') && eq > 0 ? arg.slice(eq + 1) : undefined;
    const value = (): string | undefined => inline ?? argv[++i];
    switch (flag) {
      case '--port':
        args.port = integerFlag('--port', value(), 65535);
        break;
      case '--seed':
        args.seed = integerFlag('--seed', value(), 2 ** 32 - 1);
        break;
      case '--namespace': {
        const ns = value();
        if (ns === undefined || ns.startsWith('--')) throw new SimUsageError('--namespace needs a value');
        if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(ns) || ns.length > 63)
          throw new SimUsageError(`--namespace must be a DNS-1123 label, got "${ns}"`);
        args.namespace = ns;
        break;
      }
      case '--faults':
        if (inline !== undefined) throw new SimUsageError('--faults takes no value; use --faults-port N for its port');
        args.faultsPort ??= 0;
        break;
      case '--faults-port':
        args.faultsPort = integerFlag('--faults-port', value(), 65535);
        break;
      case '--processes':
        if (inline !== undefined) throw new SimUsageError('--processes takes no value; the command follows --');
        args.processes ??= [];
        break;
      case '--': {
        const command = argv.slice(i + 1);
        if (args.processes === undefined) throw new SimUsageError('a command after -- needs --processes');
        if (command.length === 0) throw new SimUsageError('-- must be followed by a command');
        args.processes = command;
        i = argv.length;
        break;
      }
      case '--help':
      case '-h':
        args.help = true;
        break;
      default:
        throw new SimUsageError(`unknown argument: ${arg}`);
    }
  }
  return args;
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
