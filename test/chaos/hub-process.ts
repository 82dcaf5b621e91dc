import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import type { WriteStream } from 'node:fs';
import { createServer } from 'node:net';

const BIN = new URL('../../bin/spawnkeeper.mjs', import.meta.url).pathname;

/** freePort asks the system for a port that is free now, for a hub that must keep its port across restarts. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

export interface HubProcessOptions {
  port: number;
  db: string;
  /** kubeconfig of the cluster; without one the hub runs its embedded simulator. */
  kubeconfig?: string;
  config: string;
  token: string;
  logFile: string;
  env?: Record<string, string>;
}

/**
 * HubProcess is the real hub as a child process (`spawnkeeper serve`), started on a fixed port and
 * database, killed with SIGKILL at random moments and started again on the same file.
 */
export class HubProcess {
  private child: ChildProcess | undefined;
  private readonly log: WriteStream;
  kills = 0;
  starts = 0;
  /** startMs: how long each start took until the hub answered. */
  readonly startMs: number[] = [];
  /** servingSince: when the last start answered (ms since the epoch), 0 before any. */
  servingSince = 0;

  constructor(private readonly o: HubProcessOptions) {
    this.log = createWriteStream(o.logFile, { flags: 'a' });
  }

  get url(): string {
    return `http://127.0.0.1:${this.o.port}`;
  }

  /** pid of the running process, undefined when none runs. */
  get pid(): number | undefined {
    return this.running ? this.child?.pid : undefined;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** start launches the hub; it resolves once /hub/health answers (any status) or rejects after `timeoutMs`. */
  async start(timeoutMs = 30_000): Promise<void> {
    const cluster = this.o.kubeconfig === undefined ? [] : ['--kubeconfig', this.o.kubeconfig];
    const args = [
      BIN,
      'serve',
      '--port',
      String(this.o.port),
      '--db',
      this.o.db,
      ...cluster,
      '--config',
      this.o.config,
      '--log-level',
      'warn',
      '--log-format',
      'json',
    ];
    const child = spawn(process.execPath, args, {
      env: { ...process.env, SPAWNKEEPER_ADMIN_TOKEN: this.o.token, ...this.o.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.starts++;
    this.child = child;
    child.stdout?.pipe(this.log, { end: false });
    child.stderr?.pipe(this.log, { end: false });
    const began = Date.now();
    const deadline = began + timeoutMs;
    while (Date.now() < deadline) {
      if (!this.running)
        throw new Error(`the hub exited during start (code ${child.exitCode}, signal ${child.signalCode}); see ${this.o.logFile}`);
      try {
        await fetch(`${this.url}/hub/health`, { signal: AbortSignal.timeout(1_000) });
        this.servingSince = Date.now();
        this.startMs.push(this.servingSince - began);
        return;
      } catch {
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    throw new Error(`the hub did not answer within ${timeoutMs} ms; see ${this.o.logFile}`);
  }

  /** kill sends SIGKILL and waits for the process to be gone. */
  async kill(): Promise<void> {
    const child = this.child;
    if (child === undefined || !this.running) return;
    const gone = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await gone;
    this.kills++;
  }

  /** stop asks for a graceful shutdown (SIGTERM) and waits for the exit code. */
  async stop(): Promise<number | null> {
    const child = this.child;
    if (child === undefined || !this.running) return child?.exitCode ?? null;
    const gone = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    child.kill('SIGTERM');
    return gone;
  }

  close(): void {
    this.log.end();
  }
}
