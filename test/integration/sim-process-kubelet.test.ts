import { afterEach, describe, expect, it } from 'vitest';
import type { Pod, Simulator } from '../../src/sim/index.js';
import { startSimulator } from '../../src/sim/index.js';
import type { Recorder } from './sim-helpers.js';
import { coreApi, recordWatch, waitFor } from './sim-helpers.js';

const fast = { scheduleMs: 5, createMs: 5, readyMs: 5, stopMs: 5, backoffMs: 50 };

/** alive says whether a process with this pid exists (signal 0 checks without sending). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function get(url: string): Promise<{ status: number; body: string }> {
  const res = await fetch(url);
  return { status: res.status, body: await res.text() };
}

describe('the process kubelet runs each pod as a real local process', () => {
  let sim: Simulator | undefined;
  afterEach(async () => {
    await sim?.close();
    sim = undefined;
  });

  const pod = (s: Simulator, name: string): Pod | undefined => s.pods().find((p) => p.metadata.name === name);
  const ready = (s: Simulator, name: string): Promise<Pod> =>
    waitFor(`${name} ready`, () => {
      const p = pod(s, name);
      return p?.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true ? p : undefined;
    });
  /** at is the pod's server address: its IP and its declared port (8888 when none). */
  const at = (p: Pod): string => {
    const ports = (p.spec.containers[0]?.ports ?? []) as { containerPort: number }[];
    return `http://${p.status.podIP ?? ''}:${ports[0]?.containerPort ?? 8888}`;
  };
  /** exitCodes are the terminated exit codes a watch saw on one pod (the last write before it goes). */
  const exitCodes = (w: Recorder, name: string): number[] =>
    w.events
      .filter((e) => e.object.metadata?.name === name)
      .map((e) => (e.object as unknown as Pod).status.containerStatuses?.[0]?.state.terminated?.exitCode)
      .filter((c): c is number => c !== undefined);

  it('starts the built-in server with the pod env and a Secret, and it answers at the pod IP (a loopback address of its own) and declared port', async () => {
    const s = (sim = await startSimulator({ kubelet: fast, processes: {} }));
    const api = coreApi(s.url);
    await api.createNamespacedSecret({
      namespace: 'default',
      body: { metadata: { name: 'alice-env' }, stringData: { JUPYTERHUB_USER: 'alice', JUPYTERHUB_API_TOKEN: 'secret-token' } },
    });
    await api.createNamespacedPod({
      namespace: 'default',
      body: {
        metadata: { name: 'jupyter-alice' },
        spec: {
          containers: [
            {
              name: 'notebook',
              image: 'quay.io/jupyter/base-notebook',
              env: [{ name: 'JUPYTERHUB_SERVICE_PREFIX', value: '/user/alice/' }],
              ports: [{ containerPort: 9000 }],
              envFrom: [{ secretRef: { name: 'alice-env' } }],
            },
          ],
        },
      },
    });
    const p = await ready(s, 'jupyter-alice');
    expect(p.status.podIP).toMatch(/^127\.\d+\.\d+\.\d+$/);
    expect(at(p)).toBe(`http://${p.status.podIP ?? ''}:9000`);
    const status = await get(`${at(p)}/user/alice/api/status`);
    expect(status.status).toBe(200);
    expect(JSON.parse(status.body)).toMatchObject({ user: 'alice', server: 'spawnkeeper built-in' });
    expect((await get(`${at(p)}/elsewhere`)).status).toBe(404);
  });

  it('gives two pods two different addresses on the same port, and deleting one stops its process (SIGTERM, exit 0) while the other answers', async () => {
    const s = (sim = await startSimulator({ kubelet: fast, processes: {} }));
    const api = coreApi(s.url);
    for (const name of ['one', 'two']) {
      await api.createNamespacedPod({
        namespace: 'default',
        body: { metadata: { name }, spec: { containers: [{ name: 'c', image: 'img' }], terminationGracePeriodSeconds: 5 } },
      });
    }
    const [one, two] = [await ready(s, 'one'), await ready(s, 'two')];
    expect(one.status.podIP).not.toBe(two.status.podIP);
    // Without JupyterHub's prefix the built-in server answers at any /user/<name>/ as well.
    expect((await get(`${at(two)}/user/someone/api/status`)).status).toBe(200);
    const status = await get(`${at(one)}/api/status`);
    const pid = Number(JSON.parse(status.body).pid);
    expect(alive(pid)).toBe(true);
    const watch = await recordWatch(s.url, '/api/v1/namespaces/default/pods', { resourceVersion: String(s.cluster.resourceVersion()) });
    await api.deleteNamespacedPod({ name: 'one', namespace: 'default' });
    await waitFor('pod one gone', () => (watch.events.some((e) => e.type === 'DELETED') ? true : undefined));
    watch.abort();
    expect(alive(pid)).toBe(false);
    await expect(fetch(`${at(one)}/api/status`)).rejects.toThrow();
    expect((await get(`${at(two)}/api/status`)).status).toBe(200);
    expect([...new Set(exitCodes(watch, 'one'))]).toEqual([0]);
  });

  it('kills a process that ignores SIGTERM when the grace period ends (exit 137)', async () => {
    const ignoring = [
      '-e',
      "process.on('SIGTERM',()=>{});require('http').createServer((q,r)=>r.end('up')).listen(+process.env.PORT,process.env.POD_IP)",
    ];
    const s = (sim = await startSimulator({ kubelet: fast, processes: { command: [process.execPath, ...ignoring] } }));
    const api = coreApi(s.url);
    await api.createNamespacedPod({
      namespace: 'default',
      body: { metadata: { name: 'stubborn' }, spec: { containers: [{ name: 'c', image: 'img' }], terminationGracePeriodSeconds: 1 } },
    });
    await ready(s, 'stubborn');
    const watch = await recordWatch(s.url, '/api/v1/namespaces/default/pods', { resourceVersion: String(s.cluster.resourceVersion()) });
    const began = Date.now();
    await api.deleteNamespacedPod({ name: 'stubborn', namespace: 'default' });
    await waitFor('pod stubborn gone', () => (watch.events.some((e) => e.type === 'DELETED') ? true : undefined), 5000);
    watch.abort();
    expect(Date.now() - began).toBeGreaterThanOrEqual(900);
    expect([...new Set(exitCodes(watch, 'stubborn'))]).toEqual([137]);
  });

  it('shows the exit code of a process that crashes on its own, and the pod fails', async () => {
    const crash = ['-e', 'setTimeout(() => process.exit(3), 50)'];
    const s = (sim = await startSimulator({ kubelet: fast, processes: { command: [process.execPath, ...crash] } }));
    await coreApi(s.url).createNamespacedPod({
      namespace: 'default',
      body: { metadata: { name: 'crasher' }, spec: { containers: [{ name: 'c', image: 'img' }] } },
    });
    const p = await waitFor('crasher failed', () => {
      const found = pod(s, 'crasher');
      return found?.status.phase === 'Failed' ? found : undefined;
    });
    expect(p.status.containerStatuses?.[0]?.state.terminated).toMatchObject({ exitCode: 3, reason: 'Error' });
    expect(p.status.conditions?.find((c) => c.type === 'Ready')?.status).toBe('False');
  });

  it('holds a pod whose Secret is missing in CreateContainerConfigError and starts it once the Secret exists', async () => {
    const s = (sim = await startSimulator({ kubelet: fast, processes: {} }));
    const api = coreApi(s.url);
    await api.createNamespacedPod({
      namespace: 'default',
      body: {
        metadata: { name: 'waits' },
        spec: {
          containers: [{ name: 'c', image: 'img', env: [{ name: 'TOKEN', valueFrom: { secretKeyRef: { name: 'later', key: 'token' } } }] }],
        },
      },
    });
    const waiting = await waitFor('config error', () => {
      const state = pod(s, 'waits')?.status.containerStatuses?.[0]?.state.waiting;
      return state?.reason === 'ContainerCreating' ? undefined : state;
    });
    expect(waiting).toEqual({ reason: 'CreateContainerConfigError', message: 'secret "later" not found' });
    await api.createNamespacedSecret({ namespace: 'default', body: { metadata: { name: 'later' }, stringData: { token: 't' } } });
    const p = await ready(s, 'waits');
    expect((await get(`${at(p)}/api/status`)).status).toBe(200);
  });

  it('refuses to run real processes on a simulated clock', async () => {
    const { ManualClock } = await import('../../src/sim/index.js');
    await expect(startSimulator({ clock: new ManualClock(), processes: {} })).rejects.toThrow(/real clock/);
  });
});
