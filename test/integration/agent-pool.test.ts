import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { CoreV1Api } from '@kubernetes/client-node';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AgentPool, pooledApiClient } from '../../src/kube/agents.js';
import { kubeConfigFor } from '../../src/spawnkeeper.js';

/** A pod as an API server answers it: enough for client-node to read it. */
const pod = (name: string) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default', uid: `uid-${name}` } });

describe('kept-alive connections for client-node calls', () => {
  let server: http.Server;
  let url: string;
  let connections: number;
  let requests: number;

  beforeEach(async () => {
    connections = 0;
    requests = 0;
    server = http.createServer((req, res) => {
      requests++;
      const name = (req.url ?? '').split('/').pop() ?? '';
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(pod(name)));
    });
    server.on('connection', () => connections++);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterEach(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('sends many calls over one connection, where client-node alone opens one per call', async () => {
    const pool = new AgentPool();
    const pooled = pooledApiClient(kubeConfigFor(url), CoreV1Api, pool);
    for (let i = 0; i < 10; i++)
      expect((await pooled.readNamespacedPod({ name: `p${i}`, namespace: 'default' })).metadata?.name).toBe(`p${i}`);
    expect(requests).toBe(10);
    expect(connections).toBe(1);
    expect(pool.size).toBe(1);
    pool.close();

    const plain = kubeConfigFor(url).makeApiClient(CoreV1Api);
    for (let i = 0; i < 10; i++) await plain.readNamespacedPod({ name: `q${i}`, namespace: 'default' });
    expect(requests).toBe(20);
    expect(connections).toBe(11);
  });

  it('keeps calls in flight at once on connections of their own and reuses them after', async () => {
    const pool = new AgentPool();
    const api = pooledApiClient(kubeConfigFor(url), CoreV1Api, pool);
    const burst = async () =>
      Promise.all(Array.from({ length: 8 }, (_, i) => api.readNamespacedPod({ name: `b${i}`, namespace: 'default' })));
    expect((await burst()).map((p) => p.metadata?.name)).toEqual(Array.from({ length: 8 }, (_, i) => `b${i}`));
    const first = connections;
    expect(first).toBeLessThanOrEqual(8);
    await burst();
    expect(connections).toBe(first);
    pool.close();
  });

  it('gives agents of the same options one kept-alive agent, and agents of other options (another CA, no verification) their own', () => {
    const pool = new AgentPool();
    const a = pool.pooled(new https.Agent({ ca: Buffer.from('ca one'), rejectUnauthorized: true }));
    const b = pool.pooled(new https.Agent({ ca: Buffer.from('ca one'), rejectUnauthorized: true }));
    const c = pool.pooled(new https.Agent({ ca: Buffer.from('ca two'), rejectUnauthorized: true }));
    const d = pool.pooled(new https.Agent({ ca: Buffer.from('ca one'), rejectUnauthorized: false }));
    const e = pool.pooled(new http.Agent({}));
    expect(b).toBe(a);
    expect(new Set([a, c, d, e]).size).toBe(4);
    expect(a).toBeInstanceOf(https.Agent);
    expect(e).toBeInstanceOf(http.Agent);
    expect(e).not.toBeInstanceOf(https.Agent);
    expect((a as unknown as { options: { keepAlive: boolean; ca: Buffer } }).options).toMatchObject({
      keepAlive: true,
      ca: Buffer.from('ca one'),
    });
    expect(pool.size).toBe(4);
    pool.close();
    expect(pool.size).toBe(0);
  });

  it('passes an agent of another kind (a proxy agent) through as it is', () => {
    class ProxyAgent extends http.Agent {}
    const pool = new AgentPool();
    const proxy = new ProxyAgent();
    expect(pool.pooled(proxy)).toBe(proxy);
    expect(pool.size).toBe(0);
  });
});
