import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ANNOTATION_LEASE_HOLDER, ANNOTATION_LEASE_TRANSITIONS } from '../../src/kube/fence.js';
import type { Simulator } from '../../src/sim/index.js';
import { startSimulator } from '../../src/sim/index.js';
import { HubProcess, freePort } from '../chaos/hub-process.js';
import { ApiProxy, kubeconfigFor } from '../support/api-proxy.js';
import { tempDir } from '../support/harness.js';
import { TEST_ENGINE, waitFor } from './hub-helpers.js';

const TOKEN = 'one-writer-lease-token-0123456789abcdef';
/** The Lease's timings here, in seconds: short, in client-go's proportions. */
const LEASE = { duration: 3, renewDeadline: 2, retryPeriod: 0.4 };
const CREATE = /^\/api\/v1\/namespaces\/default\/pods$/;
const ONE_POD = /^\/api\/v1\/namespaces\/default\/pods\/[^/]+$/;

interface Hub {
  readonly name: string;
  readonly process: HubProcess;
  readonly proxy: ApiProxy;
}

interface Health {
  status: number;
  body: {
    reason: string | null;
    pendingEffects: number;
    lease: { acting: boolean; holder: string | null; identity: string; transitions: number | null; renewedAt: number | null };
  };
}

/**
 * Two hubs with separate database files and the same instance on one simulated cluster, each reaching
 * the API server through its own proxy (which records its calls and can cut it off alone): a second
 * Deployment by mistake, or a copied volume. The Lease must keep all but one from acting.
 */
