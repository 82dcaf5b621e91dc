import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startSimulator } from '../../src/sim/index.js';
import { HubProcess, freePort } from '../chaos/hub-process.js';
import { kubeconfigFor } from '../support/api-proxy.js';
import { tempDir } from '../support/harness.js';
import { ADMIN, FAST_KUBELET, TEST_ENGINE, waitFor } from './hub-helpers.js';

type Json = Record<string, unknown>;
const SECRET = 'tok-crash-0b9d8e7f6a5c4b3a2918';

describe('a start whose Secret is not made yet survives a crash of the hub', () => {
  it('creates the Secret with the values after a SIGKILL between the committed start and its effect, and deletes it on stop', async () => {
    const sim = await startSimulator({ seed: 5, kubelet: FAST_KUBELET });
    const tmp = tempDir('spawnkeeper-spec-crash-');
    const kubeconfig = join(tmp.dir, 'kubeconfig.json');
    writeFileSync(kubeconfig, kubeconfigFor(sim.url));
    const config = join(tmp.dir, 'hub.json');
    writeFileSync(config, JSON.stringify({ spawnkeeper: TEST_ENGINE, slow_spawn_timeout: 0.5, slow_stop_timeout: 5 }));
    const hub = new HubProcess({
      port: await freePort(),
      db: join(tmp.dir, 'hub.db'),
      kubeconfig,
      config,
      token: ADMIN,
      logFile: join(tmp.dir, 'hub.log'),
    });
    const call = async (method: string, path: string, body?: unknown): Promise<{ status: number; json: Json }> => {
      const res = await fetch(`${hub.url}/hub/api${path}`, {
        method,
        headers: { Authorization: `token ${ADMIN}` },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await res.text();
      return { status: res.status, json: (text === '' ? {} : JSON.parse(text)) as Json };
    };
    const healthy = async () => (await fetch(`${hub.url}/hub/health`)).status === 200 || undefined;
    const secret = () => sim.objects('secrets').find((s) => s.metadata.annotations?.['spawnkeeper.io/key'] === 'eve/');
    try {
      await hub.start();
      await waitFor('the hub to act', healthy, 20_000);
      expect((await call('POST', '/users/eve')).status).toBe(201);

      await sim.faults.refuseConnections();
      const start = await call('POST', '/users/eve/server', { spawnkeeper: { env: { JUPYTERHUB_API_TOKEN: SECRET } } });
      expect(start.status).toBe(202); // committed; its effect cannot reach the API server
      await hub.kill();
      expect(secret()).toBeUndefined();
      expect(sim.pods()).toHaveLength(0);

      await sim.faults.acceptConnections();
      await hub.start();
      const made = await waitFor('the Secret after the restart', () => secret(), 20_000);
      expect(Buffer.from(String((made['data'] as Record<string, string>)['JUPYTERHUB_API_TOKEN']), 'base64').toString()).toBe(SECRET);
      const ready = await waitFor(
        'the server to be ready',
        async () => {
          const user = (await call('GET', '/users/eve')).json as { servers?: Record<string, Json> };
          return user.servers?.['']?.['ready'] === true ? user.servers[''] : undefined;
        },
        20_000,
      );
      expect((ready['spawnkeeper'] as Json)['ip']).toBe(sim.pods()[0]?.status.podIP);
      expect((sim.pods()[0]?.spec.containers[0] as Json)['envFrom']).toEqual([{ secretRef: { name: made.metadata.name } }]);

      expect([202, 204]).toContain((await call('DELETE', '/users/eve/server')).status);
      await waitFor('the Secret to be deleted', () => (secret() === undefined ? true : undefined), 20_000);
      expect(await hub.stop()).toBe(0);
    } finally {
      await hub.kill();
      hub.close();
      await sim.close();
      tmp.cleanup();
    }
  }, 90_000);
});
