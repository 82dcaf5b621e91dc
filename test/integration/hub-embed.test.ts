import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Simulator } from '../../src/sim/index.js';
import { startSimulator } from '../../src/sim/index.js';
import { tempDir } from '../support/harness.js';
import { FAST_KUBELET, waitFor } from './hub-helpers.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

describe('the embedding example', () => {
  let sim: Simulator;
  let tmp: ReturnType<typeof tempDir>;
  beforeAll(async () => {
    sim = await startSimulator({ seed: 3, kubelet: FAST_KUBELET });
    tmp = tempDir('spawnkeeper-embed-');
  });
  afterAll(async () => {
    await sim.close();
    tmp.cleanup();
  });

  it('runs examples/embed.ts, importing the package by name, and starts and stops a server through it', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'examples/embed.ts'], {
      cwd: ROOT,
      env: { ...process.env, KUBE_API_URL: sim.url, DB: `${tmp.dir}/embed.db`, PORT: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    try {
      const url = await waitFor('the example listening', () => /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out)?.[1], 20_000).catch(
        (e: Error) => {
          throw new Error(`${e.message}\n${out}\n${err}`);
        },
      );
      expect((await fetch(`${url}/eve`)).status).toBe(404);
      const started = (await (await fetch(`${url}/eve`, { method: 'POST' })).json()) as { key: string; pending: string };
      expect(started).toMatchObject({ key: 'eve/', pending: 'spawn' });
      await waitFor('eve running', async () =>
        ((await (await fetch(`${url}/eve`)).json()) as { ready: boolean }).ready ? true : undefined,
      );
      expect(sim.pods().map((p) => p.metadata.name)).toContain('jupyter-eve');
      const stopping = (await (await fetch(`${url}/eve`, { method: 'DELETE' })).json()) as { pending: string };
      expect(stopping.pending).toBe('stop');
      await waitFor('eve stopped', async () =>
        ((await (await fetch(`${url}/eve`)).json()) as { state: string }).state === 'stopped' ? true : undefined,
      );
      const bad = await fetch(`${url}/a%20b`, { method: 'POST' });
      expect(bad.status).toBe(400);
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      child.kill('SIGKILL');
    }
  });
});
