import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { Container, KubeObject, Pod } from './types.js';

/**
 * The process kubelet runs a pod's container as a real local process: the configured command stands
 * in for the image's, the container's command and args replace it as Kubernetes replaces an image's
 * entrypoint and command, and its env (values, Secret references, envFrom Secrets) is resolved as a
 * kubelet resolves it. Each pod gets an address of its own on the loopback network (127.x.y.z; all of
 * 127.0.0.0/8 is this machine on Linux), so every pod listens on its declared containerPort (8888
 * when none) as in a cluster, and the pod's IP and port are where its server answers. The process is
 * told its address by `--ip` arguments and `JUPYTERHUB_SERVICE_URL` (their host is replaced) and by
 * `POD_IP` and `PORT`.
 */

/** BUILTIN_SERVER is the tiny single-user server run when no command is configured. */
export const BUILTIN_SERVER = fileURLToPath(new URL('./single-user-server.mjs', import.meta.url));

/** DEFAULT_CONTAINER_PORT is where a pod that declares no containerPort is expected to listen. */
export const DEFAULT_CONTAINER_PORT = 8888;

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

/** containerPort is the first port the container declares, else 8888. */
export function containerPort(container: Container): number {
  const ports = (container.ports ?? []) as { containerPort?: number }[];
  return ports.find((p) => typeof p.containerPort === 'number')?.containerPort ?? DEFAULT_CONTAINER_PORT;
}

/** argvOf is what runs: the container's command and args over the image's (here: the configured command), as Kubernetes combines them. */
export function argvOf(container: Container, image: readonly string[]): string[] {
  const command = container.command as string[] | undefined;
  const args = container.args as string[] | undefined;
  if (command !== undefined && command.length > 0) return [...command, ...(args ?? [])];
  if (args !== undefined && args.length > 0) return [...args];
  return [...image];
}

/** withAddress points what tells a process where to listen at the pod's address: `--ip` arguments, the JupyterHub service URL, POD_IP and PORT. */
export function withAddress(
  argv: readonly string[],
  env: Record<string, string>,
  ip: string,
  port: number,
): { argv: string[]; env: Record<string, string> } {
  const out = argv.map((arg, i) => (arg.startsWith('--ip=') ? `--ip=${ip}` : argv[i - 1] === '--ip' ? ip : arg));
  const next: Record<string, string> = { ...env, POD_IP: ip, PORT: env.PORT ?? String(port) };
  const service = env.JUPYTERHUB_SERVICE_URL;
  // JupyterHub writes `http://{ip}:{port}{prefix}`, the ip possibly empty or 0.0.0.0: only the host changes.
  if (service !== undefined && service !== '') next.JUPYTERHUB_SERVICE_URL = service.replace(/^(https?:\/\/)[^/:]*/, `$1${ip}`);
  return { argv: out, env: next };
}

/** bindable says whether ip:port can be listened on now. */
export function bindable(ip: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, ip, () => server.close(() => resolve(true)));
  });
}

/** probePath is the readiness probe's path: the container's httpGet probe, else the JupyterHub prefix or `/`. */
export function probeOf(container: Container, env: Record<string, string>): { path: string; anyAnswer: boolean } {
  const probe = container.readinessProbe as { httpGet?: { path?: string } } | undefined;
  if (probe?.httpGet !== undefined) return { path: probe.httpGet.path ?? '/', anyAnswer: false };
  // Without a probe, any HTTP answer means up, as JupyterHub's own wait for a server counts it.
  return { path: env.JUPYTERHUB_SERVICE_PREFIX ?? '/', anyAnswer: true };
}

function probeOnce(ip: string, port: number, path: string, anyAnswer: boolean): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ host: ip, port, path, method: 'GET', timeout: 1000 }, (res) => {
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
  readonly ip: string;
  exitCode?: number;
  readonly exited: Promise<number>;
  stopProbe: () => void;
}

/** ProcessRunner starts, probes and stops the local processes of the process kubelet, one per pod uid. */
export class ProcessRunner {
  private readonly running = new Map<string, Running>();
  private readonly taken = new Set<string>();
  /** The next pod address tried: 127.<b>.<c>.<d>, from a base that differs between processes. */
  private next = (((process.pid % 200) + 20) << 16) + 1;
  readonly command: readonly string[];

  constructor(private readonly options: ProcessKubeletOptions = {}) {
    this.command = options.command !== undefined && options.command.length > 0 ? options.command : [process.execPath, BUILTIN_SERVER];
  }

  /** allocateAddress finds a loopback address where nothing of ours runs and the port can be listened on, and holds it. */
  async allocateAddress(port: number): Promise<string> {
    for (let tries = 0; tries < 1000; tries++) {
      const n = this.next++;
      if ((n & 0xff) === 0 || (n & 0xff) === 0xff) continue;
      if (this.next >= 1 << 24) this.next = 1 << 16;
      const ip = `127.${(n >> 16) & 0xff}.${(n >> 8) & 0xff}.${n & 0xff}`;
      if (this.taken.has(ip) || !(await bindable(ip, port))) continue;
      this.taken.add(ip);
      return ip;
    }
    throw new Error(`no loopback address can listen on port ${port}`);
  }

  /** release gives back an address that was allocated but never used. */
  release(ip: string): void {
    this.taken.delete(ip);
  }

  /** start spawns the pod's first container at an allocated address, keyed by the pod's uid; it probes until ready. */
  start(key: string, pod: Pod, env: Record<string, string>, ip: string, events: ProcessEvents): void {
    const container = pod.spec.containers[0];
    if (container === undefined) throw new ContainerConfigError('the pod has no container');
    if (this.running.has(key)) throw new Error(`a process already runs for pod ${key}`);
    const port = containerPort(container);
    const placed = withAddress(argvOf(container, this.command), env, ip, port);
    const child = spawn(placed.argv[0] ?? '', placed.argv.slice(1), {
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
        output?.(key, `cannot start ${placed.argv[0] ?? ''}: ${err.message}`);
        resolve(127);
      });
      child.once('exit', (code, signal) => resolve(code ?? 128 + signalNumber(signal)));
    });
    const run: Running = { child, ip, exited, stopProbe: () => undefined };
    this.running.set(key, run);
    const { path, anyAnswer } = probeOf(container, placed.env);
    let probing = true;
    run.stopProbe = () => {
      probing = false;
    };
    void exited.then((code) => {
      run.exitCode = code;
      probing = false;
      this.taken.delete(ip);
      if (this.running.get(key) === run) this.running.delete(key);
      events.exited(code);
    });
    void (async () => {
      while (probing) {
        if (await probeOnce(ip, port, path, anyAnswer)) {
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
