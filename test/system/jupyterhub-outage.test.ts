import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestHub } from '../integration/hub-helpers.js';
import type { Pod } from '../../src/sim/index.js';
import type { JupyterHub } from './jupyterhub.js';
import { E2E_TOKEN, call, podProcesses, startJupyterHub, startSpawnkeeper, until } from './jupyterhub.js';

const OUTAGE_MS = 90_000;
const STARTED = ['u0', 'u1', 'u2', 'u3', 'u4'];
const STOPPED = ['u5', 'u6', 'u7', 'u8', 'u9'];

interface UserModel {
  servers?: Record<string, { ready?: boolean; pending?: string | null }>;
}

// The seed incident through a real JupyterHub: the Kubernetes API refuses connections for 90 s while
// JupyterHub starts five servers and stops five. KubeSpawner ended this with pods the hub said did not
// exist and stops that never finished; with SpawnkeeperSpawner every server must end consistent.
describe('the seed incident through JupyterHub: the API refuses connections for 90 s during 5 starts and 5 stops', () => {
  let sk: TestHub;
  let jh: JupyterHub;

  beforeAll(async () => {
    sk = await startSpawnkeeper();
    jh = await startJupyterHub(sk, { singleuser: true, startTimeout: 180 });
  }, 120_000);
  afterAll(async () => {
    for (const name of [...STARTED, ...STOPPED]) await jh?.api('DELETE', `/users/${name}/server`).catch(() => undefined);
    await until('every process gone', () => (podProcesses().length === 0 ? true : undefined), 60_000).catch(() => undefined);
    await jh?.close();
    await sk?.close();
  });

  const sim = () => sk.running.sim!;
  const jhView = async (name: string): Promise<{ running: boolean; pending: string | null }> => {
    const server = ((await jh.api('GET', `/users/${name}`)).body as UserModel | undefined)?.servers?.[''];
    return { running: server?.ready === true, pending: server?.pending ?? null };
  };
  const skView = async (name: string): Promise<string> => {
    const model = (await sk.call('GET', `/hub/api/users/${name}`)).json as {
      servers?: Record<string, { spawnkeeper?: { state?: string } }>;
    };
    return model.servers?.['']?.spawnkeeper?.state ?? 'stopped';
  };
  const podOf = (name: string): Pod | undefined =>
    sim()
      .pods()
      .find((p) => p.metadata.name === `jupyter-${name}`);
  const podReady = (p: Pod | undefined): boolean =>
    p !== undefined &&
    p.metadata.deletionTimestamp === undefined &&
    p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;

  it('ends with JupyterHub’s view = spawnkeeper’s view = the cluster, nothing leaked, and no stop pending once the API is back', async () => {
    for (const name of [...STARTED, ...STOPPED]) expect((await jh.api('POST', `/users/${name}`)).status).toBe(201);
    for (const name of STOPPED) expect([201, 202]).toContain((await jh.api('POST', `/users/${name}/server`)).status);
    for (const name of STOPPED) await until(`${name} ready`, async () => ((await jhView(name)).running ? true : undefined), 90_000);
    expect(podProcesses()).toHaveLength(5);

    const began = Date.now();
    await sim().faults.refuseConnections(OUTAGE_MS);
    // Five starts and five stops through JupyterHub's REST API while the cluster cannot be reached.
    const answers = await Promise.all([
      ...STARTED.map(async (name) => ({ name, status: (await jh.api('POST', `/users/${name}/server`)).status })),
      ...STOPPED.map(async (name) => ({ name, status: (await jh.api('DELETE', `/users/${name}/server`)).status })),
    ]);
    for (const a of answers) expect([201, 202, 204], `${a.name}: ${a.status}`).toContain(a.status);
    const requestsMs = Date.now() - began;

    await until('the API back', () => (sim().faults.isRefusing() ? undefined : true), OUTAGE_MS + 30_000, 100);
    const backAt = Date.now();
    // The culler's call of the seed incident, once the API is back: never "in the process of stopping".
    const culls = await Promise.all(STOPPED.map(async (name) => ({ name, ...(await jh.api('DELETE', `/users/${name}/server`)) })));
    for (const c of culls) {
      expect(c.text, c.name).not.toMatch(/in the process of stopping|pending stop/);
      expect([202, 204], `${c.name}: ${c.status} ${c.text}`).toContain(c.status);
    }

    // Until every view settles, watch JupyterHub for any stop still pending after the API is back.
    const stopPendingSeen: string[] = [];
    await until(
      'every server settled in JupyterHub and spawnkeeper',
      async () => {
        for (const name of [...STARTED, ...STOPPED]) {
          const j = await jhView(name);
          if (j.pending === 'stop') stopPendingSeen.push(`${name} at +${Date.now() - backAt} ms`);
          if (j.pending !== null) return undefined;
          if (!['running', 'stopped', 'failed'].includes(await skView(name))) return undefined;
        }
        return true;
      },
      180_000,
      500,
    );
    const settledMs = Date.now() - backAt;
    expect(stopPendingSeen).toEqual([]);

    // JupyterHub's view = spawnkeeper's view = the cluster = the processes, for every server.
    const views = [];
    for (const name of [...STARTED, ...STOPPED]) {
      const pod = podOf(name);
      const answering =
        (await call(`${jh.url}/user/${name}/api/status`, 'GET', E2E_TOKEN).then(
          (r) => r.status,
          () => 0,
        )) === 200;
      views.push({
        name,
        jupyterhub: (await jhView(name)).running,
        spawnkeeper: (await skView(name)) === 'running',
        cluster: podReady(pod),
        answering,
      });
    }
    for (const v of views) {
      expect([v.spawnkeeper, v.cluster, v.answering], JSON.stringify(v)).toEqual([v.jupyterhub, v.jupyterhub, v.jupyterhub]);
    }
    // The stops asked for are done; the starts asked for are running (the API came back well within start_timeout).
    expect(views.filter((v) => v.jupyterhub).map((v) => v.name)).toEqual(STARTED);
    // Nothing leaked: one pod and one process per running server, no pod of a stopped one.
    await until('pods of stopped servers gone', () => (sim().pods().length === STARTED.length ? true : undefined), 30_000);
    expect(
      sim()
        .pods()
        .map((p) => p.metadata.name)
        .sort(),
    ).toEqual(STARTED.map((n) => `jupyter-${n}`));
    expect(podProcesses()).toHaveLength(STARTED.length);
    process.stdout.write(
      `jupyterhub seed incident: 10 requests answered in ${requestsMs} ms during the outage; all settled ${settledMs} ms after the API came back ` +
        `(outage ${OUTAGE_MS} ms); ${views.filter((v) => v.jupyterhub).length} running, ${views.filter((v) => !v.jupyterhub).length} stopped, ` +
        `views agree for 10 of 10\n`,
    );
  }, 420_000);
});
