import { afterEach, describe, expect, it } from 'vitest';
import type { Simulator } from '../../src/sim/index.js';
import { parseSimArgs, runSimCli, SimUsageError } from '../../src/sim/index.js';
import { coreApi, waitFor } from './sim-helpers.js';

describe('simulator command line', () => {
  let sim: Simulator | undefined;
  afterEach(async () => {
    await sim?.close();
    sim = undefined;
  });

  it('parses --port, --namespace and --seed in both spellings', () => {
    expect(parseSimArgs(['--port', '0', '--namespace', 'hub', '--seed=9'])).toEqual({ port: 0, namespace: 'hub', seed: 9, help: false });
    expect(parseSimArgs([])).toEqual({ port: 0, namespace: 'default', seed: 1, help: false });
  });

  it('parses --faults and --faults-port (which implies --faults), and refuses a value glued to --faults', () => {
    expect(parseSimArgs(['--faults'])).toMatchObject({ faultsPort: 0 });
    expect(parseSimArgs(['--faults-port', '8002'])).toMatchObject({ faultsPort: 8002 });
    expect(parseSimArgs(['--faults-port=8002', '--faults'])).toMatchObject({ faultsPort: 8002 });
    expect(parseSimArgs([])).not.toHaveProperty('faultsPort');
    expect(() => parseSimArgs(['--faults=yes'])).toThrow(/--faults takes no value/);
    expect(() => parseSimArgs(['--faults-port', '-1'])).toThrow(/--faults-port/);
  });

  it('parses --processes, with the command after --, and refuses a command without it', () => {
    expect(parseSimArgs(['--processes'])).toMatchObject({ processes: [] });
    expect(parseSimArgs(['--processes', '--seed', '2', '--', 'jupyterhub-singleuser', '--port', '9'])).toMatchObject({
      seed: 2,
      processes: ['jupyterhub-singleuser', '--port', '9'],
    });
    expect(parseSimArgs([])).not.toHaveProperty('processes');
    expect(() => parseSimArgs(['--', 'x'])).toThrow(/needs --processes/);
    expect(() => parseSimArgs(['--processes', '--'])).toThrow(/followed by a command/);
  });

  it('runs pods as real processes with --processes: a pod answers at its IP and port', async () => {
    const lines: string[] = [];
    sim = await runSimCli(['--processes'], { out: (l) => lines.push(l) });
    if (sim === undefined) throw new Error('no simulator');
    expect(lines[1]).toBe('pods run as local processes: the built-in single-user server');
    const s = sim;
    await coreApi(s.url).createNamespacedPod({
      namespace: 'default',
      body: { metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image: 'i' }] } },
    });
    const ip = await waitFor('p ready', () => {
      const p = s.pods()[0];
      return p?.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true ? p.status.podIP : undefined;
    });
    expect((await fetch(`http://${ip ?? ''}:8888/user/p/api/status`)).status).toBe(200);
  });

  it('rejects unknown flags, missing values and bad numbers with a usage error', () => {
    expect(() => parseSimArgs(['--verbose'])).toThrow(SimUsageError);
    expect(() => parseSimArgs(['--port'])).toThrow(/--port needs a value/);
    expect(() => parseSimArgs(['--port', '70000'])).toThrow(/--port must be an integer from 0 to 65535/);
    expect(() => parseSimArgs(['--seed', '-3'])).toThrow(/--seed/);
    expect(() => parseSimArgs(['--namespace', 'Not_Valid'])).toThrow(/DNS-1123/);
    expect(() => parseSimArgs(['--namespace', '--port'])).toThrow(/usage: spawnkeeper sim/);
  });

  it('starts the simulator, prints its URL and serves the namespace it was given', async () => {
    const lines: string[] = [];
    sim = await runSimCli(['--namespace', 'hub', '--seed', '5'], { out: (l) => lines.push(l) });
    expect(sim).toBeDefined();
    if (sim === undefined) return;
    expect(lines).toEqual([`simulated Kubernetes API server listening on ${sim.url} (namespace hub, seed 5)`]);
    const list = await coreApi(sim.url).listNamespacedPod({ namespace: 'hub' });
    expect(list.items).toEqual([]);
  });

  it('prints the usage for --help and starts nothing', async () => {
    const lines: string[] = [];
    expect(await runSimCli(['--help'], { out: (l) => lines.push(l) })).toBeUndefined();
    expect(lines.join('\n')).toMatch(/^usage: spawnkeeper sim/);
  });
});
