import { describe, expect, it } from 'vitest';
import type { Run } from './cluster-client.js';
import { background, run, systemCluster } from './cluster-client.js';
import { KUBECTL, need } from './tools.js';

const kubectlPath = need(KUBECTL);

function pod(name: string, labels: Record<string, string>): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels },
    spec: { containers: [{ name: 'notebook', image: 'jupyter/base-notebook:2024.1' }] },
  });
}

function lines(text: string): Record<string, unknown>[] {
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

// kubectl (Debian's kubernetes-client, or the one KUBECTL names) against the simulator, as a user runs it.
describe(`kubectl against the simulated API server`, () => {
  const cluster = systemCluster(31);
  const kubectl = (args: string[], input?: string): Promise<Run> =>
    run(kubectlPath, args, { env: cluster().env, ...(input === undefined ? {} : { input }) });

  it('creates a pod from a manifest and answers a duplicate create with AlreadyExists', async () => {
    const made = await kubectl(['create', '--validate=false', '-f', '-'], pod('k1', { app: 'a' }));
    expect([made.code, made.stdout.trim()]).toEqual([0, 'pod/k1 created']);
    const again = await kubectl(['create', '--validate=false', '-f', '-'], pod('k1', { app: 'a' }));
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('Error from server (AlreadyExists)');
    expect(again.stderr).toContain('pods "k1" already exists');
  });

  it('gets a pod as JSON and lists pods by label selectors', async () => {
    for (const [name, app, tier] of [
      ['s1', 'sel', 'web'],
      ['s2', 'sel', 'db'],
      ['s3', 'other', 'web'],
    ] as const) {
      expect((await kubectl(['create', '--validate=false', '-f', '-'], pod(name, { app, tier }))).code).toBe(0);
    }
    const got = await kubectl(['get', 'pod', 's1', '-o', 'json']);
    expect(JSON.parse(got.stdout)).toMatchObject({
      kind: 'Pod',
      metadata: {
        name: 's1',
        uid: cluster()
          .sim.pods()
          .find((p) => p.metadata.name === 's1')?.metadata.uid,
      },
    });
    const names = async (selector: string): Promise<string[]> =>
      (await kubectl(['get', 'pods', '-l', selector, '-o', 'name'])).stdout.trim().split('\n');
    expect(await names('app=sel')).toEqual(['pod/s1', 'pod/s2']);
    expect(await names('app in (sel,other),tier!=db')).toEqual(['pod/s1', 'pod/s3']);
    expect(await names('tier')).toEqual(['pod/s1', 'pod/s2', 'pod/s3']);
  });

  it('pages a list with --chunk-size, following the continue tokens', async () => {
    for (let i = 0; i < 5; i++)
      expect((await kubectl(['create', '--validate=false', '-f', '-'], pod(`page-${i}`, { app: 'page' }))).code).toBe(0);
    const paged = await kubectl(['get', 'pods', '-l', 'app=page', '--chunk-size=2', '-o', 'name', '-v=6']);
    expect(paged.stdout.trim().split('\n')).toEqual([0, 1, 2, 3, 4].map((i) => `pod/page-${i}`));
    const requests = paged.stderr.split('\n').filter((l) => l.includes('GET ') && l.includes('/pods?'));
    expect(requests).toHaveLength(3);
    expect(requests.slice(1).every((l) => l.includes('continue='))).toBe(true);
  });

  it('watches from a resourceVersion: a graceful delete shows as MODIFIED with a deletionTimestamp, then DELETED; a get then answers NotFound', async () => {
    expect((await kubectl(['create', '--validate=false', '-f', '-'], pod('gone', { app: 'gone' }))).code).toBe(0);
    const rv = cluster().sim.cluster.resourceVersion();
    const watch = background(
      kubectlPath,
      ['get', '--raw', `/api/v1/namespaces/default/pods?watch=1&resourceVersion=${rv}&fieldSelector=metadata.name%3Dgone&timeoutSeconds=3`],
      cluster().env,
    );
    const deleted = await kubectl(['delete', 'pod', 'gone']);
    expect([deleted.code, deleted.stdout.trim()]).toEqual([0, 'pod "gone" deleted']);
    const events = lines((await watch.done).stdout) as { type: string; object: { metadata: { deletionTimestamp?: string } } }[];
    const terminating = events.findIndex((e) => e.type === 'MODIFIED' && e.object.metadata.deletionTimestamp !== undefined);
    expect(terminating).toBeGreaterThanOrEqual(0);
    expect(events[events.length - 1]?.type).toBe('DELETED');
    expect(events.slice(terminating).every((e) => e.object.metadata.deletionTimestamp !== undefined)).toBe(true);
    const missing = await kubectl(['get', 'pod', 'gone']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('Error from server (NotFound): pods "gone" not found');
  });

  it('streams watch events of its own --watch with --output-watch-events', async () => {
    const watch = background(
      kubectlPath,
      ['get', 'pods', '-l', 'app=seen', '--watch', '--output-watch-events', '-o', 'json', '--request-timeout=3s'],
      cluster().env,
    );
    await new Promise((r) => setTimeout(r, 500));
    expect((await kubectl(['create', '--validate=false', '-f', '-'], pod('seen', { app: 'seen' }))).code).toBe(0);
    const end = await watch.done;
    const types = lines(end.stdout).map((e) => e['type']);
    expect(types[0]).toBe('ADDED');
    expect(types.slice(1).every((t) => t === 'MODIFIED')).toBe(true);
    expect(types.length).toBeGreaterThan(1);
  });

  it('gets a 410 Expired ERROR event for a watch from an ancient resourceVersion, with watch=True spelt as Python spells it', async () => {
    const raw = await kubectl(['get', '--raw', '/api/v1/namespaces/default/pods?watch=True&resourceVersion=1']);
    expect(lines(raw.stdout)).toEqual([
      { type: 'ERROR', object: expect.objectContaining({ kind: 'Status', reason: 'Expired', code: 410 }) },
    ]);
  });

  it('creates, finds, lists and deletes Secrets, PersistentVolumeClaims and Services', async () => {
    const resources = (await kubectl(['api-resources', '-o', 'name'])).stdout.split('\n');
    expect(resources).toEqual(expect.arrayContaining(['persistentvolumeclaims', 'secrets', 'services', 'pods']));
    expect((await kubectl(['create', 'secret', 'generic', 'creds', '--from-literal=token=abc'])).stdout.trim()).toBe(
      'secret/creds created',
    );
    expect((await kubectl(['create', 'service', 'clusterip', 'web', '--tcp=80:8080'])).stdout.trim()).toBe('service/web created');
    const claim = JSON.stringify({
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: 'home', labels: { app: 'web' } },
      spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
    });
    expect((await kubectl(['create', '--validate=false', '-f', '-'], claim)).stdout.trim()).toBe('persistentvolumeclaim/home created');
    expect((await kubectl(['get', 'secret', 'creds', '-o', 'jsonpath={.data.token}'])).stdout).toBe(Buffer.from('abc').toString('base64'));
    expect((await kubectl(['get', 'svc', 'web', '-o', 'jsonpath={.spec.clusterIP}'])).stdout).toMatch(/^10\.96\.\d+\.\d+$/);
    expect((await kubectl(['get', 'pvc', '-l', 'app=web', '-o', 'jsonpath={.items[*].status.phase}'])).stdout).toBe('Bound');
    expect((await kubectl(['get', 'secrets,services,pvc', '-o', 'name'])).stdout.trim().split('\n')).toEqual([
      'secret/creds',
      'service/web',
      'persistentvolumeclaim/home',
    ]);
    const dup = await kubectl(['create', 'secret', 'generic', 'creds', '--from-literal=token=x']);
    expect([dup.code, dup.stderr]).toEqual([1, expect.stringContaining('secrets "creds" already exists')]);
    for (const [kind, name] of [
      ['secret', 'creds'],
      ['service', 'web'],
      ['pvc', 'home'],
    ] as const) {
      expect((await kubectl(['delete', kind, name])).code).toBe(0);
      expect((await kubectl(['get', kind, name])).stderr).toContain('(NotFound)');
    }
  });
});
