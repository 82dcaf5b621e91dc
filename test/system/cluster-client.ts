import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import type { Simulator } from '../../src/sim/index.js';
import { startSimulator } from '../../src/sim/index.js';

/** Run is what a client program did: its exit code and what it printed. */
export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** run starts a program with arguments (and stdin), and resolves when it exits, whatever its exit code. */
export function run(
  program: string,
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number } = {},
): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      program,
      [...args],
      { env: options.env, timeout: options.timeoutMs ?? 60_000, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1;
        if (code === -1) reject(new Error(`${program} ${args.join(' ')} did not run: ${err?.message ?? ''}\n${stderr}`));
        else resolve({ code, stdout, stderr });
      },
    );
    if (options.input !== undefined) child.stdin?.end(options.input);
    else child.stdin?.end();
  });
}

/** background starts a program and returns its output so far and a promise of its end, for a client that streams. */
export function background(
  program: string,
  args: readonly string[],
  env?: NodeJS.ProcessEnv,
): { output: () => string; done: Promise<Run> } {
  const child = spawn(program, [...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
  const done = new Promise<Run>((resolve) => child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr })));
  return { output: () => stdout, done };
}

/** SystemCluster is a simulator shared by one test file, with a kubeconfig file and a private HOME for the clients. */
export interface SystemCluster {
  sim: Simulator;
  kubeconfig: string;
  env: NodeJS.ProcessEnv;
}

/**
 * systemCluster starts one simulator for the test file (fast kubelet, fixed seed) and writes a
 * kubeconfig for it in a private HOME, so clients cache nothing in the user's; each test names its
 * objects apart from the others'.
 */
export function systemCluster(seed: number): () => SystemCluster {
  let cluster: SystemCluster | undefined;
  let home = '';
  beforeAll(async () => {
    const sim = await startSimulator({ seed, kubelet: { scheduleMs: 5, createMs: 5, readyMs: 5, stopMs: 50 } });
    home = mkdtempSync(join(tmpdir(), 'spawnkeeper-system-'));
    const kubeconfig = join(home, 'kubeconfig');
    writeFileSync(
      kubeconfig,
      [
        'apiVersion: v1',
        'kind: Config',
        'current-context: sim',
        'clusters:',
        '- name: sim',
        '  cluster:',
        `    server: ${sim.url}`,
        'users:',
        '- name: sim',
        '  user: {}',
        'contexts:',
        '- name: sim',
        '  context:',
        '    cluster: sim',
        '    user: sim',
        '    namespace: default',
        '',
      ].join('\n'),
    );
    cluster = {
      sim,
      kubeconfig,
      env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: home, KUBECONFIG: kubeconfig, LANG: 'C.UTF-8' },
    };
  });
  afterAll(async () => {
    await cluster?.sim.close();
    if (home !== '') rmSync(home, { recursive: true, force: true });
  });
  return () => {
    if (cluster === undefined) throw new Error('the system cluster is not started');
    return cluster;
  };
}
