import { createConnection } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Simulator } from '../../src/sim/index.js';
import { startSimulator } from '../../src/sim/index.js';
import { coreApi, podBody, raw, statusOf } from './sim-helpers.js';

const PODS = '/api/v1/namespaces/default/pods';

describe('simulated API server: bad requests get Status errors, never a crash', () => {
  let sim: Simulator;
  beforeAll(async () => {
    sim = await startSimulator({ seed: 4, maxBodyBytes: 64 * 1024, kubelet: { scheduleMs: 60_000 } });
  });
  afterAll(async () => {
    await sim.close();
  });

  const expectStatus = (
    res: { status: number; type: string | null; json: Record<string, unknown> },
    code: number,
    reason: string,
  ): void => {
    expect(res.status).toBe(code);
    expect(res.type).toBe('application/json');
    expect(res.json).toMatchObject({ kind: 'Status', apiVersion: 'v1', status: 'Failure', code, reason });
    expect(typeof res.json['message']).toBe('string');
  };

  it('answers invalid JSON with 400 BadRequest', async () => {
    expectStatus(await raw(sim.url + PODS, 'POST', '{"metadata": {'), 400, 'BadRequest');
    expectStatus(await raw(sim.url + PODS, 'POST', ''), 400, 'BadRequest');
    expectStatus(await raw(sim.url + PODS, 'POST', '[1,2]'), 400, 'BadRequest');
  });

  it('answers a body of another kind or namespace with 400 BadRequest', async () => {
    expectStatus(await raw(sim.url + PODS, 'POST', JSON.stringify({ kind: 'Service', metadata: { name: 'x' } })), 400, 'BadRequest');
    expectStatus(
      await raw(sim.url + PODS, 'POST', JSON.stringify({ ...podBody('x'), metadata: { name: 'x', namespace: 'other' } })),
      400,
      'BadRequest',
    );
  });

  it('answers a pod without a name, with an invalid name or without containers with 422 Invalid naming the field', async () => {
    const noName = await raw(sim.url + PODS, 'POST', JSON.stringify({ ...podBody('x'), metadata: {} }));
    expectStatus(noName, 422, 'Invalid');
    expect(noName.json['details']).toMatchObject({ causes: [expect.objectContaining({ field: 'metadata.name' })] });
    const badName = await raw(sim.url + PODS, 'POST', JSON.stringify(podBody('Bad_Name')));
    expectStatus(badName, 422, 'Invalid');
    expect(String(badName.json['message'])).toMatch(/RFC 1123/);
    expectStatus(await raw(sim.url + PODS, 'POST', JSON.stringify({ metadata: { name: 'x' }, spec: { containers: [] } })), 422, 'Invalid');
    const viaClient: unknown = await coreApi(sim.url)
      .createNamespacedPod({ namespace: 'default', body: podBody('UPPER') })
      .catch((e: unknown) => e);
    expect(statusOf(viaClient)).toMatchObject({ code: 422, reason: 'Invalid' });
  });

  it('answers a body over the limit with 413 RequestEntityTooLarge', async () => {
    const huge = JSON.stringify({ ...podBody('big'), metadata: { name: 'big', annotations: { pad: 'x'.repeat(100 * 1024) } } });
    expectStatus(await raw(sim.url + PODS, 'POST', huge), 413, 'RequestEntityTooLarge');
  });

  it('answers unknown paths with 404 and unsupported methods with 405', async () => {
    expectStatus(await raw(`${sim.url}/api/v1/namespaces/default/configmaps`, 'GET'), 404, 'NotFound');
    expectStatus(await raw(`${sim.url}/apis/apps/v1/deployments`, 'GET'), 404, 'NotFound');
    expectStatus(await raw(`${sim.url}/api/v1/namespaces/default/pods/p/log`, 'GET'), 404, 'NotFound');
    expectStatus(await raw(sim.url + PODS, 'PUT', '{}'), 405, 'MethodNotAllowed');
    expectStatus(await raw(`${sim.url}/api`, 'DELETE'), 405, 'MethodNotAllowed');
  });

  it('answers malformed selectors, versions, limits and encodings with 400', async () => {
    expectStatus(await raw(`${sim.url}${PODS}?labelSelector=${encodeURIComponent('app in (a')}`, 'GET'), 400, 'BadRequest');
    expectStatus(await raw(`${sim.url}${PODS}?fieldSelector=spec.image%3Dx`, 'GET'), 400, 'BadRequest');
    expectStatus(await raw(`${sim.url}${PODS}?watch=true&resourceVersion=abc`, 'GET'), 400, 'BadRequest');
    expectStatus(await raw(`${sim.url}${PODS}?limit=ten`, 'GET'), 400, 'BadRequest');
    expectStatus(await raw(`${sim.url}${PODS}?continue=not-a-token`, 'GET'), 400, 'BadRequest');
    expectStatus(await raw(`${sim.url}/api/v1/namespaces/%E0%A4%A/pods`, 'GET'), 400, 'BadRequest');
  });

  it('answers an unsupported patch or body media type with 415', async () => {
    expectStatus(
      await raw(`${sim.url}${PODS}/x`, 'PATCH', '{}', { 'Content-Type': 'application/apply-patch+yaml' }),
      415,
      'UnsupportedMediaType',
    );
    expectStatus(await raw(sim.url + PODS, 'POST', 'kind: Pod', { 'Content-Type': 'application/yaml' }), 415, 'UnsupportedMediaType');
  });

  it('survives garbage on the socket and keeps serving', async () => {
    const reply = await new Promise<string>((resolve, reject) => {
      const socket = createConnection({ host: '127.0.0.1', port: sim.port }, () => socket.write('NOT HTTP AT ALL\r\n\r\n'));
      let text = '';
      socket.on('data', (d: Buffer) => (text += d.toString('utf8')));
      socket.on('end', () => resolve(text));
      socket.on('error', reject);
    });
    expect(reply).toMatch(/^HTTP\/1\.1 400/);
    const pod = await coreApi(sim.url).createNamespacedPod({ namespace: 'default', body: podBody('still-fine') });
    expect(pod.metadata?.name).toBe('still-fine');
  });
});
