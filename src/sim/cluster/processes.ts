import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { Container, KubeObject, Pod } from './types.js';

/**
 * The process kubelet runs a pod's container as a real local process: the configured command stands
 * in for the image, the container's args follow it, and its env (values, Secret references, envFrom
 * Secrets) is resolved as a kubelet resolves it. Every pod shares this machine's network (as with
 * `hostNetwork`), so each gets its own free port on 127.0.0.1 and is told it by `PORT`, by a
 * replaced `--port`/`--ip` argument and by `JUPYTERHUB_SERVICE_URL`.
 */

/** BUILTIN_SERVER is the tiny single-user server run when no command is configured. */
export const BUILTIN_SERVER = fileURLToPath(new URL('./single-user-server.mjs', import.meta.url));

/** PORT_ANNOTATION is where the process kubelet writes the port it gave a pod (its podIP is 127.0.0.1). */
export const PORT_ANNOTATION = 'simulator.spawnkeeper.io/port';

export const PROCESS_POD_IP = '127.0.0.1';

export interface ProcessKubeletOptions {
  /** The program and its first arguments, in place of the image (default: node and the built-in server). */
  command?: readonly string[];
  /** Extra environment for every process (PATH and HOME are passed through from this process). */
  env?: Readonly<Record<string, string>>;
  /** Between readiness probes (default 100 ms). */
  probeIntervalMs?: number;
  /** Working directory of the processes (default: this process's). */
  cwd?: string;
  /** Hears each process's output lines (default: dropped). */
  onOutput?: (pod: string, line: string) => void;
}

/** ContainerConfigError is a container that cannot be configured (a missing Secret or key): the kubelet's CreateContainerConfigError. */
export class ContainerConfigError extends Error {}

type Lookup = (namespace: string, name: string) => KubeObject | undefined;

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string; optional?: boolean } };
}

interface EnvFrom {
  prefix?: string;
  secretRef?: { name: string; optional?: boolean };
}

function secretData(secret: KubeObject | undefined): Record<string, string> {
  const data = (secret?.data ?? {}) as Record<string, string>;
  return Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
}

/** resolveEnv builds a container's environment: envFrom Secrets first, then env entries (later wins, as in Kubernetes). */
export function resolveEnv(container: Container, namespace: string, secret: Lookup): Record<string, string> {
  const env: Record<string, string> = {};
  for (const from of (container.envFrom ?? []) as EnvFrom[]) {
    if (from.secretRef === undefined) continue;
    const found = secret(namespace, from.secretRef.name);
    if (found === undefined) {
      if (from.secretRef.optional === true) continue;
      throw new ContainerConfigError(`secret "${from.secretRef.name}" not found`);
    }
    for (const [k, v] of Object.entries(secretData(found))) env[`${from.prefix ?? ''}${k}`] = v;
  }
  for (const item of (container.env ?? []) as EnvVar[]) {
    const ref = item.valueFrom?.secretKeyRef;
    if (ref === undefined) {
      env[item.name] = item.value ?? '';
      continue;
    }
    const data = secretData(secret(namespace, ref.name));
    const value = data[ref.key];
    if (value !== undefined) env[item.name] = value;
    else if (ref.optional !== true)
      throw new ContainerConfigError(
        secret(namespace, ref.name) === undefined
          ? `secret "${ref.name}" not found`
          : `couldn't find key ${ref.key} in Secret ${namespace}/${ref.name}`,
      );
  }
  return env;
}

/**
 * withPort rewrites what tells a process where to listen: `PORT`, the JupyterHub service URL's host and
 * port, and `--port`/`--ip` arguments when the container has them (none is added).
 */
export function withPort(
  args: readonly string[],
  env: Record<string, string>,
  port: number,
): { args: string[]; env: Record<string, string> } {
  const out = args.map((arg, i) => {
    const previous = args[i - 1];
    if (arg.startsWith('--port=') || previous === '--port') return arg.startsWith('--port=') ? `--port=${port}` : String(port);
    if (arg.startsWith('--ip=') || previous === '--ip') return arg.startsWith('--ip=') ? `--ip=${PROCESS_POD_IP}` : PROCESS_POD_IP;
    return arg;
  });
  const next: Record<string, string> = { ...env, PORT: String(port) };
  const service = env.JUPYTERHUB_SERVICE_URL;
  // JupyterHub writes `http://{ip}:{port}{prefix}`, the ip possibly empty: only the authority changes.
  if (service !== undefined && service !== '')
    next.JUPYTERHUB_SERVICE_URL = service.replace(/^(https?:\/\/)[^/]*/, `$1${PROCESS_POD_IP}:${port}`);
  return { args: out, env: next };
}

/** freePort asks the system for a port nobody on 127.0.0.1 listens on. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, PROCESS_POD_IP, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** probePath is the readiness probe's path: the container's httpGet probe, else the JupyterHub prefix or `/`. */
export function probeOf(container: Container, env: Record<string, string>): { path: string; anyAnswer: boolean } {
  const probe = container.readinessProbe as { httpGet?: { path?: string } } | undefined;
  if (probe?.httpGet !== undefined) return { path: probe.httpGet.path ?? '/', anyAnswer: false };
  // Without a probe, any HTTP answer means up, as JupyterHub's own wait for a server counts it.
  return { path: env.JUPYTERHUB_SERVICE_PREFIX ?? '/', anyAnswer: true };
}

