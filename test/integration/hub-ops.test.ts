import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SPAWN_BUCKETS } from '../../src/hub/api/metrics.js';
import { startHub } from '../../src/hub/serve.js';
import { tempDir } from '../support/harness.js';
import type { TestHub } from './hub-helpers.js';
import { ADMIN, FAST_KUBELET, TEST_ENGINE, sinkLogger, startTestHub, waitFor } from './hub-helpers.js';

type Json = Record<string, unknown>;
const api = '/hub/api';

describe('hub limits', () => {
  let hub: TestHub;
  beforeAll(async () => {
    hub = await startTestHub({ concurrentSpawnLimit: 2, activeServerLimit: 3, slowSpawnTimeout: 0.05 });
    await hub.call('POST', `${api}/users`, { body: { usernames: ['l1', 'l2', 'l3', 'l4'] } });
  });
  afterAll(() => hub.close());

  it('answers 429 with Retry-After at concurrent_spawn_limit, then 429 at active_server_limit', async () => {
    const kubelet = hub.running.sim!.kubelet;
    kubelet.setDelays({ readyMs: 60_000 });
    try {
      expect((await hub.call('POST', `${api}/users/l1/server`)).status).toBe(202);
      expect((await hub.call('POST', `${api}/users/l2/server`)).status).toBe(202);
      const throttled = await hub.call('POST', `${api}/users/l3/server`);
      expect(throttled.status).toBe(429);
      const retry = Number(throttled.headers.get('retry-after'));
      expect(retry).toBeGreaterThanOrEqual(30);
      expect(retry).toBeLessThanOrEqual(60);
      expect((throttled.json as Json)['message']).toBe(`Too many users trying to log in right now. Try again in ${retry} seconds.`);
      expect(hub.running.sk.get('l3')).toBeUndefined();
    } finally {
      kubelet.setDelays({ readyMs: FAST_KUBELET.readyMs });
    }
    // The slow pods stay slow (their timers were set); a stop and start makes them fast.
    for (const u of ['l1', 'l2']) await hub.call('DELETE', `${api}/users/${u}/server`);
    for (const u of ['l1', 'l2', 'l3']) {
      await waitFor(`${u} can start`, () =>
        hub.running.sk.get(u)?.pending === null || hub.running.sk.get(u) === undefined ? true : undefined,
      );
      expect((await hub.call('POST', `${api}/users/${u}/server`)).status).not.toBe(429);
    }
    for (const u of ['l1', 'l2', 'l3']) await waitFor(`${u} ready`, () => (hub.running.sk.get(u)?.ready === true ? true : undefined));
    const tooMany = await hub.call('POST', `${api}/users/l4/server`);
    expect(tooMany.status).toBe(429);
    expect(tooMany.json).toEqual({ status: 429, message: 'Active user limit exceeded. Try again in a few minutes.' });
    const metrics = (await hub.call('GET', '/hub/metrics')).text;
    expect(metrics).toMatch(/jupyterhub_server_spawn_duration_seconds_count\{status="failure",reason="throttled"\} 1/);
    expect(metrics).toMatch(/jupyterhub_server_spawn_duration_seconds_count\{status="failure",reason="too-many-users"\} 1/);
  });
});