describe('one cluster, one writer: two real hub processes with separate files and one instance', () => {
  let tmp: ReturnType<typeof tempDir>;
  let sim: Simulator;
  let config: string;
  /** patient: hub b's calls wait 12 s for an answer, so a late answer still reaches it (the stale-hub case). */
  let patient: string;
  const hubs = new Map<string, Hub>();

  const hub = (name: string): Hub => hubs.get(name) as Hub;
  const call = (h: Hub, method: string, path: string) =>
    fetch(`${h.process.url}/hub/api${path}`, { method, headers: { Authorization: `token ${TOKEN}` } });
  const health = async (h: Hub): Promise<Health> => {
    const res = await fetch(`${h.process.url}/hub/health`, { headers: { Authorization: `token ${TOKEN}` } }); // the reason needs read:hub
    return { status: res.status, body: (await res.json()) as Health['body'] };
  };
  const metric = async (h: Hub, name: string): Promise<number> => {
    const text = await (await fetch(`${h.process.url}/hub/metrics`)).text();
    return Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]);
  };
  const podOf = (user: string) => sim.pods().find((p) => p.metadata.name === `jupyter-${user}`);
  const state = async (h: Hub, user: string): Promise<string | undefined> => {
    const res = await call(h, 'GET', `/users/${user}`);
    if (res.status !== 200) return undefined;
    const body = (await res.json()) as { servers: Record<string, { ready: boolean; pending: string | null }> };
    const s = body.servers[''];
    return s === undefined ? 'stopped' : s.ready ? 'running' : (s.pending ?? 'unknown');
  };

  async function launch(name: string, hubConfig = config): Promise<Hub> {
    const p = await ApiProxy.start(sim.url);
    const kubeconfig = `${tmp.dir}/${name}.kubeconfig`;
    writeFileSync(kubeconfig, kubeconfigFor(p.url));
    const process = new HubProcess({
      port: await freePort(),
      db: `${tmp.dir}/${name}.db`,
      kubeconfig,
      config: hubConfig,
      token: TOKEN,
      logFile: `${tmp.dir}/${name}.log`,
    });
    await process.start();
    const h = { name, process, proxy: p };
    hubs.set(name, h);
    return h;
  }

  beforeAll(async () => {
    tmp = tempDir('spawnkeeper-one-lease-');
    sim = await startSimulator({ seed: 9, kubelet: { scheduleMs: 5, createMs: 5, readyMs: 20, stopMs: 5 } });
    config = `${tmp.dir}/hub.json`;
    const settings = {
      slow_spawn_timeout: 0.5,
      slow_stop_timeout: 0.5,
      authenticate_prometheus: false,
      lease_duration: LEASE.duration,
      lease_renew_deadline: LEASE.renewDeadline,
      lease_retry_period: LEASE.retryPeriod,
      spawnkeeper: TEST_ENGINE,
    };
    writeFileSync(config, JSON.stringify(settings));
    patient = `${tmp.dir}/patient.json`;
    writeFileSync(
      patient,
      JSON.stringify({ ...settings, spawnkeeper: { ...TEST_ENGINE, delays: { ...TEST_ENGINE.delays, requestTimeout: 12_000 } } }),
    );
  });
  afterAll(async () => {
    for (const h of hubs.values()) {
      await h.process.kill();
      h.process.close();
      await h.proxy.close();
    }
    await sim.close();
    tmp.cleanup();
  });

  it('lets only the lease holder create or delete pods; the other answers 503, accepts commands and keeps their effects waiting', async () => {
    const a = await launch('a');
    await waitFor('a holds the lease', async () => ((await health(a)).status === 200 ? true : undefined));
    const b = await launch('b', patient);
    const waiting = await waitFor('b waits', async () => {
      const h = await health(b);
      return h.status === 503 ? h : undefined;
    });
    expect(waiting.body.reason).toContain(`held by ${(await health(a)).body.lease.identity}`);
    expect(await metric(b, 'spawnkeeper_lease_acting')).toBe(0);

    expect((await call(a, 'POST', '/users/ann')).status).toBe(201);
    expect([201, 202]).toContain((await call(a, 'POST', '/users/ann/server')).status);
    expect((await call(b, 'POST', '/users/bob')).status).toBe(201);
    expect((await call(b, 'POST', '/users/bob/server')).status).toBe(202);
    await waitFor('ann running', async () => ((await state(a, 'ann')) === 'running' ? true : undefined));
    expect(podOf('ann')?.metadata.annotations).toMatchObject({ [ANNOTATION_LEASE_TRANSITIONS]: '0' });
    expect([202, 204]).toContain((await call(a, 'DELETE', '/users/ann/server')).status);
    await waitFor('ann stopped', async () => ((await state(a, 'ann')) === 'stopped' ? true : undefined));
    await new Promise((r) => setTimeout(r, 1_000));

    expect(await state(b, 'bob')).toBe('spawn');
    expect((await health(b)).body.pendingEffects).toBeGreaterThan(0);
    expect(podOf('bob')).toBeUndefined();
    expect(a.proxy.count('POST', CREATE)).toBeGreaterThan(0);
    expect(a.proxy.count('DELETE', ONE_POD)).toBeGreaterThan(0);
    expect(b.proxy.count('POST', CREATE)).toBe(0);
    expect(b.proxy.count('DELETE', ONE_POD)).toBe(0);
    expect(b.proxy.count('PATCH', ONE_POD)).toBe(0);
    expect(b.proxy.count('GET', /\/leases\/spawnkeeper-hub$/)).toBeGreaterThan(0);
  }, 90_000);

  it('hands over to the waiting hub a lease duration after the holder is SIGKILLed; the newcomer then acts', async () => {
    const a = hub('a');
    const b = hub('b');
    const before = (await health(a)).body.lease.transitions ?? 0;
    await a.process.kill();
    const killedAt = Date.now();
    await waitFor('b holds the lease', async () => ((await health(b)).status === 200 ? true : undefined), 20_000);
    const tookMs = Date.now() - killedAt;
    expect(tookMs).toBeGreaterThanOrEqual((LEASE.duration - LEASE.retryPeriod) * 1000);
    await waitFor('bob running', async () => ((await state(b, 'bob')) === 'running' ? true : undefined), 20_000);
    const lease = (await health(b)).body.lease;
    expect(lease.transitions).toBe(before + 1);
    expect(podOf('bob')?.metadata.annotations).toMatchObject({
      [ANNOTATION_LEASE_TRANSITIONS]: String(before + 1),
      [ANNOTATION_LEASE_HOLDER]: lease.identity,
    });
    expect(b.proxy.count('POST', CREATE)).toBeGreaterThan(0);
    console.log(`lease handover: the waiting hub acted ${tookMs} ms after the holder's SIGKILL (lease duration ${LEASE.duration} s)`);
  }, 90_000);

  it('stops acting within the renew deadline when cut off from the API, accepts commands meanwhile, and resumes when reconnected', async () => {
    const b = hub('b');
    const tenure = (await health(b)).body.lease.transitions;
    b.proxy.partition();
    const cutAt = Date.now();
    const lost = await waitFor(
      'b stops acting',
      async () => {
        const h = await health(b);
        return h.status === 503 ? h : undefined;
      },
      10_000,
    );
    const stoppedMs = Date.now() - cutAt;
    // It stopped at its last renewal's sending + the renew deadline, and that renewal was sent before the cut.
    expect(lost.body.lease.renewedAt).toBeLessThanOrEqual(cutAt);
    expect(stoppedMs).toBeLessThanOrEqual(LEASE.renewDeadline * 1000 + 1_500); // + the time to see it, on a busy machine
    expect(lost.body.reason).toContain('could not renew');
    expect(await metric(b, 'spawnkeeper_lease_acting')).toBe(0);
    expect(await metric(b, 'spawnkeeper_lease_losses_total')).toBe(1);
    const deadline = Date.now();
    expect((await call(b, 'POST', '/users/cy')).status).toBe(201);
    expect((await call(b, 'POST', '/users/cy/server')).status).toBe(202);
    await new Promise((r) => setTimeout(r, 1_500));
    expect(b.proxy.count('POST', CREATE, deadline)).toBe(0);
    expect(podOf('cy')).toBeUndefined();
    b.proxy.heal();
    await waitFor('b acts again', async () => ((await health(b)).status === 200 ? true : undefined), 15_000);
    await waitFor('cy running', async () => ((await state(b, 'cy')) === 'running' ? true : undefined), 20_000);
    expect((await health(b)).body.lease.transitions).toBe(tenure);
    console.log(`partition: the holder stopped acting ${stoppedMs} ms after it was cut off (renew deadline ${LEASE.renewDeadline} s)`);
  }, 90_000);

  it('leaves a stale hub harmless: its delayed delete never removes a pod that a newer holder adopted and stamped', async () => {
    const b = hub('b');
    const c = await launch('c');
    await waitFor('c waits', async () => ((await health(c)).status === 503 ? true : undefined));
    // The same user on both hubs: c's start waits for the lease; b's runs now.
    expect((await call(c, 'POST', '/users/dee')).status).toBe(201);
    expect((await call(c, 'POST', '/users/dee/server')).status).toBe(202);
    expect((await call(b, 'POST', '/users/dee')).status).toBe(201);
    expect([201, 202]).toContain((await call(b, 'POST', '/users/dee/server')).status);
    await waitFor('dee running on b', async () => ((await state(b, 'dee')) === 'running' ? true : undefined));
    const uid = podOf('dee')?.metadata.uid;
    const bTenure = Number(podOf('dee')?.metadata.annotations?.[ANNOTATION_LEASE_TRANSITIONS]);

    // b reads dee's pod in time, but hears the answer only long after it lost the lease.
    const holdMs = (LEASE.duration + LEASE.renewDeadline + 3) * 1000;
    b.proxy.hold({ method: 'GET', path: /\/pods\/jupyter-dee$/, delayMs: holdMs });
    expect((await call(b, 'DELETE', '/users/dee/server')).status).toBe(202);
    await waitFor('b reads the pod', async () => (b.proxy.count('GET', /\/pods\/jupyter-dee$/) > 0 ? true : undefined));
    b.proxy.hold({ path: /\/leases\//, hang: true });
    await waitFor('c holds the lease', async () => ((await health(c)).status === 200 ? true : undefined), 20_000);
    await waitFor('dee running on c', async () => ((await state(c, 'dee')) === 'running' ? true : undefined), 20_000);
    const cTenure = (await health(c)).body.lease.transitions ?? -1;
    expect(cTenure).toBeGreaterThan(bTenure);
    expect(podOf('dee')?.metadata.annotations?.[ANNOTATION_LEASE_TRANSITIONS]).toBe(String(cTenure));

    // b's delete goes on with what it read: the API server refuses it (the pod changed hands since b
    // read it), b reads again, sees c's stamp and leaves the pod alone.
    await waitFor(
      'b’s late delete',
      () => (b.proxy.seen.some((s) => s.method === 'DELETE' && /jupyter-dee$/.test(s.path) && s.status !== undefined) ? true : undefined),
      holdMs + 10_000,
    );
    await new Promise((r) => setTimeout(r, holdMs + 1_000));
    const deletes = b.proxy.seen.filter((s) => s.method === 'DELETE' && /jupyter-dee$/.test(s.path));
    expect(deletes.length).toBeGreaterThan(0);
    expect(deletes.map((d) => d.status)).toEqual(deletes.map(() => 409));
    console.log(`stale hub: ${deletes.length} delete(s) of the adopted pod sent late by the stale hub, all refused with 409`);
    expect(podOf('dee')?.metadata.uid).toBe(uid);
    expect(podOf('dee')?.metadata.deletionTimestamp).toBeUndefined();
    expect(await state(c, 'dee')).toBe('running');
  }, 120_000);
});