function probeOnce(port: number, path: string, anyAnswer: boolean): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ host: PROCESS_POD_IP, port, path, method: 'GET', timeout: 1000 }, (res) => {
      res.resume();
      const status = res.statusCode ?? 0;
      resolve(anyAnswer ? status > 0 : status >= 200 && status < 400);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}

export interface ProcessEvents {
  /** The process answers its readiness probe (called once). */
  ready: () => void;
  /** The process exited on its own or was stopped: its exit code as a kubelet reports it (128+signal when killed). */
  exited: (exitCode: number) => void;
}

interface Running {
  readonly child: ChildProcess;
  readonly port: number;
  exitCode?: number;
  readonly exited: Promise<number>;
  stopProbe: () => void;
}

/** ProcessRunner starts, probes and stops the local processes of the process kubelet, one per pod key. */
export class ProcessRunner {
  private readonly running = new Map<string, Running>();
  private readonly taken = new Set<number>();
  readonly command: readonly string[];

  constructor(private readonly options: ProcessKubeletOptions = {}) {
    this.command = options.command !== undefined && options.command.length > 0 ? options.command : [process.execPath, BUILTIN_SERVER];
  }

  /** ports returns the port of every running process, by pod key. */
  ports(): Map<string, number> {
    return new Map([...this.running].map(([key, r]) => [key, r.port]));
  }

  /** allocatePort finds a free port on 127.0.0.1 that no process of this runner holds, and holds it. */
  async allocatePort(): Promise<number> {
    let port = await freePort();
    while (this.taken.has(port)) port = await freePort();
    this.taken.add(port);
    return port;
  }

  /** release gives back a port that was allocated but never used. */
  release(port: number): void {
    this.taken.delete(port);
  }

  /** start spawns the pod's first container on an allocated port, keyed by the pod's uid; it probes until ready. */
  start(key: string, pod: Pod, env: Record<string, string>, port: number, events: ProcessEvents): void {
    const container = pod.spec.containers[0];
    if (container === undefined) throw new ContainerConfigError('the pod has no container');
    if (this.running.has(key)) throw new Error(`a process already runs for pod ${key}`);
    const args = [...this.command.slice(1), ...((container.args ?? []) as string[])];
    const placed = withPort(args, env, port);
    const child = spawn(this.command[0] ?? '', placed.args, {
      cwd: this.options.cwd ?? process.cwd(),
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...this.options.env, ...placed.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: false,
    });
    const output = this.options.onOutput;
    const forward = (chunk: Buffer): void => {
      if (output !== undefined) for (const line of chunk.toString('utf8').split('\n')) if (line !== '') output(key, line);
    };
    child.stdout?.on('data', forward);
    child.stderr?.on('data', forward);
    const exited = new Promise<number>((resolve) => {
      child.once('error', (err) => {
        output?.(key, `cannot start ${this.command[0] ?? ''}: ${err.message}`);
        resolve(127);
      });
      child.once('exit', (code, signal) => resolve(code ?? 128 + signalNumber(signal)));
    });
    const run: Running = { child, port, exited, stopProbe: () => undefined };
    this.running.set(key, run);
    const { path, anyAnswer } = probeOf(container, placed.env);
    let probing = true;
    run.stopProbe = () => {
      probing = false;
    };
    void exited.then((code) => {
      run.exitCode = code;
      probing = false;
      this.taken.delete(port);
      if (this.running.get(key) === run) this.running.delete(key);
      events.exited(code);
    });
    void (async () => {
      while (probing) {
        if (await probeOnce(port, path, anyAnswer)) {
          if (probing) events.ready();
          return;
        }
        await new Promise((r) => setTimeout(r, this.options.probeIntervalMs ?? 100));
      }
    })();
  }

  /** stop sends SIGTERM, then SIGKILL after graceMs, and resolves with the exit code (undefined when nothing ran). */
  async stop(key: string, graceMs: number): Promise<number | undefined> {
    const run = this.running.get(key);
    if (run === undefined) return undefined;
    run.stopProbe();
    if (run.exitCode !== undefined) return run.exitCode;
    run.child.kill(graceMs > 0 ? 'SIGTERM' : 'SIGKILL');
    const timer = graceMs > 0 ? setTimeout(() => run.child.kill('SIGKILL'), graceMs) : undefined;
    const code = await run.exited;
    if (timer !== undefined) clearTimeout(timer);
    return code;
  }

  /** stopAll kills every process now (the simulator is closing). */
  async stopAll(): Promise<void> {
    await Promise.all([...this.running.keys()].map((key) => this.stop(key, 0)));
  }
}

function signalNumber(signal: NodeJS.Signals | null): number {
  if (signal === 'SIGKILL') return 9;
  if (signal === 'SIGTERM') return 15;
  if (signal === 'SIGINT') return 2;
  return 0;
}
