import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { run, systemCluster } from './cluster-client.js';
import { need, PYTHON_KUBERNETES } from './tools.js';

const python = need(PYTHON_KUBERNETES);
const SCRIPT = fileURLToPath(new URL('./k8s_client.py', import.meta.url));

// The Python client (Debian's python3-kubernetes) against the simulator: it sends watch=True, the
// spelling the simulator once answered with a list.
describe('the Python Kubernetes client against the simulated API server', () => {
  const cluster = systemCluster(41);
  const scenario = async (name: string): Promise<Record<string, unknown>> => {
    const out = await run(python, [SCRIPT, cluster().sim.url, name], { env: cluster().env });
    if (out.code !== 0) throw new Error(`scenario ${name} failed (${out.code}):\n${out.stderr}`);
    return JSON.parse(out.stdout) as Record<string, unknown>;
  };

  it('creates, reads, lists by selector and deletes a pod; a duplicate is 409 and a deleted pod 404', async () => {
    const seen = await scenario('crud');
    expect(seen).toMatchObject({
      phase: 'Pending',
      readUid: seen['uid'],
      duplicate: { status: 409, reason: 'AlreadyExists' },
      selected: ['py1'],
      notSelected: ['py2'],
      deletedHasTimestamp: true,
      gone: true,
      afterDelete: { status: 404, reason: 'NotFound' },
    });
  });

  it('pages a list with limit and _continue, every page from one resourceVersion', async () => {
    expect(await scenario('pages')).toEqual({ names: ['page-0', 'page-1', 'page-2', 'page-3', 'page-4'], calls: 3, versions: 1 });
  });

  it('watches from a resourceVersion: a graceful delete arrives as MODIFIED with a deletionTimestamp, then DELETED', async () => {
    const { events } = (await scenario('watch-delete')) as { events: { type: string; name: string; deletionTimestamp: boolean }[] };
    const first = events.findIndex((e) => e.deletionTimestamp);
    expect(events[0]).toEqual({ type: 'ADDED', name: 'watched', deletionTimestamp: false });
    expect(events[first]?.type).toBe('MODIFIED');
    expect(events.slice(first).every((e) => e.deletionTimestamp)).toBe(true);
    expect(events[events.length - 1]?.type).toBe('DELETED');
  });

  it('watches without a resourceVersion: the current pods as ADDED, then new ones', async () => {
    const { events } = (await scenario('watch-initial')) as { events: { type: string; name: string }[] };
    expect(events[0]).toEqual({ type: 'ADDED', name: 'first' });
    expect(events.slice(1, -1).every((e) => e.type === 'MODIFIED' && e.name === 'first')).toBe(true);
    expect(events[events.length - 1]).toEqual({ type: 'ADDED', name: 'second' });
  });

  it('raises 410 for a watch from an ancient resourceVersion', async () => {
    expect(await scenario('expired')).toMatchObject({ status: 410, reason: expect.stringContaining('Expired') });
  });

  it('creates, lists, watches and deletes Secrets, PersistentVolumeClaims and Services', async () => {
    expect(await scenario('objects')).toEqual({
      secretData: { token: Buffer.from('abc').toString('base64') },
      secretDuplicate: { status: 409, reason: 'AlreadyExists' },
      claimPhase: 'Bound',
      clusterIP: expect.stringMatching(/^10\.96\.\d+\.\d+$/),
      invalid: { status: 422, reason: 'Invalid' },
      listed: ['py-claim', 'py-secret', 'py-svc'],
      serviceWatch: ['DELETED'],
      afterDelete: [
        { status: 404, reason: 'NotFound' },
        { status: 404, reason: 'NotFound' },
        { status: 404, reason: 'NotFound' },
      ],
    });
  });
});