describe('hub metrics and health', () => {
  let hub: TestHub;
  beforeAll(async () => {
    hub = await startTestHub({ unhealthyAfter: 0.3, spawnkeeper: { ...TEST_ENGINE, reflector: { backoffMaxMs: 100, resyncMs: 5_000 } } });
    await hub.call('POST', `${api}/users/m1`);
    await hub.call('POST', `${api}/users/m1/server`);
    await hub.call('DELETE', `${api}/users/m1/server`);
    await hub.call('POST', `${api}/users/m1/server`);
  });
  afterAll(() => hub.close());

  it('serves JupyterHub metric names with their buckets, and spawnkeeper metrics, to read:metrics only', async () => {
    expect((await hub.call('GET', '/hub/metrics', { token: null })).status).toBe(401);
    const user = await hub.call('POST', `${api}/users/m1/tokens`, { body: { scopes: ['read:users!user'] } });
    expect((await hub.call('GET', '/hub/metrics', { token: (user.json as { token: string }).token })).status).toBe(403);
    const r = await hub.call('GET', '/hub/metrics');
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toContain('text/plain');
    const text = r.text;
    const les = [...text.matchAll(/jupyterhub_server_spawn_duration_seconds_bucket\{le="([^"]+)",status="success",reason=""\}/g)].map(
      (m) => m[1],
    );
    expect(les).toEqual([...SPAWN_BUCKETS.map(String), '+Inf']);
    expect(text).toMatch(/jupyterhub_server_spawn_duration_seconds_count\{status="success",reason=""\} 2/);
    expect(text).toMatch(/jupyterhub_server_stop_seconds_count\{status="success"\} 1/);
    expect(text).toMatch(/^jupyterhub_running_servers 1$/m);
    expect(text).toMatch(/^jupyterhub_total_users 1$/m);
    expect(text).toMatch(
      /jupyterhub_request_duration_seconds_count\{method="POST",handler="\/hub\/api\/users\/:name\/server",code="201"\} 2/,
    );
    expect(text).toMatch(/^spawnkeeper_servers\{state="running"\} 1$/m);
    expect(text).toMatch(/^spawnkeeper_reflector_healthy 1$/m);
    expect(text).toMatch(/^spawnkeeper_events_appended_total [1-9]\d*$/m);
    for (const name of [
      'spawnkeeper_reflector_restarts_total',
      'spawnkeeper_timers_armed',
      'spawnkeeper_timers_overdue',
      'spawnkeeper_orphan_pods',
      'spawnkeeper_effect_errors_total',
      'spawnkeeper_effects_pending',
    ]) {
      expect(text).toMatch(new RegExp(`^${name} \\d+$`, 'm'));
    }
  });

  it('answers 200 on /hub/health and /hub/api/health, 503 with a reason while the cluster is unreachable, and 200 again after', async () => {
    for (const path of ['/hub/health', `${api}/health`]) {
      const r = await hub.call('GET', path);
      expect(r.status).toBe(200);
      expect(r.json).toMatchObject({ status: 'ok', reason: null, reflector: { healthy: true } });
      expect((await hub.call('GET', path, { token: null })).json).toEqual({ status: 'ok', healthy: true });
    }
    expect((await hub.call('HEAD', '/hub/health', { token: null })).status).toBe(200);
    await hub.running.sim!.faults.refuseConnections();
    try {
      const down = await waitFor('503', async () => {
        const r = await hub.call('GET', '/hub/health');
        return r.status === 503 ? r : undefined;
      });
      expect(down.json).toMatchObject({ status: 'unhealthy', reason: expect.stringContaining('pod reflector') });
      expect((await hub.call('GET', '/hub/metrics')).text).toMatch(/^spawnkeeper_reflector_healthy 0$/m);
    } finally {
      await hub.running.sim!.faults.acceptConnections();
    }
    await waitFor('200 again', async () => ((await hub.call('GET', '/hub/health', { token: null })).status === 200 ? true : undefined));
    expect((await hub.call('GET', '/hub/metrics')).text).toMatch(/^spawnkeeper_reflector_restarts_total [1-9]\d*$/m);
  });
});

describe('hub exit on prolonged unhealth', () => {
  it('calls for an exit when unhealthy longer than exit_on_unhealthy, and serves metrics openly when configured', async () => {
    const tmp = tempDir('spawnkeeper-hub-');
    const reasons: string[] = [];
    const running = await startHub(
      {
        db: `${tmp.dir}/hub.db`,
        port: 0,
        adminToken: ADMIN,
        sim: { kubelet: FAST_KUBELET },
        spawnkeeper: { ...TEST_ENGINE, reflector: { backoffMaxMs: 100 } },
        unhealthyAfter: 0.2,
        exitOnUnhealthy: 0.3,
        authenticatePrometheus: false,
      },
      { logger: sinkLogger([]), onUnhealthyExit: (reason) => reasons.push(reason) },
    );
    try {
      expect((await fetch(`${running.url}/hub/metrics`)).status).toBe(200);
      await waitFor('the lease', () => (running.sk.health().lease.acting ? true : undefined));
      await running.sim!.faults.refuseConnections();
      await waitFor('exit requested', () => (reasons.length > 0 ? true : undefined));
      expect(reasons[0]).toContain('pod reflector');
    } finally {
      await running.close();
      tmp.cleanup();
    }
  });
});

describe('hub shutdown', () => {
  it('answers waiting requests, ends progress streams and refuses new connections when it closes; servers keep running', async () => {
    const hub = await startTestHub({ slowSpawnTimeout: 30 });
    try {
      await hub.call('POST', `${api}/users/sh1`);
      hub.running.sim!.kubelet.setDelays({ readyMs: 60_000 });
      const waiting = hub.call('POST', `${api}/users/sh1/server`);
      await waitFor('spawn pending', () => (hub.running.sk.get('sh1')?.pending === 'spawn' ? true : undefined));
      const stream = await fetch(`${hub.url}${api}/users/sh1/server/progress`, { headers: { Authorization: `token ${ADMIN}` } });
      const body = stream.text();
      await hub.running.hub.close();
      expect((await waiting).status).toBe(202);
      expect(await body).toContain('"Server requested"');
      await expect(fetch(`${hub.url}${api}/`)).rejects.toThrow();
      expect(hub.running.sim!.pods().map((p) => p.metadata.name)).toContain('jupyter-sh1');
      expect(hub.running.sk.history('sh1').map((e) => e.type)).toContain('server.start');
    } finally {
      await hub.close();
    }
  });
});
